package manager

import (
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// holdBack is the run cgroups' Yield: it returns once no request is
// being served or waits to be read, or after limit. The manager runs Go
// code on one processor, and a request that came while the work after
// the last run made and removed directories waited for all of it: 0.2 to
// 0.3 ms more than one that came a millisecond later.
func (s *Server) holdBack(limit time.Duration) {
	var timer *time.Timer
	for {
		s.mu.Lock()
		waiting := s.busy.Load() > 0 || s.unreadLocked()
		if waiting && s.quiet == nil {
			s.quiet = make(chan struct{})
		}
		quiet := s.quiet
		s.mu.Unlock()
		if !waiting {
			return
		}
		if timer == nil {
			timer = time.NewTimer(limit)
			defer timer.Stop()
		}
		select {
		case <-quiet:
		case <-timer.C:
			return
		}
	}
}

// served wakes work that holdBack holds, after a request or when a
// connection ends.
func (s *Server) served() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.quiet != nil {
		close(s.quiet)
		s.quiet = nil
	}
}

// unreadLocked reports whether a client has sent what the manager has not
// read yet, or waits to be accepted; s.mu is held. One poll(2) over the
// open connections.
func (s *Server) unreadLocked() bool {
	fds := s.pollFDs[:0]
	if s.ln != nil && s.lnFD >= 0 {
		fds = append(fds, unix.PollFd{Fd: int32(s.lnFD), Events: unix.POLLIN})
	}
	for _, fd := range s.open {
		fds = append(fds, unix.PollFd{Fd: int32(fd), Events: unix.POLLIN})
	}
	s.pollFDs = fds
	if len(fds) == 0 {
		return false
	}
	if n, err := unix.Poll(fds, 0); err != nil || n == 0 {
		return false
	}
	for _, f := range fds {
		if f.Revents&(unix.POLLIN|unix.POLLHUP) != 0 {
			return true
		}
	}
	return false
}

// fdOf is the descriptor under a connection or listener, for
// unreadLocked; -1 if it has none.
func fdOf(c syscall.Conn) int {
	raw, err := c.SyscallConn()
	if err != nil {
		return -1
	}
	fd := -1
	if err := raw.Control(func(u uintptr) { fd = int(u) }); err != nil {
		return -1
	}
	return fd
}
