package isolatecmd

import (
	"fmt"
	"os"
	"path/filepath"
	goruntime "runtime"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/mini-isolate/mini-isolate/box"
	"github.com/mini-isolate/mini-isolate/runtime/hostfile"
	"github.com/mini-isolate/mini-isolate/runtime/meta"
)

// metaSink is where the front end writes its meta file: stdout for "-";
// for root, the path, written atomically at the end (hostfile.Write); for a
// setuid caller, a file opened at the start with the caller's filesystem
// identity, as isolate opens it, so that the caller can name no file it
// could not write itself.
type metaSink struct {
	path string
	f    *os.File
}

// openMeta prepares the meta file; an error is isolate's "Failed to open
// metafile". A relative path is the caller's, from inv.Dir.
func openMeta(inv *Invocation, path string) (*metaSink, error) {
	m := &metaSink{path: path}
	if path == "" || path == "-" {
		return m, nil
	}
	if !inv.Setuid {
		if !filepath.IsAbs(path) && inv.Dir != nil {
			dir, err := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", inv.Dir.Fd()))
			if err != nil {
				return nil, fmt.Errorf("failed to open metafile '%s': %w", path, err)
			}
			m.path = filepath.Join(dir, path)
		}
		return m, nil
	}
	dirfd := unix.AT_FDCWD
	if inv.Dir != nil {
		dirfd = int(inv.Dir.Fd())
	}
	f, err := openAsCaller(dirfd, path, inv.UID, inv.GID, inv.Groups)
	if err != nil {
		return nil, fmt.Errorf("failed to open metafile '%s': %w", path, err)
	}
	m.f = f
	return m, nil
}

// write puts the report in the sink.
func (m *metaSink) write(inv *Invocation, r *meta.Result, cg, extended bool) error {
	data := box.IsolateMeta(r, cg, extended)
	switch {
	case m == nil || m.path == "":
		return nil
	case m.path == "-":
		_, err := inv.out().Write(data)
		return err
	case m.f != nil:
		if err := m.f.Truncate(0); err != nil && !isNotRegular(m.f) {
			return fmt.Errorf("write meta: %w", err)
		}
		_, err := m.f.WriteAt(data, 0)
		if err != nil {
			_, err = m.f.Write(data) // a FIFO or device has no offsets
		}
		return err
	}
	if err := hostfile.Write(m.path, data, 0o644); err != nil {
		return fmt.Errorf("write meta: %w", err)
	}
	return nil
}

func (m *metaSink) close() {
	if m != nil && m.f != nil {
		m.f.Close()
	}
}

func isNotRegular(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && !fi.Mode().IsRegular()
}

// openAsCaller opens path, relative to dirfd, for writing with the
// caller's filesystem uid and gid and, when groups is not nil, the caller's
// supplementary groups: the caller can name no file it could not write
// itself. It runs on a thread of its own, which exits with the goroutine:
// setfsuid and the raw setgroups change one thread only.
func openAsCaller(dirfd int, path string, uid, gid int, groups []int) (*os.File, error) {
	type result struct {
		fd  int
		err error
	}
	done := make(chan result, 1)
	go func() {
		goruntime.LockOSThread() // never unlocked: the thread dies with us
		if groups != nil {
			gids := make([]uint32, len(groups))
			for i, g := range groups {
				gids[i] = uint32(g)
			}
			var p unsafe.Pointer
			if len(gids) > 0 {
				p = unsafe.Pointer(&gids[0])
			}
			if _, _, e := unix.RawSyscall(unix.SYS_SETGROUPS, uintptr(len(gids)), uintptr(p), 0); e != 0 {
				done <- result{-1, e}
				return
			}
		}
		unix.Setfsgid(gid)
		unix.Setfsuid(uid)
		fd, err := unix.Openat(dirfd, path, unix.O_WRONLY|unix.O_CREAT|unix.O_NONBLOCK|unix.O_CLOEXEC|unix.O_NOCTTY, 0o644)
		done <- result{fd, err}
	}()
	r := <-done
	if r.err != nil {
		return nil, r.err
	}
	return os.NewFile(uintptr(r.fd), path), nil
}
