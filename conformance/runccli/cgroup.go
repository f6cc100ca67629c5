package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/mini-isolate/mini-isolate/runtime/proc"
)

// cgroupValue reads a cgroup file of pid's, by its v1 or v2 name
// ("memory.limit_in_bytes|memory.max"): the first that exists.
func cgroupValue(pid int, names string) string {
	if pid <= 0 {
		return "no process"
	}
	for _, name := range strings.Split(names, "|") {
		for _, d := range proc.CgroupDirs(pid) {
			if data, err := os.ReadFile(filepath.Join(d, name)); err == nil {
				return strings.TrimSpace(string(data))
			}
		}
	}
	return "no such file"
}

// makeSubCgroup makes a child cgroup in each of pid's cgroups, for exec
// --cgroup.
func makeSubCgroup(pid int, name string) error {
	dirs := proc.CgroupDirs(pid)
	if len(dirs) == 0 {
		return fmt.Errorf("no cgroups for pid %d", pid)
	}
	for _, d := range dirs {
		if err := os.MkdirAll(filepath.Join(d, name), 0o755); err != nil {
			return err
		}
	}
	return nil
}

// removeCgroups removes what is left of a case's cgroups (runccli/ID and
// any sub-cgroup made in it), deepest first.
func removeCgroups(id string) {
	seen := map[string]bool{}
	for _, mp := range proc.CgroupMounts() {
		if seen[mp] {
			continue
		}
		seen[mp] = true
		dir := filepath.Join(mp, "runccli", id)
		subs, _ := filepath.Glob(filepath.Join(dir, "*", "cgroup.procs"))
		for _, s := range subs {
			_ = os.Remove(filepath.Dir(s))
		}
		_ = os.Remove(dir)
		_ = os.Remove(filepath.Join(mp, "runccli"))
	}
}

// blockMajor and blockMinor name a block device of this host (the first
// that is not a loop device), for the throttling cases.
var blockMajor, blockMinor int64 = findBlockDevice()

func findBlockDevice() (major, minor int64) {
	devs, _ := filepath.Glob("/sys/block/*/dev")
	for _, p := range devs {
		if strings.HasPrefix(filepath.Base(filepath.Dir(p)), "loop") {
			continue
		}
		data, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		if _, err := fmt.Sscanf(string(data), "%d:%d", &major, &minor); err == nil {
			return major, minor
		}
	}
	return 0, 0
}

// throttleUpdate is update --resources JSON giving the block device a new
// read rate.
func throttleUpdate(rate uint64) string {
	return fmt.Sprintf(`{"blockIO":{"throttleReadBpsDevice":[{"major":%d,"minor":%d,"rate":%d}]}}`, blockMajor, blockMinor, rate)
}
