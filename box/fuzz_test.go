package box

import (
	"strings"
	"testing"
)

func FuzzParseConfig(f *testing.F) {
	for _, seed := range []string{
		"box_root = /var/lib/isolate\nlock_root = /run/isolate/locks\nfirst_uid = 60000\nfirst_gid = 60000\nnum_boxes = 1000\n",
		"# comment\n\nbox0.cpus = 0-1\nbox0.mems = 0\ncg_parent = judge\n",
		"restricted_init = 1\nsyscall_flags = 65535\n", "first_uid = 0\n", "num_boxes = 2147483647\nfirst_uid = 1\n", "bogus\n", "box_root=relative\n",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, text string) {
		c, err := ParseConfig(strings.NewReader(text))
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans lines: %q", err)
			}
			return
		}
		if c.NumBoxes <= 0 || !strings.HasPrefix(c.BoxRoot, "/") || !strings.HasPrefix(c.LockRoot, "/") {
			t.Errorf("accepted %+v", c)
		}
		if c.FirstUID+c.NumBoxes < c.FirstUID {
			t.Errorf("uid range overflows: %+v", c)
		}
	})
}

func TestParseConfig(t *testing.T) {
	for _, tc := range []struct {
		text string
		ok   bool
		cpu  int // ManagerCPU, when ok
	}{
		{"box_root = /b\nlock_root = /l\nfirst_uid = 1000\nfirst_gid = 1000\nnum_boxes = 10\nbox3.cpus = 1\n", true, ManagerCPUAuto},
		{"manager_cpu = auto\n", true, ManagerCPUAuto},
		{"manager_cpu = none\n", true, ManagerCPUNone},
		{"manager_cpu = 3\n", true, 3},
		{"manager_cpu = -1\n", false, 0},
		{"manager_cpu = any\n", false, 0},
		{"manager_cpu = 1023\n", true, 1023},
		{"manager_cpu = 1024\n", false, 0},
		{"first_uid = 0\n", false, 0},
		{"box_root = b\n", false, 0},
		{"num_boxes = -1\n", false, 0},
		{"frobnicate = 1\n", false, 0},
		{"no equals sign\n", false, 0},
		{"cg_parent = ../x\n", false, 0},
		{"num_boxes = 2147483000\nfirst_uid = 60000\n", false, 0},
	} {
		c, err := ParseConfig(strings.NewReader(tc.text))
		if (err == nil) != tc.ok {
			t.Errorf("ParseConfig(%q) = %v, want ok=%v", tc.text, err, tc.ok)
		}
		if err == nil && c.ManagerCPU != tc.cpu {
			t.Errorf("ParseConfig(%q): manager_cpu %d, want %d", tc.text, c.ManagerCPU, tc.cpu)
		}
	}
}
