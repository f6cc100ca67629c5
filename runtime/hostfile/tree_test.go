package hostfile

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// chain makes a chain of depth directories below dir, each with a file,
// through fds (the path would pass PATH_MAX), and returns the name used.
func chain(t *testing.T, dir string, depth int) string {
	t.Helper()
	name := strings.Repeat("d", 200)
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < depth; i++ {
		if err := unix.Mkdirat(fd, name, 0o755); err != nil {
			t.Fatal(err)
		}
		f, err := unix.Openat(fd, "f", unix.O_CREAT|unix.O_WRONLY, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		unix.Close(f)
		next, err := unix.Openat(fd, name, unix.O_RDONLY|unix.O_DIRECTORY, 0)
		if err != nil {
			t.Fatal(err)
		}
		unix.Close(fd)
		fd = next
	}
	unix.Close(fd)
	return name
}

func openFDs(t *testing.T) int {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

func TestWalkDeepInBoundedFDs(t *testing.T) {
	dir := t.TempDir()
	const depth = 3000
	chain(t, dir, depth)
	base := openFDs(t)
	dirs, files, most := 0, 0, 0
	err := Walk(dir, func(parent int, name string, st *unix.Stat_t) error {
		if st.Mode&unix.S_IFMT == unix.S_IFDIR {
			dirs++
			if dirs%100 == 0 {
				most = max(most, openFDs(t)-base)
			}
		} else {
			files++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if dirs != depth || files != depth {
		t.Errorf("visited %d directories and %d files, want %d of each", dirs, files, depth)
	}
	if most > maxOpen+2 {
		t.Errorf("%d fds open at once, want at most %d", most, maxOpen+2)
	}
}

func TestWalkNeverFollowsOrBlocks(t *testing.T) {
	dir, outside := t.TempDir(), t.TempDir()
	secret := filepath.Join(outside, "secret")
	if err := os.WriteFile(secret, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mkfifo(filepath.Join(dir, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "locked"), 0); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "locked", "f"), nil, 0); err != nil {
		t.Fatal(err)
	}
	var seen []string
	err := Walk(dir, func(parent int, name string, st *unix.Stat_t) error {
		seen = append(seen, name)
		if st.Mode&unix.S_IFMT == unix.S_IFLNK || st.Mode&unix.S_IFMT == unix.S_IFIFO {
			return unix.Unlinkat(parent, name, 0)
		}
		return unix.Fchownat(parent, name, 4321, 4321, unix.AT_SYMLINK_NOFOLLOW)
	})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(seen, ",") == "" || strings.Contains(strings.Join(seen, ","), "secret") {
		t.Errorf("visited %v: the walk followed the link", seen)
	}
	var st unix.Stat_t
	if err := unix.Stat(secret, &st); err != nil || st.Uid != 0 {
		t.Errorf("the link's target was changed: uid %d, %v", st.Uid, err)
	}
	if _, err := os.Lstat(filepath.Join(dir, "fifo")); !os.IsNotExist(err) {
		t.Errorf("the FIFO is still there: %v", err)
	}
	if err := unix.Stat(filepath.Join(dir, "locked", "f"), &st); err != nil || st.Uid != 4321 {
		t.Errorf("the file in a mode-000 directory: uid %d, %v", st.Uid, err)
	}
}

func TestRemoveAll(t *testing.T) {
	for _, tc := range []struct {
		name  string
		build func(t *testing.T, dir string)
	}{
		{"deep chain", func(t *testing.T, dir string) { chain(t, dir, 3000) }},
		{"wide", func(t *testing.T, dir string) {
			for i := 0; i < 3000; i++ {
				if err := os.Mkdir(filepath.Join(dir, strings.Repeat("w", 100)+strconv.Itoa(i)), 0o755); err != nil {
					t.Fatal(err)
				}
			}
		}},
		{"special files and locked directories", func(t *testing.T, dir string) {
			if err := unix.Mkfifo(filepath.Join(dir, "fifo"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink("/etc", filepath.Join(dir, "etc")); err != nil {
				t.Fatal(err)
			}
			if err := os.MkdirAll(filepath.Join(dir, "a", "b"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(filepath.Join(dir, "a"), 0); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "tree")
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			tc.build(t, dir)
			base := openFDs(t)
			if err := RemoveAll(dir); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Lstat(dir); !os.IsNotExist(err) {
				t.Errorf("%s is still there: %v", dir, err)
			}
			if n := openFDs(t); n != base {
				t.Errorf("fds went from %d to %d", base, n)
			}
			if _, err := os.Stat("/etc/passwd"); err != nil {
				t.Errorf("the link's target is gone: %v", err)
			}
		})
	}
	if err := RemoveAll(filepath.Join(t.TempDir(), "missing")); err != nil {
		t.Errorf("a missing directory: %v", err)
	}
}
