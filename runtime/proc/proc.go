// Package proc names host processes safely: by pid and start time, which
// together tell a live process from a reused pid, and by pidfd once found.
package proc

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Stat returns the fields of /proc/PID/stat that follow the command name:
// Stat(pid)[0] is the state (field 3 in proc(5)), [16] the nice value,
// [19] the start time.
func Stat(pid int) ([]string, error) {
	data, err := readStat(pid)
	if err != nil {
		return nil, err
	}
	// The command name may hold spaces and parentheses: count from the last ')'.
	i := strings.LastIndexByte(string(data), ')')
	if i < 0 {
		return nil, errors.New("malformed stat")
	}
	return strings.Fields(string(data[i+1:])), nil
}

// readStat reads /proc/PID/stat with bare system calls: it is read on
// every run, and an *os.File costs four more calls and a finalizer.
func readStat(pid int) ([]byte, error) {
	path := "/proc/" + strconv.Itoa(pid) + "/stat"
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	// The kernel formats the line once, at the first read, and later reads
	// return the rest of it. It is about 300 bytes: a page for each read
	// made most of a manager's garbage after its walks.
	buf := make([]byte, 0, 512)
	for {
		n, err := unix.Read(fd, buf[len(buf):cap(buf)])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, &os.PathError{Op: "read", Path: path, Err: err}
		}
		buf = buf[:len(buf)+n]
		if len(buf) < cap(buf) {
			return buf, nil
		}
		buf = slices.Grow(buf, len(buf))
	}
}

// StartTime reads a process's start time, in clock ticks since boot (field
// 22 of /proc/PID/stat). A zombie counts as gone.
func StartTime(pid int) (uint64, error) {
	data, err := readStat(pid)
	if err != nil {
		return 0, err
	}
	return parseStartTime(data)
}

// parseStartTime reads field 22 of a stat line in place, not split: it is
// read three times a run.
func parseStartTime(data []byte) (uint64, error) {
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, errors.New("malformed stat")
	}
	var state, start []byte
	rest := bytes.TrimLeft(data[i+1:], " ")
	for n := 0; n < 20 && len(rest) > 0; n++ {
		var field []byte
		field, rest, _ = bytes.Cut(rest, []byte{' '})
		switch n {
		case 0:
			state = field
		case 19:
			start = field
		}
	}
	if start == nil {
		return 0, errors.New("malformed stat")
	}
	if s := string(state); s == "Z" || s == "X" {
		return 0, errors.New("process has exited")
	}
	return strconv.ParseUint(string(bytes.TrimSpace(start)), 10, 64)
}

// Open returns a pidfd for process pid, checking, when start is not zero,
// that it is still the process that started then. Signals sent through
// the pidfd can never reach a later process that reuses the pid.
func Open(pid int, start uint64) (int, error) {
	if pid <= 0 {
		return -1, fmt.Errorf("process %d: not a pid", pid)
	}
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return -1, fmt.Errorf("process %d: %w", pid, err)
	}
	if start == 0 {
		return fd, nil
	}
	// The pidfd pins the pid from here on: if the start time matches now,
	// fd refers to the process that started then.
	got, err := StartTime(pid)
	if err == nil && got != start {
		err = errors.New("the pid now belongs to another process")
	}
	if err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("process %d: %w", pid, err)
	}
	return fd, nil
}

// Exited reports whether the process behind pidfd fd has exited, waiting
// up to wait for it to. A dying process closes its files before the kernel
// reports its exit, so one seen hanging up may need a moment.
func Exited(fd int, wait time.Duration) bool {
	pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	deadline := time.Now().Add(wait)
	for {
		// Never negative: poll(2) would wait for ever.
		n, err := unix.Poll(pfd, max(0, int(time.Until(deadline).Milliseconds())))
		if err == nil {
			return n > 0
		}
		if err != unix.EINTR || time.Now().After(deadline) {
			return false
		}
	}
}
