package hostfile

import (
	"os"
	"path/filepath"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

// TestWithUmask: fn sees the mask, and the process's own umask, which
// other goroutines create files under meanwhile, never changes.
func TestWithUmask(t *testing.T) {
	dir := t.TempDir()
	old := unix.Umask(0o022)
	defer unix.Umask(old)
	if err := os.Mkdir(filepath.Join(dir, "masked"), 0o755); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			err := WithUmask(0o177, func() error {
				return os.Mkdir(filepath.Join(dir, "masked", "d"+string(rune('a'+i))), 0o777)
			})
			if err != nil {
				t.Error(err)
			}
		}()
		go func() {
			defer wg.Done()
			p := filepath.Join(dir, "plain"+string(rune('a'+i)))
			if err := os.Mkdir(p, 0o755); err != nil {
				t.Error(err)
				return
			}
			if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o755 {
				t.Errorf("%s made meanwhile: %v %v, want 0755", p, fi.Mode(), err)
			}
		}()
	}
	wg.Wait()
	if err := WithUmask(0o177, func() error { return os.Mkdir(filepath.Join(dir, "masked", "x"), 0o777) }); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "masked", "x")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("made with umask 0177: %v %v, want 0600", fi.Mode(), err)
	}
	if now := unix.Umask(0o022); now != 0o022 {
		t.Errorf("the process's umask is %#o after, want 022", now)
	}
}
