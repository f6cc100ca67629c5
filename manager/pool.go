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
	// containers recycle made spares again; spent counts those it
	// refused for their uses, each replaced ahead of time.
	taken, recycled, spent int
	// owed counts the containers that reached renewAt uses and whose
	// replacements fill has yet to make.
	owed  int
	wake  chan struct{} // a spare was taken, or a replacement is owed
	renew chan struct{} // a replacement is owed
	made  chan struct{} // a spare was made (for tests and Wait)
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
	return &pool{m: m, size: size, wake: make(chan struct{}, 1), renew: make(chan struct{}, 1),
		made: make(chan struct{}, 1), filled: make(chan struct{}), added: make(chan struct{}), wait: spareWait}
}

// spareWait bounds how long Take waits for a container being recycled.
const spareWait = 100 * time.Millisecond

// renewAt is the number of uses at which a recycled container's
// replacement is made, in the background, while it serves its last boxes
// (box.MaxUses). Spares made at one time are otherwise spent at about one
// time, and an --init then finds none and builds a container while its
// caller waits: 70 to 150 ms, measured, once every 100 cycles per spare.
// Half its uses leave room for several replacements in a row, one at a
// time, while two workers cycle.
const renewAt = box.MaxUses / 2

// ending says whether a spare has served renewAt boxes: its replacement
// is owed or made, and it serves beside it until it is spent.
func ending(s *box.Spare) bool { return s.Uses >= renewAt }

// hasRoomLocked says whether the pool keeps recycled spare s: up to size
// spares not ending, and up to as many again ending, which are spent
// within box.MaxUses-renewAt uses; p.mu is held.
func (p *pool) hasRoomLocked(s *box.Spare) bool {
	if ending(s) {
		return len(p.spares) < 2*p.size
	}
	fresh := 0
	for _, sp := range p.spares {
		if !ending(sp) {
			fresh++
		}
	}
	return fresh < p.size
}

// signal wakes whoever waits on ch, if not already woken.
func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

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
	signal(p.wake)
	return s
}

// recycling waits refillDelay and says whether recycling kept up
// meanwhile; it says no at once when a replacement is owed. A box taken
// is usually cleaned up soon and its container recycled; while that
// keeps up, fill makes none. A judge cycling through boxes would
// otherwise have a spare made now and then mid-cycle and, for want of
// room, a recycled one torn down: about 100 ms of work each, wasted.
func (p *pool) recycling(ctx context.Context) bool {
	recycled, spent, taken := p.count(&p.recycled), p.count(&p.spent), p.count(&p.taken)
	timer := time.NewTimer(refillDelay)
	defer timer.Stop()
	for waiting := true; waiting; {
		select {
		case <-timer.C:
			waiting = false
		case <-p.renew:
			if p.count(&p.owed) > 0 {
				return false // a replacement is owed: make it now
			}
		case <-ctx.Done():
			waiting = false
		}
	}
	// Recycling keeps up when it gave back at least as many spares as
	// were taken meanwhile (some containers cannot be recycled), counting
	// those spent, whose replacements were made before.
	r := p.count(&p.recycled) + p.count(&p.spent) - recycled - spent
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
		owed := p.count(&p.owed) > 0
		if !owed && p.ready() >= p.size {
			select {
			case <-p.wake:
			case <-ctx.Done():
			}
			continue
		}
		if !owed && p.takenAny() && p.recycling(ctx) {
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
		p.addMade(s)
		select {
		case p.made <- struct{}{}:
		default:
		}
	}
}

// addMade adds a spare fill made, which pays a replacement owed if any.
func (p *pool) addMade(s *box.Spare) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.addLocked(s)
	p.owed = max(p.owed-1, 0)
}

// recycle makes a retired box's container a spare when the pool has
// room for it (box.Manager.Recycle); it returns where the box's
// directory is when it did not.
func (p *pool) recycle(l box.Leftover) (bool, string) {
	p.mu.Lock()
	full := p.closed || len(p.spares) >= 2*p.size
	p.mu.Unlock()
	if full {
		return false, l.Dir
	}
	s, dir, err := p.m.Recycle(context.Background(), l.Container, l.Dir)
	if err != nil {
		p.refused(err)
		return false, dir
	}
	if !p.keep(s) {
		// Recycled while drain ran, or into a full pool: nobody will
		// take it.
		p.m.DiscardSpare(context.Background(), s)
	}
	return true, ""
}

// keep adds a recycled spare to the pool if there is room, and owes it a
// replacement when it has just reached renewAt uses: each container
// passes renewAt once, so each is replaced once.
func (p *pool) keep(s *box.Spare) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || !p.hasRoomLocked(s) {
		return false
	}
	p.addLocked(s)
	p.recycled++
	if s.Uses == renewAt {
		p.owed++
		signal(p.wake)
		signal(p.renew)
	}
	return true
}

// refused notes a container Recycle refused, which is torn down.
func (p *pool) refused(err error) {
	if errors.Is(err, box.ErrUsesSpent) {
		p.mu.Lock()
		p.spent++
		p.mu.Unlock()
	}
	if errors.Is(err, box.ErrNotReusable) {
		logrus.Debugf("manager: %v", err)
	} else {
		logrus.Warnf("manager: %v; tearing it down", err)
	}
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
