// Package hostfile writes files on the host atomically: the runtime's own
// state, and the files a caller names (meta reports, pid files). A regular
// file is replaced, so that a reader sees the old file or the whole new
// one, while a device, a FIFO or a trusted link to one (/dev/null,
// /dev/stdout) is written into, never replaced. It also reads such files
// with bounds, walks and removes trees without following links, and locks
// files, as root must on a host where sandboxes write.
package hostfile

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// Write puts data at path with mode perm (for a new or replaced file).
//
// The directories on the way to path are resolved one by one, following
// only trusted symlinks: root's, in a directory only root may write (as
// /var/run or /dev/stdout). A link anyone else could have planted, such
// as one a sandboxed program left in its box, is never followed: Write
// fails naming it.
//
// A regular file, or nothing, at path is replaced by rename of a temporary
// file created beside it; so is an untrusted link there. A trusted link,
// a device or a FIFO at path is opened and written, as fopen(path, "w")
// would, without blocking: a FIFO without a reader fails at once.
func Write(path string, data []byte, perm os.FileMode) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	dir, base := filepath.Dir(abs), filepath.Base(abs)
	dirfd, err := OpenDir(dir)
	if err != nil {
		return err
	}
	defer unix.Close(dirfd)
	var st unix.Stat_t
	err = unix.Fstatat(dirfd, base, &st, unix.AT_SYMLINK_NOFOLLOW)
	switch {
	case errors.Is(err, unix.ENOENT):
		return replace(dirfd, path, base, data, perm)
	case err != nil:
		return &os.PathError{Op: "lstat", Path: path, Err: err}
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		return replace(dirfd, path, base, data, perm)
	case unix.S_IFDIR:
		return &os.PathError{Op: "write", Path: path, Err: unix.EISDIR}
	case unix.S_IFLNK:
		if !trusted(dirfd, &st) {
			return replace(dirfd, path, base, data, perm)
		}
		// The kernel follows a trusted link itself: /dev/stdout names
		// /proc/self/fd/1, which only it can resolve.
		return writeInto(dirfd, path, base, 0, data)
	}
	return writeInto(dirfd, path, base, unix.O_NOFOLLOW, data) // a device, FIFO or socket
}

// maxLinks bounds the symlinks one resolution follows, as the kernel's
// ELOOP does.
const maxLinks = 40

// OpenDir opens directory path (O_PATH) component by component, following
// only trusted symlinks (root's, in a root-only directory), and returns
// its fd. It never follows a link a user or a sandboxed program planted.
func OpenDir(path string) (int, error) {
	if !filepath.IsAbs(path) {
		abs, err := filepath.Abs(path)
		if err != nil {
			return -1, err
		}
		path = abs
	}
	fd, err := unix.Open("/", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	rest := strings.Split(strings.TrimPrefix(filepath.Clean(path), "/"), "/")
	for links := 0; len(rest) > 0; {
		c := rest[0]
		rest = rest[1:]
		if c == "" || c == "." {
			continue
		}
		next, target, err := step(fd, c)
		if err != nil {
			unix.Close(fd)
			return -1, fmt.Errorf("%s: %w", path, err)
		}
		if target == "" {
			unix.Close(fd)
			fd = next
			continue
		}
		if links++; links > maxLinks {
			unix.Close(fd)
			return -1, &os.PathError{Op: "open", Path: path, Err: unix.ELOOP}
		}
		if strings.HasPrefix(target, "/") {
			unix.Close(fd)
			if fd, err = unix.Open("/", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0); err != nil {
				return -1, err
			}
		}
		rest = append(strings.Split(strings.TrimPrefix(target, "/"), "/"), rest...)
	}
	return fd, nil
}

// step resolves one component below fd: the next directory's fd, or the
// target of a trusted symlink to resolve instead.
func step(fd int, name string) (int, string, error) {
	var st unix.Stat_t
	if err := unix.Fstatat(fd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return -1, "", fmt.Errorf("%s: %w", name, err)
	}
	if st.Mode&unix.S_IFMT == unix.S_IFLNK {
		if !trusted(fd, &st) {
			return -1, "", fmt.Errorf("%s is a symlink that root does not own in a root-only directory; not followed", name)
		}
		buf := make([]byte, unix.PathMax)
		n, err := unix.Readlinkat(fd, name, buf)
		if err != nil {
			return -1, "", fmt.Errorf("%s: %w", name, err)
		}
		return -1, string(buf[:n]), nil
	}
	next, err := unix.Openat(fd, name, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, "", fmt.Errorf("%s: %w", name, err)
	}
	return next, "", nil
}

// trusted tells a symlink root made in a directory only root may write.
func trusted(dirfd int, link *unix.Stat_t) bool {
	var st unix.Stat_t
	if link.Uid != 0 || unix.Fstat(dirfd, &st) != nil {
		return false
	}
	return st.Uid == 0 && st.Mode&0o022 == 0
}

// writeInto opens base in dirfd for writing (through a trusted link, or
// with O_NOFOLLOW) and writes data. O_NONBLOCK makes a FIFO without a
// reader fail at once instead of hanging the supervisor.
func writeInto(dirfd int, path, base string, flags int, data []byte) error {
	fd, err := unix.Openat(dirfd, base, unix.O_WRONLY|unix.O_NONBLOCK|unix.O_CLOEXEC|unix.O_NOCTTY|flags, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: path, Err: err}
	}
	f := os.NewFile(uintptr(fd), path)
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return err
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		// A trusted link to a regular file, such as /dev/stdout redirected
		// to one: "w" truncates it.
		if err := f.Truncate(0); err != nil {
			return err
		}
	case unix.S_IFCHR, unix.S_IFIFO:
	default:
		return fmt.Errorf("write %s: not a regular file, character device or FIFO", path)
	}
	_, err = f.Write(data)
	if errors.Is(err, unix.EAGAIN) {
		return fmt.Errorf("write %s: the reader does not keep up", path)
	}
	return err
}

