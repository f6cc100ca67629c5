package proc

import (
	"os"
	"testing"
)

// TestCgroupDirs: this process's cgroup directories exist, one per
// hierarchy, and a pid that is no process has none.
func TestCgroupDirs(t *testing.T) {
	dirs := CgroupDirs(os.Getpid())
	if len(dirs) == 0 {
		t.Fatalf("no cgroup directories; mounts %v", CgroupMounts())
	}
	for _, d := range dirs {
		if fi, err := os.Stat(d); err != nil || !fi.IsDir() {
			t.Errorf("%s: %v", d, err)
		}
	}
	if got := CgroupDirs(0); got != nil {
		t.Errorf("pid 0: %v", got)
	}
}
