package profiles_test

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/mini-isolate/mini-isolate/policy"
	"github.com/mini-isolate/mini-isolate/profiles"
)

// Write the bundle that runs a compiled C++ solution under 1 s of CPU time
// and 64 MiB, reading input.txt.
func ExampleWriteBundle() {
	set, err := profiles.Builtin()
	if err != nil {
		fmt.Println(err)
		return
	}
	cpp, err := set.Get("cpp")
	if err != nil {
		fmt.Println(err)
		return
	}
	dir, err := os.MkdirTemp("", "bundle-")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	spec, err := profiles.WriteBundle(filepath.Join(dir, "run"), cpp, profiles.BundleOptions{
		Stage:  profiles.StageRun,
		Limits: &policy.Limits{Time: policy.Duration(time.Second), Memory: 64 << 20},
		Stdin:  "input.txt",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(spec.Process.Args, spec.Process.Cwd, *spec.Linux.Resources.Memory.Limit)
	fmt.Println(spec.Annotations["io.github.mini-isolate.time"], spec.Annotations["io.github.mini-isolate.stdin"])
	// Output:
	// [./main] /box 67108864
	// 1 input.txt
}
