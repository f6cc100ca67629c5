package supervise

import (
	"fmt"
	"testing"
	"time"
)

func TestParseSeccompRecord(t *testing.T) {
	const rec = "5,1234,7788391343,-;audit: type=1326 audit(1795754732.028:2): auid=4294967295 uid=62505 gid=62505 ses=4294967295 pid=28591 comm=\"sys32\" exe=\"/box/sys32\" sig=31 arch=%s syscall=%s compat=1 ip=0x401620 code=0x0\n"
	for _, tc := range []struct {
		name, rec string
		pid       int
		since     time.Duration
		want      string // "" for no match
	}{
		{"i386", fmt.Sprintf(rec, "40000003", "20"), 28591, 0, syscallName(20, "x86") + " (i386)"},
		{"x86_64", fmt.Sprintf(rec, "c000003e", "39"), 28591, 0, syscallName(39, "amd64")},
		{"x32", fmt.Sprintf(rec, "c000003e", "1073741863"), 28591, 0, syscallName(39, "x32") + " (x32)"},
		{"another process", fmt.Sprintf(rec, "40000003", "20"), 28592, 0, ""},
		{"before the run", fmt.Sprintf(rec, "40000003", "20"), 28591, 7789 * time.Second, ""},
		{"not seccomp", "6,1,5,-;audit: type=1300 pid=28591 arch=40000003 syscall=20\n", 28591, 0, ""},
		{"garbage", "no record here", 28591, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, ok := parseSeccompRecord([]byte(tc.rec), tc.pid, tc.since)
			got := ""
			if ok {
				got = k.String()
			}
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
