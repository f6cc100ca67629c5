package manager

import (
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
