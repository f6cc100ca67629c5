package manager

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mini-isolate/mini-isolate/runtime/hostfile"
)

// TestLife takes the life lock while another open file of it (an older
// manager) holds it, lets go of it, or holds it until the waiter gives up.
func TestLife(t *testing.T) {
	tests := []struct {
		name     string
		held     bool
		release  time.Duration // when the holder lets go; 0: never
		cancel   time.Duration // when the waiter gives up; 0: never
		wantTake bool          // tryLife at once
		wantWait bool          // waitLife
	}{
		{name: "free", wantTake: true, wantWait: true},
		{name: "held, then released", held: true, release: 150 * time.Millisecond, wantWait: true},
		{name: "held until the waiter gives up", held: true, cancel: 150 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			socket := filepath.Join(t.TempDir(), "manager.sock")
			var old *os.File
			if tt.held {
				var err error
				old, err = os.OpenFile(socket+".lock", os.O_RDWR|os.O_CREATE, 0o600)
				if err != nil {
					t.Fatal(err)
				}
				if err := hostfile.Lock(old, false); err != nil {
					t.Fatal(err)
				}
				defer old.Close()
			}
			f, err := openLife(socket)
			if err != nil {
				t.Fatal(err)
			}
			if ok, err := tryLife(f); ok != tt.wantTake || err != nil {
				t.Fatalf("tryLife: %v %v, want %v", ok, err, tt.wantTake)
			}
			ctx := context.Background()
			if tt.cancel > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.cancel)
				defer cancel()
			}
			s := &Server{}
			start := time.Now()
			if tt.release > 0 {
				time.AfterFunc(tt.release, func() { old.Close() })
			}
			if got := s.waitLife(ctx, f); got != tt.wantWait {
				t.Fatalf("waitLife: %v, want %v", got, tt.wantWait)
			}
			if took := time.Since(start); tt.wantWait && took < tt.release {
				t.Errorf("taken after %v, before the holder let go at %v", took, tt.release)
			}
			if tt.wantWait {
				defer s.life.Close()
				other, _ := os.Open(socket + ".lock")
				defer other.Close()
				if ok, _ := tryLife(other); ok {
					t.Error("the lock is not held: another open file took it")
				}
			}
		})
	}
}