// replace writes a temporary file beside base in dirfd and renames it over
// base.
func replace(dirfd int, path, base string, data []byte, perm os.FileMode) error {
	var fd int
	var tmp string
	for i := 0; ; i++ {
		tmp = fmt.Sprintf(".%s.%d.%d", base, os.Getpid(), i)
		var err error
		fd, err = unix.Openat(dirfd, tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
		if err == nil {
			break
		}
		if !errors.Is(err, unix.EEXIST) || i > 100 {
			return &os.PathError{Op: "create", Path: path, Err: err}
		}
	}
	f := os.NewFile(uintptr(fd), tmp)
	done := false
	defer func() {
		f.Close()
		if !done {
			_ = unix.Unlinkat(dirfd, tmp, 0)
		}
	}()
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Chmod(perm); err != nil {
		return err
	}
	if err := unix.Renameat(dirfd, tmp, dirfd, base); err != nil {
		return &os.PathError{Op: "rename", Path: path, Err: err}
	}
	done = true
	return nil
}

// WriteIn replaces file name in the directory open as dirfd, by a
// temporary file and a rename, as Write does; for a directory found once
// and trusted since (a container's state directory).
func WriteIn(dirfd int, name string, data []byte, perm os.FileMode) error {
	return replace(dirfd, name, name, data, perm)
}

// Open opens path as os.OpenFile does, close-on-exec, for a file Go's
// poller cannot watch (a regular file, /dev/null): os.OpenFile tries to
// register it, four more system calls that fail for such a file anyway,
// and a warm run opens several.
func Open(path string, flags int, perm os.FileMode) (*os.File, error) {
	for {
		fd, err := unix.Open(path, flags|unix.O_CLOEXEC, uint32(perm.Perm()))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, &os.PathError{Op: "open", Path: path, Err: err}
		}
		return os.NewFile(uintptr(fd), path), nil
	}
}

// ReadFile reads a regular file that a sandboxed program may have
// controlled (a compiler's output, a program's output file), as root
// safely can: through trusted links only (OpenDir), not through a link at
// path, without blocking on a FIFO, and at most max bytes.
func ReadFile(path string, max int64) ([]byte, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	dirfd, err := OpenDir(filepath.Dir(abs))
	if err != nil {
		return nil, err
	}
	defer unix.Close(dirfd)
	fd, err := unix.Openat(dirfd, filepath.Base(abs), unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	f := os.NewFile(uintptr(fd), path)
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, fmt.Errorf("read %s: not a regular file", path)
	}
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("read %s: larger than %d bytes", path, max)
	}
	return data, nil
}
