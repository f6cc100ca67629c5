package supervise

import (
	"errors"
	"fmt"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/mini-isolate/mini-isolate/runtime/judgeinit"
	"github.com/mini-isolate/mini-isolate/runtime/proc"
)

// InitConns keeps, for a long-lived supervisor (the manager), each box
// init's connection open from one run to the next: connecting costs a run
// a socket, a connect, and a wake-up of the init to accept it. The init
// keeps serving a connection whose runs ask it to (judgeinit.Run.Persist),
// and hangs up on it, idle, when another supervisor connects.
//
// A connection is kept under its init's identity (pid and start time),
// never under a box: a container moves between boxes as a spare, and a
// box's next run may be in another container.
//
// It also keeps a pidfd of each init it has served, which tells whether
// the init still lives and gives each run its own without reading /proc.
//
// A nil *InitConns keeps nothing: every run connects, and its connection
// is closed after it.
type InitConns struct {
	mu     sync.Mutex
	conns  map[initID]*judgeinit.Conn
	pidfds map[initID]int
	closed bool
}

type initID struct {
	pid   int
	start uint64
}

// maxInitConns bounds the connections kept, and the pidfds, one fd
// each.
const maxInitConns = 256

// NewInitConns returns an empty set.
func NewInitConns() *InitConns {
	return &InitConns{conns: map[initID]*judgeinit.Conn{}, pidfds: map[initID]int{}}
}

// Get returns a connection to t's init: the one kept, if it is still
// idle, else a new one through socket. reused says which.
func (p *InitConns) Get(t *Target, socket string) (c *judgeinit.Conn, reused bool, err error) {
	if p != nil {
		id := initID{t.InitPid, t.InitStart}
		p.mu.Lock()
		c = p.conns[id]
		delete(p.conns, id)
		p.mu.Unlock()
		if c != nil {
			if c.Idle() {
				return c, true, nil
			}
			c.Close()
		}
	}
	c, err = judgeinit.Dial(socket)
	return c, false, err
}

// Persist says whether runs should ask the init to keep their connection.
func (p *InitConns) Persist() bool { return p != nil }

// Put keeps c, whose last run ended cleanly (Supervisor.Ended), for t's
// next run; otherwise, or when p keeps nothing, it closes c.
func (p *InitConns) Put(t *Target, c *judgeinit.Conn, ended bool) {
	if p == nil || !ended {
		c.Close()
		return
	}
	id := initID{t.InitPid, t.InitStart}
	p.mu.Lock()
	if len(p.conns) >= maxInitConns {
		p.dropGoneLocked()
	}
	old := p.conns[id]
	keep := !p.closed && (old != nil || len(p.conns) < maxInitConns)
	if keep {
		p.conns[id] = c
	}
	p.mu.Unlock()
	if old != nil {
		old.Close()
	}
	if !keep {
		c.Close()
	}
}

// dropGoneLocked closes the connections whose init hung up: its
// container was deleted, or another supervisor connected; p.mu is held.
func (p *InitConns) dropGoneLocked() {
	for id, c := range p.conns {
		if !c.Idle() {
			c.Close()
			delete(p.conns, id)
		}
	}
}

// Close closes every connection kept; later ones are not kept.
func (p *InitConns) Close() {
	if p == nil {
		return
	}
	p.mu.Lock()
	conns, pidfds := p.conns, p.pidfds
	p.conns, p.pidfds, p.closed = map[initID]*judgeinit.Conn{}, map[initID]int{}, true
	p.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
	for _, fd := range pidfds {
		unix.Close(fd)
	}
}

// Alive reports whether t's init is still the process it was: from the
// pidfd kept for it, or, when there is none, from /proc.
func (p *InitConns) Alive(t *Target) bool {
	if _, found, alive, _ := p.fromKept(t, false); found {
		return alive
	}
	return t.Alive()
}

// OpenInit returns a pidfd of t's init for the caller to close: a copy
// of the one kept, which it keeps on first use.
func (p *InitConns) OpenInit(t *Target) (int, error) {
	if fd, found, alive, err := p.fromKept(t, true); found {
		if !alive {
			return -1, fmt.Errorf("process %d: %w", t.InitPid, errInitGone)
		}
		return fd, err
	}
	fd, err := proc.Open(t.InitPid, t.InitStart)
	if err != nil || p == nil {
		return fd, err
	}
	kept, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return fd, nil
	}
	id := initID{t.InitPid, t.InitStart}
	p.mu.Lock()
	if len(p.pidfds) >= maxInitConns {
		p.dropExitedLocked()
	}
	if _, dup := p.pidfds[id]; dup || p.closed || len(p.pidfds) >= maxInitConns {
		unix.Close(kept)
	} else {
		p.pidfds[id] = kept
	}
	p.mu.Unlock()
	return fd, nil
}

var errInitGone = errors.New("it has exited")

// fromKept looks t's init up among the pidfds kept: whether it is there,
// whether it lives, and, with dup, a copy of its pidfd. All of it under
// p.mu, since Close and dropExitedLocked close kept pidfds, and a number
// closed may name another file by the time it is used.
func (p *InitConns) fromKept(t *Target, dup bool) (fd int, found, alive bool, err error) {
	if p == nil {
		return -1, false, false, nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	id := initID{t.InitPid, t.InitStart}
	kept, ok := p.pidfds[id]
	switch {
	case !ok:
		return -1, false, false, nil
	case proc.Exited(kept, 0):
		// Its container is gone: so is the need for its pidfd.
		unix.Close(kept)
		delete(p.pidfds, id)
		return -1, true, false, nil
	case !dup:
		return -1, true, true, nil
	}
	fd, err = unix.FcntlInt(uintptr(kept), unix.F_DUPFD_CLOEXEC, 0)
	return fd, true, true, err
}

// dropExitedLocked closes the pidfds of inits that have exited; p.mu is
// held.
func (p *InitConns) dropExitedLocked() {
	for id, fd := range p.pidfds {
		if proc.Exited(fd, 0) {
			unix.Close(fd)
			delete(p.pidfds, id)
		}
	}
}
