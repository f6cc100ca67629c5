package judged

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mini-isolate/mini-isolate/runtime/hostfile"
)

// TestWaitSupervisor: delete's wait ends when the lock a supervisor holds
// on the state directory is released, and not before; a second lock, as a
// second create would take, is refused.
func TestWaitSupervisor(t *testing.T) {
	dir := t.TempDir()
	WaitSupervisor(dir) // unlocked: returns at once

	held, err := lockDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lockDir(dir); !errors.Is(err, hostfile.ErrLocked) {
		t.Fatalf("second lock: %v, want %v", err, hostfile.ErrLocked)
	}
	var released atomic.Bool
	go func() {
		time.Sleep(200 * time.Millisecond)
		released.Store(true)
		held.Close()
	}()
	WaitSupervisor(dir)
	if !released.Load() {
		t.Fatal("WaitSupervisor returned while the lock was held")
	}
	again, err := lockDir(dir)
	if err != nil {
		t.Fatalf("lock after the wait: %v", err)
	}
	again.Close()
}
