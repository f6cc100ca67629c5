package hostfile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestWrite(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: trusted links are root's")
	}
	for _, tc := range []struct {
		name string
		// setup prepares dir and returns the path to write and what to
		// check afterwards.
		setup func(t *testing.T, dir string) (path string, check func(t *testing.T))
	}{
		{"new file", func(t *testing.T, dir string) (string, func(*testing.T)) {
			p := filepath.Join(dir, "meta")
			return p, func(t *testing.T) { wantFile(t, p, "report", 0o644) }
		}},
		{"existing file is replaced whole", func(t *testing.T, dir string) (string, func(*testing.T)) {
			p := filepath.Join(dir, "meta")
			mustWrite(t, p, "an older and longer report")
			return p, func(t *testing.T) { wantFile(t, p, "report", 0o644) }
		}},
		// A link anyone could have planted (here: in a world-writable
		// directory) is replaced, not followed.
		{"untrusted link to a host file", func(t *testing.T, dir string) (string, func(*testing.T)) {
			shared := filepath.Join(dir, "shared")
			if err := os.Mkdir(shared, 0o777); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(shared, 0o777); err != nil {
				t.Fatal(err)
			}
			secret := filepath.Join(dir, "secret")
			mustWrite(t, secret, "keep me")
			p := filepath.Join(shared, "meta")
			if err := os.Symlink(secret, p); err != nil {
				t.Fatal(err)
			}
			return p, func(t *testing.T) {
				wantFile(t, p, "report", 0o644)
				wantFile(t, secret, "keep me", 0o644)
			}
		}},
		// Root's link in a root-only directory (as /dev/stdout) is written
		// through: the device stays a device.
		{"trusted link to a device", func(t *testing.T, dir string) (string, func(*testing.T)) {
			p := filepath.Join(dir, "null")
			if err := os.Symlink("/dev/null", p); err != nil {
				t.Fatal(err)
			}
			return p, func(t *testing.T) {
				if fi, err := os.Lstat(p); err != nil || fi.Mode()&os.ModeSymlink == 0 {
					t.Errorf("the link was replaced: %v %v", fi.Mode(), err)
				}
				wantCharDevice(t, "/dev/null")
			}
		}},
		{"device", func(t *testing.T, dir string) (string, func(*testing.T)) {
			p := filepath.Join(dir, "dev-null")
			if err := unix.Mknod(p, unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))); err != nil {
				t.Skipf("mknod: %v", err)
			}
			return p, func(t *testing.T) { wantCharDevice(t, p) }
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.Chmod(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			path, check := tc.setup(t, dir)
			if err := Write(path, []byte("report"), 0o644); err != nil {
				t.Fatal(err)
			}
			check(t)
		})
	}
}

// TestWriteFIFOWithoutReader: a FIFO nobody reads fails at once instead of
// blocking the supervisor for ever.
func TestWriteFIFOWithoutReader(t *testing.T) {
	p := filepath.Join(t.TempDir(), "fifo")
	if err := unix.Mkfifo(p, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Write(p, []byte("report"), 0o644); err == nil {
		t.Fatal("writing a FIFO without a reader succeeded")
	}
	if fi, err := os.Lstat(p); err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
		t.Errorf("the FIFO was replaced: %v %v", fi.Mode(), err)
	}
}

func mustWrite(t *testing.T, p, s string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func wantFile(t *testing.T, p, want string, perm os.FileMode) {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != perm {
		t.Fatalf("%s: %v %v, want a regular file with mode %v", p, fi.Mode(), err, perm)
	}
	if data, _ := os.ReadFile(p); string(data) != want {
		t.Errorf("%s holds %q, want %q", p, data, want)
	}
}

func wantCharDevice(t *testing.T, p string) {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		t.Errorf("%s is no longer a character device: %v %v", p, fi.Mode(), err)
	}
}

// TestWriteDirectoryLinks: a link a user planted on the way to the file
// (a box's res -> /root) is refused; root's own in a root-only directory
// (as /var/run -> /run) is followed.
func TestWriteDirectoryLinks(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: trusted links are root's")
	}
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(dir, "root-only")
	if err := os.Mkdir(target, 0o700); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, filepath.Join(target, "run.meta"), "keep me")
	box := filepath.Join(dir, "box")
	if err := os.Mkdir(box, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(box, 4321, 4321); err != nil {
		t.Fatal(err)
	}
	planted := filepath.Join(box, "res")
	if err := os.Symlink(target, planted); err != nil {
		t.Fatal(err)
	}
	if err := os.Lchown(planted, 4321, 4321); err != nil {
		t.Fatal(err)
	}
	if err := Write(filepath.Join(planted, "run.meta"), []byte("report"), 0o644); err == nil || !strings.Contains(err.Error(), "res is a symlink") {
		t.Errorf("write through a planted link: %v, want a refusal naming it", err)
	}
	wantFile(t, filepath.Join(target, "run.meta"), "keep me", 0o644)

	ours := filepath.Join(dir, "run")
	if err := os.Symlink(target, ours); err != nil {
		t.Fatal(err)
	}
	if err := Write(filepath.Join(ours, "state"), []byte("report"), 0o600); err != nil {
		t.Fatalf("write through root's link in a root-only directory: %v", err)
	}
	wantFile(t, filepath.Join(target, "state"), "report", 0o600)
}

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, []byte("content"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(file, link); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path string
		flags      int
		want       error // nil: opens
	}{
		{"regular file", file, os.O_RDONLY, nil},
		{"device", os.DevNull, os.O_RDWR, nil},
		{"missing", filepath.Join(dir, "missing"), os.O_RDONLY, os.ErrNotExist},
		{"no link followed", link, os.O_RDONLY | unix.O_NOFOLLOW, unix.ELOOP},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Open(tc.path, tc.flags, 0)
			if tc.want != nil {
				var pe *os.PathError
				if !errors.Is(err, tc.want) || !errors.As(err, &pe) || pe.Path != tc.path {
					t.Fatalf("Open = %v, want a PathError for %s: %v", err, tc.path, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if f.Name() != tc.path {
				t.Errorf("Name() = %q", f.Name())
			}
			// Close-on-exec, whatever the flags: a box's program must
			// never inherit it.
			if fl, err := unix.FcntlInt(f.Fd(), unix.F_GETFD, 0); err != nil || fl&unix.FD_CLOEXEC == 0 {
				t.Errorf("F_GETFD = %#x, %v: not close-on-exec", fl, err)
			}
		})
	}
}
