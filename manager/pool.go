package manager

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/mini-isolate/mini-isolate/box"
)

// refillDelay is how long the pool waits, after a spare was taken, before
// it makes a new one.
const refillDelay = 500 * time.Millisecond

// pool keeps up to size spare box containers made in advance. Spares are
// made one at a time, in the background, whenever one is missing; a
// failure is retried after a pause, so that a broken host does not spin.
type pool struct {
	m    *box.Manager
	size int

	mu     sync.Mutex
	spares []*box.Spare
	// taken and recycled count the spares Take gave out and the
	// containers recycle made spares again.
	taken, recycled int
	wake            chan struct{} // a spare was taken
	made            chan struct{} // a spare was made (for tests and Wait)
	// added is closed, and replaced, whenever a spare is added.
	added chan struct{}
	// inRecycle, when set, says whether a retired box's container is on
	// its way to becoming a spare (the reaper's queue).
	inRecycle func() bool
	filled    chan struct{} // fill has returned
	closed    bool          // drain has begun: no spare is added again
	wait      time.Duration // how long Take waits for a recycle: spareWait
}

func newPool(m *box.Manager, size int) *pool {
	return &pool{m: m, size: size, wake: make(chan struct{}, 1), made: make(chan struct{}, 1), filled: make(chan struct{}),
		added: make(chan struct{}), wait: spareWait}
}

// spareWait bounds how long Take waits for a container being recycled.
const spareWait = 100 * time.Millisecond

// waitSpare waits, with p.mu held on entry and on return, until a spare is
// added or p.wait has passed.
func (p *pool) waitSpare() {
	deadline := time.NewTimer(p.wait)
	defer deadline.Stop()
	for len(p.spares) == 0 {
		added := p.added
		p.mu.Unlock()
		select {
		case <-added:
			p.mu.Lock()
		case <-deadline.C:
			p.mu.Lock()
			return
		}
	}
}

// addLocked adds a spare and wakes those waiting for one; p.mu is held.
func (p *pool) addLocked(s *box.Spare) {
	p.spares = append(p.spares, s)
	close(p.added)
	p.added = make(chan struct{})
}

// Take returns a spare, or nil when none is ready.
func (p *pool) Take() *box.Spare {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.spares) == 0 && p.inRecycle != nil && p.inRecycle() {
		// A container being recycled is a spare within milliseconds;
		// building one instead takes a hundred, and leaves one too many
		// for the pool, to be torn down later.
		p.waitSpare()
	}
	if len(p.spares) == 0 {
		return nil
	}
	s := p.spares[0]
	p.spares = p.spares[1:]
	p.taken++
	select {
	case p.wake <- struct{}{}:
	default:
	}
	return s
}

// recycling waits refillDelay and says whether recycling kept up
// meanwhile. A box taken is usually cleaned up soon and its container
// recycled; while that keeps up, fill makes none. A judge cycling
// through boxes would otherwise have a spare made now and then mid-cycle
// and, for want of room, a recycled one torn down: about 100 ms of work
// each, wasted.
func (p *pool) recycling(ctx context.Context) bool {
	recycled, taken := p.count(&p.recycled), p.count(&p.taken)
	select {
	case <-time.After(refillDelay):
	case <-ctx.Done():
	}
	// Recycling keeps up when it gave back at least as many spares as
	// were taken meanwhile (some containers cannot be recycled).
	r := p.count(&p.recycled) - recycled
	return r > 0 && r >= p.count(&p.taken)-taken
}

// takenAny says whether a spare was ever taken: until then, spares are
// made at once.
func (p *pool) takenAny() bool { return p.count(&p.taken) > 0 }

func (p *pool) count(n *int) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return *n
}

// ready is how many spares wait.
func (p *pool) ready() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.spares)
}

// fill makes spares until ctx ends.
func (p *pool) fill(ctx context.Context) {
	defer close(p.filled)
	if p.size <= 0 {
		return
	}
	pause := 100 * time.Millisecond
	for ctx.Err() == nil {
		if p.ready() >= p.size {
			select {
			case <-p.wake:
			case <-ctx.Done():
			}
			continue
		}
		if p.takenAny() && p.recycling(ctx) {
			continue
		}
		s, err := p.m.MakeSpare(ctx)
		if err != nil {
			if ctx.Err() == nil {
				logrus.Warnf("manager: spare box: %v", err)
			}
			select {
			case <-time.After(pause):
			case <-ctx.Done():
			}
			pause = min(2*pause, 30*time.Second)
			continue
		}
		pause = 100 * time.Millisecond
		if ctx.Err() != nil {
			// Made while the manager was stopping: nobody will take it.
			p.m.DiscardSpare(context.Background(), s)
			return
		}
		p.mu.Lock()
		p.addLocked(s)
		p.mu.Unlock()
		select {
		case p.made <- struct{}{}:
		default:
		}
	}
}

// recycle makes a retired box's container a spare when the pool has
// room for it (box.Manager.Recycle); it returns where the box's
// directory is when it did not.
func (p *pool) recycle(l box.Leftover) (bool, string) {
	p.mu.Lock()
	full := p.closed || len(p.spares) >= p.size
	p.mu.Unlock()
	if full {
		return false, l.Dir
	}
	s, dir, err := p.m.Recycle(context.Background(), l.Container, l.Dir)
	if err != nil {
		if errors.Is(err, box.ErrNotReusable) {
			logrus.Debugf("manager: %v", err)
		} else {
			logrus.Warnf("manager: %v; tearing it down", err)
		}
		return false, dir
	}
	p.mu.Lock()
	closed := p.closed
	if !closed {
		p.addLocked(s)
		p.recycled++
	}
	p.mu.Unlock()
	if closed {
		// Recycled while drain ran: nobody will take it.
		p.m.DiscardSpare(context.Background(), s)
	}
	return true, ""
}

// drain destroys the spares no box took, once fill has stopped; a
// container the reaper recycles from then on is torn down instead.
func (p *pool) drain() {
	<-p.filled
	p.mu.Lock()
	spares := p.spares
	p.spares, p.closed = nil, true
	p.mu.Unlock()
	for _, s := range spares {
		p.m.DiscardSpare(context.Background(), s)
	}
}
