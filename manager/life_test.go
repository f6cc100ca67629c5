package manager

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestLockLife takes the manager's lock while another open file of it
// (an older manager) holds it or not, with the socket served or not.
func TestLockLife(t *testing.T) {
	tests := []struct {
		name    string
		held    bool
		served  bool
		release time.Duration // when the holder lets go; 0: never
		wantErr error         // nil: the lock is taken
		failing bool          // an error other than ErrRunning
	}{
		{name: "free"},
		{name: "held by a manager that serves", held: true, served: true, wantErr: ErrRunning},
		{name: "held by a manager still tearing down", held: true, release: 150 * time.Millisecond},
		{name: "held for longer than the wait", held: true, failing: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			socket := filepath.Join(t.TempDir(), "manager.sock")
			if tt.served {
				ln, err := net.Listen("unix", socket)
				if err != nil {
					t.Fatal(err)
				}
				defer ln.Close()
			}
			if tt.held {
				old, err := os.OpenFile(socket+".lock", os.O_RDWR|os.O_CREATE, 0o600)
				if err != nil {
					t.Fatal(err)
				}
				if err := unix.Flock(int(old.Fd()), unix.LOCK_EX); err != nil {
					t.Fatal(err)
				}
				defer old.Close()
				if tt.release > 0 {
					time.AfterFunc(tt.release, func() { old.Close() })
				}
			}
			start := time.Now()
			f, err := lockLife(socket, time.Second)
			took := time.Since(start)
			switch {
			case tt.failing:
				if err == nil || errors.Is(err, ErrRunning) {
					t.Fatalf("got %v, want a timeout", err)
				}
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("got %v, want %v", err, tt.wantErr)
				}
			case err != nil:
				t.Fatal(err)
			default:
				defer f.Close()
				if took < tt.release {
					t.Errorf("taken after %v, before the holder let go at %v", took, tt.release)
				}
				other, _ := os.Open(socket + ".lock")
				defer other.Close()
				if err := unix.Flock(int(other.Fd()), unix.LOCK_EX|unix.LOCK_NB); !errors.Is(err, unix.EWOULDBLOCK) {
					t.Errorf("the lock is not held: a second flock gave %v", err)
				}
			}
		})
	}
}
