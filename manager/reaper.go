package manager

import (
	"context"
	"os"
	"sync"

	"github.com/sirupsen/logrus"

	"github.com/mini-isolate/mini-isolate/box"
)

// reaper tears retired boxes down in the background, one at a time, in
// the order they were retired.
type reaper struct {
	m *box.Manager
	// recycle, when set, may make a retired box's container a spare
	// again instead; it says whether it did.
	recycle func(box.Leftover) (handled bool, dir string)

	mu      sync.Mutex
	queue   []item
	busy    bool // an item taken off the queue is being handled
	wake    chan struct{}
	stopped chan struct{}
	closing bool
}

// item is a container and directory queued for teardown. A leftover of
// a manager that died is never recycled: it may be half made, half
// scrubbed, or already named by a box's record as that box's.
type item struct {
	box.Leftover
	leftover bool
}

func newReaper(m *box.Manager, recycle func(box.Leftover) (bool, string)) *reaper {
	r := &reaper{m: m, recycle: recycle, wake: make(chan struct{}, 1), stopped: make(chan struct{})}
	go r.loop()
	return r
}

// Reap queues a container and its directory for teardown.
func (r *reaper) Reap(container, dir string) {
	r.push(item{Leftover: box.Leftover{Container: container, Dir: dir}})
}

func (r *reaper) push(it item) {
	r.mu.Lock()
	r.queue = append(r.queue, it)
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// sweep queues leftovers of a manager before this one, to be torn down:
// spares nobody took and retired boxes not torn down. Those gone by now
// were torn down by that manager.
func (r *reaper) sweep(left []box.Leftover) {
	for _, l := range left {
		if _, err := os.Lstat(l.Dir); err == nil {
			r.push(item{Leftover: l, leftover: true})
		}
	}
}

func (r *reaper) next() (item, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.queue) == 0 {
		return item{}, false
	}
	l := r.queue[0]
	r.queue = r.queue[1:]
	r.busy = true
	return l, true
}

// pending says whether the reaper has a retired box queued or in hand.
func (r *reaper) pending() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.busy || len(r.queue) > 0
}

func (r *reaper) done() {
	r.mu.Lock()
	r.busy = false
	r.mu.Unlock()
}

func (r *reaper) loop() {
	defer close(r.stopped)
	for {
		l, ok := r.next()
		if ok {
			r.handle(l)
			r.done()
			continue
		}
		r.mu.Lock()
		closing := r.closing
		r.mu.Unlock()
		if closing {
			return
		}
		<-r.wake
	}
}

// handle recycles a retired box's container, or tears it down.
func (r *reaper) handle(it item) {
	l := it.Leftover
	if r.recycle != nil && l.Dir != "" && !it.leftover {
		done, dir := r.recycle(l)
		if done {
			return
		}
		l.Dir = dir
	}
	if err := r.m.Reap(context.Background(), l.Container, l.Dir); err != nil {
		logrus.Warnf("manager: reap %s: %v", l.Container, err)
	}
}

// stop finishes the queue and ends the reaper.
func (r *reaper) stop() {
	r.mu.Lock()
	r.closing = true
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
	<-r.stopped
}
