package manager

import (
	"fmt"
	"testing"
	"time"

	"github.com/mini-isolate/mini-isolate/box"
)

// TestTakeWaitsForARecycle: with no spare ready, Take waits for a container
// being recycled rather than give up at once, and only then.
func TestTakeWaitsForARecycle(t *testing.T) {
	for _, tc := range []struct {
		name      string
		inRecycle bool
		addAfter  time.Duration // 0: nothing is added
		wait      time.Duration // 0: spareWait; longer, so that a late goroutine cannot fail the case
		want      bool          // Take gives the spare added meanwhile
		atLeast   time.Duration
	}{
		{"a recycle comes", true, 20 * time.Millisecond, 10 * time.Second, true, 20 * time.Millisecond},
		{"a recycle in hand that fails", true, 0, 0, false, spareWait},
		// Take must not wait: the spare comes long after it returned.
		{"nothing being recycled", false, time.Second, 0, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPool(nil, 2)
			if tc.wait > 0 {
				p.wait = tc.wait
			}
			p.inRecycle = func() bool { return tc.inRecycle }
			// From before the adder starts: it sleeps addAfter from then.
			start := time.Now()
			if tc.addAfter > 0 {
				go func() {
					time.Sleep(tc.addAfter)
					p.mu.Lock()
					p.addLocked(&box.Spare{Container: "sbx-test"})
					p.mu.Unlock()
				}()
			}
			s := p.Take()
			took := time.Since(start)
			if (s != nil) != tc.want {
				t.Fatalf("Take gave %v, want a spare: %v", s, tc.want)
			}
			if took < tc.atLeast {
				t.Errorf("Take took %v, want at least %v", took, tc.atLeast)
			}
		})
	}
}

// TestPoolRenewal follows a pool of one spare through a container's
// last uses: at renewAt it is owed a replacement, it serves beside the
// replacement until spent, and each container is owed one only once.
func TestPoolRenewal(t *testing.T) {
	spare := func(name string, uses int) *box.Spare { return &box.Spare{Container: name, Uses: uses} }
	p := newPool(nil, 1)
	steps := []struct {
		name     string
		do       func() bool // false: the step was refused
		wantOK   bool
		wantOwed int
		wantLen  int
	}{
		{"a fresh spare into an empty pool", func() bool { return p.keep(spare("a", 1)) }, true, 0, 1},
		{"a second fresh spare", func() bool { return p.keep(spare("b", 1)) }, false, 0, 1},
		{"a taken", func() bool { return p.Take().Container == "a" }, true, 0, 0},
		{"a back at renewAt: a replacement is owed", func() bool { return p.keep(spare("a", renewAt)) }, true, 1, 1},
		{"the replacement made", func() bool { p.addMade(spare("c", 0)); return true }, true, 0, 2},
		{"another ending spare, the pool at twice its size", func() bool { return p.keep(spare("d", renewAt+9)) }, false, 0, 2},
		{"a taken again", func() bool { return p.Take().Container == "a" }, true, 0, 1},
		{"a back past renewAt: nothing more owed", func() bool { return p.keep(spare("a", renewAt+1)) }, true, 0, 2},
		{"c taken", func() bool { return p.Take().Container == "c" }, true, 0, 1},
		{"c back: the only spare not ending", func() bool { return p.keep(spare("c", 1)) }, true, 0, 2},
	}
	for _, st := range steps {
		ok := st.do()
		p.mu.Lock()
		owed, n := p.owed, len(p.spares)
		p.mu.Unlock()
		if ok != st.wantOK || owed != st.wantOwed || n != st.wantLen {
			t.Fatalf("%s: ok %v, owed %d, %d spares; want %v, %d, %d", st.name, ok, owed, n, st.wantOK, st.wantOwed, st.wantLen)
		}
	}
}

// TestRecycling: fill's wait to see whether recycling keeps up ends as
// soon as a replacement is owed, not for a stale signal, and counts a
// spent container, replaced before, as kept up.
func TestRecycling(t *testing.T) {
	spent := fmt.Errorf("recycle a: %w", box.ErrUsesSpent)
	for _, tc := range []struct {
		name     string
		during   func(p *pool)
		keepsUp  bool
		atMostMS int // 0: it waits refillDelay
	}{
		{"a replacement owed", func(p *pool) { p.keep(&box.Spare{Container: "a", Uses: renewAt}) }, false, 250},
		{"a stale signal", func(p *pool) { signal(p.renew) }, false, 0},
		{"a spare taken, recycled", func(p *pool) { p.Take(); p.keep(&box.Spare{Container: "a", Uses: 2}) }, true, 0},
		{"a spare taken, spent", func(p *pool) { p.Take(); p.refused(spent) }, true, 0},
		{"a spare taken, torn down", func(p *pool) { p.Take(); p.refused(box.ErrNotReusable) }, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPool(nil, 1)
			p.spares = []*box.Spare{{Container: "s"}}
			p.taken = 1
			go func() {
				time.Sleep(20 * time.Millisecond)
				tc.during(p)
			}()
			start := time.Now()
			keepsUp := p.recycling(t.Context())
			took := time.Since(start)
			if keepsUp != tc.keepsUp {
				t.Errorf("recycling said it keeps up: %v, want %v", keepsUp, tc.keepsUp)
			}
			if tc.atMostMS > 0 && took > time.Duration(tc.atMostMS)*time.Millisecond {
				t.Errorf("recycling waited %v with a replacement owed", took)
			}
			if tc.atMostMS == 0 && took < refillDelay {
				t.Errorf("recycling returned after %v, before refillDelay", took)
			}
		})
	}
}
