package meta_test

import (
	"fmt"
	"os"
	"time"

	"github.com/mini-isolate/mini-isolate/runtime/meta"
)

// A report in isolate's key:value format.
func ExampleResult_FormatIsolate() {
	code := 3
	r := &meta.Result{
		Status: meta.RuntimeError, Message: "Exited with error status 3", ExitCode: &code,
		Time: 12345 * time.Microsecond, TimeWall: 20 * time.Millisecond, TimeUser: 12 * time.Millisecond,
		MaxRSSKB: 1024, CgMemKB: 2048, MemPeak: 2 << 20, PidsPeak: 1,
	}
	os.Stdout.Write(r.FormatIsolate())
	// Output:
	// time:0.012
	// time-wall:0.020
	// max-rss:1024
	// csw-voluntary:0
	// csw-forced:0
	// cg-mem:2048
	// exitcode:3
	// status:RE
	// message:Exited with error status 3
	// time-user:0.012
	// time-system:0.000
	// time-us:12345
	// time-wall-us:20000
	// mem-peak:2097152
	// pids-peak:1
}

func ExampleSeconds() {
	fmt.Println(meta.Seconds(1234567 * time.Microsecond))
	// Output: 1.234
}
