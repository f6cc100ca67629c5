package proc

import (
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// maxOpen bounds the pidfds SignalListed holds at once.
const maxOpen = 256

// killRounds bounds KillListed's rounds.
const killRounds = 100

// ErrProcessesLeft is KillListed's error when the listing never emptied.
var ErrProcessesLeft = errors.New("processes left")

// KillListed SIGKILLs what list names (SignalListed), round after round
// with pause between them, until a listing names nothing. A process
// listed may have forked and exited before it could be signalled, so a
// round goes on from every listing that was not empty. The error is
// list's from the round that listed nothing, or ErrProcessesLeft.
func KillListed(list func() ([]int, error), pause time.Duration) error {
	for i := 0; i < killRounds; i++ {
		if listed, err := SignalListed(list, unix.SIGKILL); listed == 0 {
			return err
		}
		time.Sleep(pause)
	}
	return ErrProcessesLeft
}

// SignalListed sends sig to every process that list names, such as the
// members of a cgroup read from its cgroup.procs. A pid read from a file
// can be stale by the time it is used:
//   - a cgroup v2 kernel without Linux 6.18's fix can list 0 for a member
//     that lost its pid during the read, and kill(0) signals the caller's
//     own process group, so pids below 1 are dropped;
//   - a member can exit and its pid go to a process outside, so each pid
//     is opened as a pidfd first and signalled only if list, read again
//     after the open, still names it. A pidfd whose process died before
//     that second read can reach no one.
//
// It returns how many processes the first listing named. The error is
// list's, or else the failures to open or signal one process; the others
// are signalled all the same.
func SignalListed(list func() ([]int, error), sig unix.Signal) (int, error) {
	pids, err := list()
	if err != nil {
		return 0, err
	}
	pids = validPids(pids)
	listed := len(pids)
	var errs []error
	for len(pids) > 0 {
		chunk := pids[:min(len(pids), maxOpen)]
		pids = pids[len(chunk):]
		if err := signalChunk(chunk, list, sig); err != nil {
			errs = append(errs, err)
		}
	}
	return listed, errors.Join(errs...)
}

// signalChunk opens pids, re-reads list, and signals those still in it.
func signalChunk(pids []int, list func() ([]int, error), sig unix.Signal) error {
	var errs []error
	fds := make(map[int]int, len(pids))
	defer func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	}()
	for _, pid := range pids {
		fd, err := unix.PidfdOpen(pid, 0)
		switch {
		case err == nil:
			fds[pid] = fd
		case !errors.Is(err, unix.ESRCH):
			errs = append(errs, fmt.Errorf("open process %d: %w", pid, err))
		}
	}
	if len(fds) == 0 {
		return errors.Join(errs...)
	}
	again, err := list()
	if err != nil {
		return err
	}
	for _, pid := range again {
		fd, ok := fds[pid]
		if !ok {
			continue
		}
		delete(fds, pid)
		err := unix.PidfdSendSignal(fd, sig, nil, 0)
		unix.Close(fd)
		if err != nil && !errors.Is(err, unix.ESRCH) {
			errs = append(errs, fmt.Errorf("signal process %d: %w", pid, err))
		}
	}
	return errors.Join(errs...)
}

// validPids drops what cannot name one process, and repeats.
func validPids(pids []int) []int {
	seen := make(map[int]bool, len(pids))
	var out []int
	for _, p := range pids {
		if p > 0 && !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}
