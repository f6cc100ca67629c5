package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	procstat "github.com/mini-isolate/mini-isolate/runtime/proc"
)

// hostState is what the host looks like from outside the boxes: what no
// attack may change.
type hostState struct {
	values map[string]string
	clock  time.Duration // CLOCK_REALTIME - CLOCK_MONOTONIC
	freq   int64         // the clock's frequency adjustment, ppm << 16
}

// ipcKey is the System V key of the ipc program (0x41544b31), as
// /proc/sysvipc shows keys.
const ipcKey = "1096043313"

// knobs are host settings an attack could reach, by name, with how to
// read them and how to put them back.
var knobs = []struct {
	name, path string
}{
	{"hostname", "/proc/sys/kernel/hostname"},
	{"domainname", "/proc/sys/kernel/domainname"},
	{"core_pattern", "/proc/sys/kernel/core_pattern"},
	{"modprobe", "/proc/sys/kernel/modprobe"},
	{"sysrq", "/proc/sys/kernel/sysrq"},
	{"file-max", "/proc/sys/fs/file-max"},
	{"modules", "/proc/modules"},
}

func readTrim(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return "(unreadable: " + err.Error() + ")"
	}
	return strings.TrimSpace(string(data))
}

func clockOffset() time.Duration {
	var rt, mono unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_REALTIME, &rt)
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &mono)
	return time.Duration(rt.Nano() - mono.Nano())
}

func (s *suite) snapshot() *hostState {
	h := &hostState{values: map[string]string{}, clock: clockOffset()}
	for _, k := range knobs {
		h.values[k.name] = readTrim(k.path)
	}
	var tx unix.Timex
	if _, err := unix.Adjtimex(&tx); err == nil {
		h.freq = tx.Freq
	}
	// Keys of the suite's users: the kernel keeps them per uid, outside
	// any namespace.
	var users []string
	for _, l := range strings.Split(readTrim("/proc/key-users"), "\n") {
		f := strings.Fields(l)
		if len(f) > 0 {
			if uid, err := strconv.Atoi(strings.TrimSuffix(f[0], ":")); err == nil && uid >= firstUID && uid <= ociUID {
				users = append(users, l)
			}
		}
	}
	h.values["key-users"] = strings.Join(users, "; ")
	// cgroup v1 release agents: the classic container escape writes them.
	for _, mp := range cgroupMounts() {
		if p := filepath.Join(mp, "release_agent"); fileExists(p) {
			h.values["release_agent "+mp] = readTrim(p)
		}
	}
	for _, p := range s.watched {
		h.values["file "+p] = fileDigest(p)
	}
	// The host's System V IPC and /dev/shm: boxes have their own. Only the
	// suite's key: other host software may come and go.
	for _, p := range []string{"/proc/sysvipc/shm", "/proc/sysvipc/msg", "/proc/sysvipc/sem"} {
		h.values[p+" key "+ipcKey] = grepLines(readTrim(p), " "+ipcKey+" ")
	}
	if names, err := os.ReadDir("/dev/shm"); err == nil {
		var list []string
		for _, n := range names {
			if strings.Contains(n.Name(), "atk") {
				list = append(list, n.Name())
			}
		}
		h.values["/dev/shm atk entries"] = strings.Join(list, " ")
	}
	h.values["mounts under the suite"] = strings.Join(mountsUnder(s.dir), " ")
	return h
}

// diff lists what changed between two snapshots, and puts back what it can
// so that the next attack starts from the same host.
func (h *hostState) diff(after *hostState) []string {
	var out []string
	for k, v := range h.values {
		if after.values[k] == v {
			continue
		}
		out = append(out, fmt.Sprintf("host %s changed: %.120q -> %.120q", k, v, after.values[k]))
		for _, kn := range knobs {
			if kn.name == k && kn.name != "modules" {
				_ = os.WriteFile(kn.path, []byte(v+"\n"), 0o644)
			}
		}
	}
	if d := after.clock - h.clock; d > time.Second || d < -time.Second {
		out = append(out, fmt.Sprintf("host clock moved by %v", d))
	}
	// NTP may trim the frequency a little; an attack would move it by
	// hundreds of ppm.
	if d := after.freq - h.freq; d > 50<<16 || d < -50<<16 {
		out = append(out, fmt.Sprintf("host clock frequency moved by %d ppm", d>>16))
	}
	return out
}

func fileExists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

