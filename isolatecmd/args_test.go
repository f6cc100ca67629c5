package isolatecmd

import (
	"strings"
	"testing"
	"time"

	"github.com/mini-isolate/mini-isolate/policy"
)

func TestParseIsolateArgs(t *testing.T) {
	for _, tc := range []struct {
		argv  string
		ok    bool
		check func(*isoArgs) bool
	}{
		{"--init", true, func(a *isoArgs) bool { return a.action == "init" && a.boxID == 0 }},
		{"-b 7 --cg --init", true, func(a *isoArgs) bool { return a.boxID == 7 && a.cg }},
		{"--box-id=7 --run -- /bin/true -x", true, func(a *isoArgs) bool {
			return a.boxID == 7 && strings.Join(a.run.Args, " ") == "/bin/true -x"
		}},
		{"-sb7 -t1.5 --run prog", true, func(a *isoArgs) bool {
			return a.silent && a.boxID == 7 && a.run.Limits.Time == policy.Duration(1500*time.Millisecond) && a.run.Args[0] == "prog"
		}},
		{"-p --run x", true, func(a *isoArgs) bool { return a.run.Limits.Processes == 0 }},
		{"-p4 --run x", true, func(a *isoArgs) bool { return a.run.Limits.Processes == 4 }},
		{"--run x", true, func(a *isoArgs) bool { return a.run.Limits.Processes == 1 && a.run.Limits.OpenFiles == 1024 }},
		// -p takes no detached value: "4" becomes the program, as in isolate.
		{"-p 4 --run", true, func(a *isoArgs) bool { return a.run.Limits.Processes == 0 && a.run.Args[0] == "4" }},
		{"--wall=2 --run x", true, func(a *isoArgs) bool { return a.run.Limits.WallTime == policy.Duration(2*time.Second) }},
		{"-t 0.0015 --run x", true, func(a *isoArgs) bool { return a.run.Limits.Time == policy.Duration(time.Millisecond) }},
		{"-o out -r err --stderr-to-stdout --run x", true, func(a *isoArgs) bool { return a.run.StderrToStdout && a.run.Stderr == "" }},
		{"--stderr-to-stdout -r err --run x", true, func(a *isoArgs) bool { return !a.run.StderrToStdout && a.run.Stderr == "err" }},
		{"-d /etc:noexec -d tmp= -E HOME=/tmp -E PATH --run x", true, func(a *isoArgs) bool {
			return len(a.run.Dirs) == 2 && len(a.run.Env) == 2 && a.run.Env[1].Inherit
		}},
		{"-q 100,10 --init", true, func(a *isoArgs) bool { return a.quota == [2]uint64{100, 10} }},
		{"--as-uid=5 --as-gid=6 --init", true, func(a *isoArgs) bool { return a.asUID == 5 && a.asGID == 6 }},
		{"--cg-timing --no-cg-timing --tty-hack --run x", true, nil},
		{"", false, nil},
		{"--init --cleanup", false, nil},
		{"--init x", false, nil},
		{"--run", false, nil},
		{"-b", false, nil},
		{"-b -1 --init", false, nil},
		{"-t abc --run x", false, nil},
		{"-t -0.5 --run x", false, nil},
		{"-t 1e9 --run x", false, nil},
		{"--c --init", false, nil}, // ambiguous: --cg, --cg-mem, --chdir, ...
		{"--bogus --init", false, nil},
		{"-Z --init", false, nil},
		{"--init=1", false, nil},
		{"-q 10 --init", false, nil},
		{"--as-uid=5 --init", false, nil},
		{"-d ../x --run x", false, nil},
	} {
		a, err := parseIsolateArgs(strings.Fields(tc.argv))
		if (err == nil) != tc.ok {
			t.Errorf("%q: err %v, want ok=%v", tc.argv, err, tc.ok)
			continue
		}
		if err == nil && tc.check != nil && !tc.check(a) {
			t.Errorf("%q: parsed %+v", tc.argv, a)
		}
	}
}

func FuzzIsolateArgs(f *testing.F) {
	for _, seed := range []string{
		"--cg\x00--box-id=1\x00--time=1\x00--run\x00--\x00/bin/true",
		"-sb1\x00-M\x00meta\x00-p60\x00--cg-mem=1000\x00--run\x00x",
		"-d\x00/etc:noexec\x00-E\x00HOME=/tmp\x00--init",
		"--wait\x00-b\x00999\x00--cleanup", "-t\x00NaN\x00--run\x00x", "--\x00--init",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := parseIsolateArgs(strings.Split(s, "\x00"))
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans lines: %q", err)
			}
			return
		}
		if a.action == "" {
			t.Errorf("no action accepted: %q", s)
		}
		r, l := a.run, a.run.Limits
		if l.Time < 0 || l.WallTime < 0 || l.ExtraTime < 0 || l.AddressSpace < 0 || l.Processes < 0 || a.boxID < 0 {
			t.Errorf("negative value accepted: %+v", a)
		}
		if a.action == "run" && len(r.Args) == 0 {
			t.Errorf("--run without a program accepted: %q", s)
		}
	})
}
