package proc

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// maxOpen bounds the pidfds SignalListed holds at once.
const maxOpen = 256

// SignalListed sends sig to every process that list names, such as the
// members of a cgroup read from its cgroup.procs, and returns how many it
// signalled. A pid read from a file can be stale by the time it is used:
//   - a cgroup v2 kernel without Linux 6.18's fix can list 0 for a member
//     that lost its pid during the read, and kill(0) signals the caller's
//     own process group, so pids below 1 are dropped;
//   - a member can exit and its pid go to a process outside, so each pid
//     is opened as a pidfd first and signalled only if list, read again
//     after the open, still names it. A pidfd whose process died before
//     that second read can reach no one.
func SignalListed(list func() ([]int, error), sig unix.Signal) (int, error) {
	pids, err := list()
	if err != nil {
		return 0, err
	}
	pids = validPids(pids)
	n := 0
	for len(pids) > 0 {
		chunk := pids[:min(len(pids), maxOpen)]
		pids = pids[len(chunk):]
		k, err := signalChunk(chunk, list, sig)
		n += k
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// signalChunk opens pids, re-reads list, and signals those still in it.
func signalChunk(pids []int, list func() ([]int, error), sig unix.Signal) (int, error) {
	fds := make(map[int]int, len(pids))
	defer func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	}()
	for _, pid := range pids {
		fd, err := unix.PidfdOpen(pid, 0)
		if err == nil {
			fds[pid] = fd
		} else if !errors.Is(err, unix.ESRCH) {
			return 0, fmt.Errorf("open process %d: %w", pid, err)
		}
	}
	if len(fds) == 0 {
		return 0, nil
	}
	again, err := list()
	if err != nil {
		return 0, err
	}
	n := 0
	for _, pid := range again {
		fd, ok := fds[pid]
		if !ok {
			continue
		}
		delete(fds, pid)
		err := unix.PidfdSendSignal(fd, sig, nil, 0)
		unix.Close(fd)
		switch {
		case err == nil:
			n++
		case !errors.Is(err, unix.ESRCH):
			return n, fmt.Errorf("signal process %d: %w", pid, err)
		}
	}
	return n, nil
}

// validPids drops what cannot name one process, and repeats.
func validPids(pids []int) []int {
	seen := make(map[int]bool, len(pids))
	out := pids[:0:0]
	for _, p := range pids {
		if p > 0 && !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}
