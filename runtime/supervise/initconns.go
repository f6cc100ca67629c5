package supervise

import (
	"sync"

	"github.com/mini-isolate/mini-isolate/runtime/judgeinit"
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
// A nil *InitConns keeps nothing: every run connects, and its connection
// is closed after it.
type InitConns struct {
	mu     sync.Mutex
	conns  map[initID]*judgeinit.Conn
	closed bool
}

type initID struct {
	pid   int
	start uint64
}

// maxInitConns bounds the connections kept, one fd each.
const maxInitConns = 256

// NewInitConns returns an empty set.
func NewInitConns() *InitConns {
	return &InitConns{conns: map[initID]*judgeinit.Conn{}}
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
	conns := p.conns
	p.conns, p.closed = map[initID]*judgeinit.Conn{}, true
	p.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
}