// fileDigest describes a file or directory: owner, mode, links, size and a
// hash of the content.
func fileDigest(p string) string {
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		return "missing: " + err.Error()
	}
	d := fmt.Sprintf("uid %d gid %d mode %o nlink %d size %d", st.Uid, st.Gid, st.Mode, st.Nlink, st.Size)
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return d
	}
	f, err := os.Open(p)
	if err != nil {
		return d + " unreadable"
	}
	defer f.Close()
	h := sha256.New()
	_, _ = io.Copy(h, f)
	return d + " sha256 " + hex.EncodeToString(h.Sum(nil))[:16]
}

type proc struct {
	pid  int
	comm string
}

// processesOf lists the live processes whose real or effective uid is uid.
// Zombies are dead: the host's PID 1 (which adopts the box's init when the
// container goes) may take a while to reap them.
func processesOf(uid int) []proc {
	var out []proc
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			continue
		}
		var name string
		for _, l := range strings.Split(string(data), "\n") {
			if v, ok := strings.CutPrefix(l, "Name:"); ok {
				name = strings.TrimSpace(v)
			}
			if v, ok := strings.CutPrefix(l, "State:"); ok && (strings.HasPrefix(strings.TrimSpace(v), "Z") || strings.HasPrefix(strings.TrimSpace(v), "X")) {
				break
			}
			if v, ok := strings.CutPrefix(l, "Uid:"); ok {
				f := strings.Fields(v)
				if len(f) >= 2 && (f[0] == strconv.Itoa(uid) || f[1] == strconv.Itoa(uid)) {
					out = append(out, proc{pid, name})
				}
			}
		}
	}
	return out
}

// inPidNamespace lists the processes sharing pid's PID namespace.
func inPidNamespace(pid int) []int {
	ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", pid))
	if err != nil {
		return nil
	}
	var out []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if l, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", p)); err == nil && l == ns {
			out = append(out, p)
		}
	}
	return out
}

// niceOf is a process's nice value, from /proc/PID/stat.
func niceOf(pid int) (int, error) {
	f, err := procstat.Stat(pid)
	if err != nil {
		return 0, err
	}
	if len(f) < 17 {
		return 0, fmt.Errorf("bad stat")
	}
	return strconv.Atoi(f[16])
}

func ioprioOf(pid int) int {
	r, _, errno := unix.Syscall(unix.SYS_IOPRIO_GET, 1 /* IOPRIO_WHO_PROCESS */, uintptr(pid), 0)
	if errno != 0 {
		return -1
	}
	return int(r)
}

// cgroupMounts lists the mount points of cgroup hierarchies, v1 and v2.
func cgroupMounts() []string {
	var out []string
	data, _ := os.ReadFile("/proc/self/mountinfo")
	for _, l := range strings.Split(string(data), "\n") {
		pre, post, ok := strings.Cut(l, " - ")
		if !ok {
			continue
		}
		fs, f := strings.Fields(post), strings.Fields(pre)
		if len(fs) > 0 && len(f) > 4 && (fs[0] == "cgroup" || fs[0] == "cgroup2") {
			out = append(out, f[4])
		}
	}
	return out
}

// mountsUnder lists the host's mount points at or below dir.
func mountsUnder(dir string) []string {
	var out []string
	data, _ := os.ReadFile("/proc/self/mountinfo")
	for _, l := range strings.Split(string(data), "\n") {
		f := strings.Fields(l)
		if len(f) > 4 && (f[4] == dir || strings.HasPrefix(f[4], dir+"/")) {
			out = append(out, f[4])
		}
	}
	return out
}

// specialFiles lists what is not a regular file, directory or symlink
// below dir (device nodes, fifos, sockets), or only devices.
func specialFiles(dir string, devicesOnly bool) []string {
	var out []string
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.Type()&(os.ModeDir|os.ModeSymlink) != 0 || d.Type().IsRegular() {
			return nil
		}
		if devicesOnly && d.Type()&os.ModeDevice == 0 {
			return nil
		}
		out = append(out, p)
		return nil
	})
	return out
}

// symlinksUnder lists the symlinks below dir.
func symlinksUnder(dir string) []string {
	var out []string
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type()&os.ModeSymlink != 0 {
			out = append(out, p)
		}
		return nil
	})
	return out
}

// scanTree reads the regular files below dir, up to a budget, and returns
// those that contain any of the strings.
func scanTree(dir string, needles []string) []string {
	var out []string
	budget := int64(96 << 20)
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() || budget <= 0 {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return nil
		}
		defer f.Close()
		data, _ := io.ReadAll(io.LimitReader(f, 4<<20))
		budget -= int64(len(data))
		for _, n := range needles {
			if strings.Contains(string(data), n) {
				out = append(out, fmt.Sprintf("%s holds %q", p, n))
			}
		}
		return nil
	})
	return out
}
