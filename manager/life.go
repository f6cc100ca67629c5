package manager

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"

	"github.com/mini-isolate/mini-isolate/box"
	"github.com/mini-isolate/mini-isolate/runtime/hostfile"
)

// The life lock, <socket>.lock, is held by a manager of the socket for as
// long as it runs, from when it may tear down what it finds under the box
// root. A manager that has stopped serving (after a configuration change)
// still tears its spares and retired boxes down; a new one serves at once,
// but sweeps only once the old one has exited, and only what was there
// when it started and is still there.

// lifePoll is how often a manager waiting for the life lock tries it.
const lifePoll = 20 * time.Millisecond

// lifeWaitAtEnd bounds how long a manager that stops before it had the
// life lock waits for it before it tears its own spares down.
const lifeWaitAtEnd = time.Minute

// lockStart takes <socket>.start, which a manager holds while it takes
// the socket, and returns its release.
func lockStart(socket string) (func(), error) {
	f, err := openLock(socket, ".start")
	if err != nil {
		return nil, err
	}
	if err := hostfile.Lock(f, true); err != nil {
		f.Close()
		return nil, fmt.Errorf("manager start lock: %w", err)
	}
	return func() { f.Close() }, nil
}

// openLife opens the socket's life lock file.
func openLife(socket string) (*os.File, error) { return openLock(socket, ".lock") }

// openLock opens (making it, root's only) the lock file beside the socket
// with the given suffix.
func openLock(socket, suffix string) (*os.File, error) {
	f, err := hostfile.Open(socket+suffix, os.O_RDWR|os.O_CREATE|unix.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil, fmt.Errorf("manager lock: %w", err)
	}
	return f, nil
}

// tryLife takes the life lock if no other manager holds it.
func tryLife(f *os.File) (bool, error) {
	err := hostfile.Lock(f, false)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, hostfile.ErrLocked):
		return false, nil
	}
	return false, fmt.Errorf("manager lock: %w", err)
}

// sweep queues what a manager before this one left behind, now if no
// other manager runs, else once the one before has exited.
func (s *Server) sweep(ctx context.Context, m *box.Manager) {
	left, err := m.Leftovers()
	if err != nil {
		logrus.Warnf("manager: leftovers: %v", err)
	}
	f, err := openLife(s.Config.Socket())
	if err != nil {
		logrus.Warnf("manager: %v; sweeping without it", err)
		s.reaper.sweep(left)
		return
	}
	if ok, err := tryLife(f); ok || err != nil {
		if err != nil {
			logrus.Warnf("manager: %v; sweeping without it", err)
		}
		s.holdLife(f)
		s.reaper.sweep(left)
		return
	}
	s.sweeping.Add(1)
	go func() {
		defer s.sweeping.Done()
		if s.waitLife(ctx, f) {
			s.reaper.sweep(left)
		}
	}()
}

// waitLife waits until f's lock is taken, and keeps it, or ctx ends.
func (s *Server) waitLife(ctx context.Context, f *os.File) bool {
	t := time.NewTicker(lifePoll)
	defer t.Stop()
	for {
		ok, err := tryLife(f)
		if err != nil {
			logrus.Warnf("manager: %v; not sweeping", err)
			f.Close()
			return false
		}
		if ok {
			s.holdLife(f)
			return true
		}
		select {
		case <-ctx.Done():
			f.Close()
			return false
		case <-t.C:
		}
	}
}

// holdLifeToEnd makes sure, when Serve ends, that this manager holds the
// life lock before it tears its own spares down: a manager started since
// sweeps only while holding it.
func (s *Server) holdLifeToEnd() {
	s.mu.Lock()
	held := s.life != nil
	s.mu.Unlock()
	if held {
		return
	}
	f, err := openLife(s.Config.Socket())
	if err != nil {
		logrus.Warnf("manager: %v", err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), lifeWaitAtEnd)
	defer cancel()
	if !s.waitLife(ctx, f) {
		logrus.Warnf("manager: the manager before this one still runs after %v; tearing down without the lock", lifeWaitAtEnd)
	}
}

// holdLife keeps f open, with its lock, until Serve returns.
func (s *Server) holdLife(f *os.File) {
	s.mu.Lock()
	s.life = f
	s.mu.Unlock()
}
