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
			if tc.addAfter > 0 {
				go func() {
					time.Sleep(tc.addAfter)
					p.mu.Lock()
					p.addLocked(&box.Spare{Container: "sbx-test"})
					p.mu.Unlock()
				}()
			}
			start := time.Now()
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

// TestPoolRenewal follows one container through its last uses: at
// renewAt it is owed a replacement, the pool keeps one spare more once
// the replacement is made, and one fewer again when the container is
// spent.
func TestPoolRenewal(t *testing.T) {
	spare := func(name string, uses int) *box.Spare { return &box.Spare{Container: name, Uses: uses} }
	spent := fmt.Errorf("recycle a: %w", box.ErrUsesSpent)
	p := newPool(nil, 1)
	steps := []struct {
		name             string
		do               func() bool // false: the step was refused
		wantOK           bool
		wantOwed, wantRm int
	}{
		{"a fresh spare into an empty pool", func() bool { return p.keep(spare("a", 1)) }, true, 0, 1},
		{"a second fresh spare into a full pool", func() bool { return p.keep(spare("b", 1)) }, false, 0, 1},
		{"a taken", func() bool { return p.Take() != nil }, true, 0, 1},
		{"a back at renewAt: a replacement is owed", func() bool { return p.keep(spare("a", renewAt)) }, true, 1, 1},
		{"the replacement made", func() bool { p.addMade(spare("c", 0)); return true }, true, 0, 2},
		{"a taken again", func() bool { return p.Take() != nil }, true, 0, 2},
		{"a back once more: owed nothing new", func() bool { return p.keep(spare("a", renewAt+1)) }, true, 0, 2},
		{"a spent", func() bool { p.refused("a", spent); return true }, true, 0, 1},
	}
	for _, st := range steps {
		ok := st.do()
		p.mu.Lock()
		owed, room := p.owed, p.roomLocked()
		p.mu.Unlock()
		if ok != st.wantOK || owed != st.wantOwed || room != st.wantRm {
			t.Fatalf("%s: ok %v, owed %d, room %d; want %v, %d, %d", st.name, ok, owed, room, st.wantOK, st.wantOwed, st.wantRm)
		}
	}
	if p.spent != 1 {
		t.Errorf("spent %d, want 1", p.spent)
	}
}

// TestRecyclingCutShort: fill's wait to see whether recycling keeps up
// ends as soon as a replacement is owed, and not for a stale signal.
func TestRecyclingCutShort(t *testing.T) {
	for _, tc := range []struct {
		name   string
		owe    bool
		atMost time.Duration
	}{
		{"a replacement owed", true, refillDelay / 2},
		{"a stale signal", false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPool(nil, 1)
			p.taken = 1
			go func() {
				time.Sleep(20 * time.Millisecond)
				if tc.owe {
					p.keep(&box.Spare{Container: "a", Uses: renewAt})
				} else {
					signal(p.renew)
				}
			}()
			start := time.Now()
			p.recycling(t.Context())
			took := time.Since(start)
			if tc.owe && took > tc.atMost {
				t.Errorf("recycling waited %v with a replacement owed", took)
			}
			if !tc.owe && took < refillDelay {
				t.Errorf("recycling returned after %v, before refillDelay, for a stale signal", took)
			}
		})
	}
}
