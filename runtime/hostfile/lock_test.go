package hostfile

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestLock takes a lock that is free, one another open file holds, with
// and without waiting, and checks that the wait ends when the holder
// lets go, and not before.
func TestLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lock")
	open := func() *os.File {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	holder := open()
	if err := Lock(holder, false); err != nil {
		t.Fatalf("free lock: %v", err)
	}
	if err := Lock(open(), false); !errors.Is(err, ErrLocked) {
		t.Fatalf("held lock, no wait: %v, want %v", err, ErrLocked)
	}
	released := make(chan time.Time, 1)
	go func() {
		time.Sleep(100 * time.Millisecond)
		released <- time.Now()
		holder.Close()
	}()
	if err := Lock(open(), true); err != nil {
		t.Fatalf("held lock, waiting: %v", err)
	}
	select {
	case <-released:
	default:
		t.Fatal("the wait ended while the lock was held")
	}
}
