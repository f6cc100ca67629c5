package proc

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// CgroupMounts maps each cgroup v1 controller (and named hierarchy, as
// "name=systemd") to its mount point, and "" to the cgroup2 mount, from
// /proc/self/mountinfo. A controller mounted twice keeps its first mount.
func CgroupMounts() map[string]string {
	m := map[string]string{}
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return m
	}
	for _, line := range strings.Split(string(data), "\n") {
		pre, post, ok := strings.Cut(line, " - ")
		fields, rest := strings.Fields(pre), strings.Fields(post)
		if !ok || len(fields) < 5 || len(rest) < 3 {
			continue
		}
		var keys []string
		switch rest[0] {
		case "cgroup2":
			keys = []string{""}
		case "cgroup":
			keys = strings.Split(rest[2], ",") // the super options: controllers, and flags no controller is named
		}
		for _, k := range keys {
			if _, seen := m[k]; !seen {
				m[k] = fields[4]
			}
		}
	}
	return m
}

// CgroupDirs returns the directories of pid's cgroups, one per hierarchy
// mounted here, from /proc/PID/cgroup.
func CgroupDirs(pid int) []string {
	if pid <= 0 {
		return nil
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		return nil
	}
	mounts := CgroupMounts()
	var dirs []string
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		ctrl := strings.Split(parts[1], ",")[0]
		if mp, ok := mounts[ctrl]; ok {
			dirs = append(dirs, filepath.Join(mp, parts[2]))
		}
	}
	return dirs
}
