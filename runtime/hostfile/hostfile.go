// Package hostfile writes files on the host atomically: the runtime's own
// state, and the files a caller names (meta reports, pid files). A regular
// file is replaced, so that a reader sees the old file or the whole new
// one, while a device, a FIFO or a trusted link to one (/dev/null,
// /dev/stdout) is written into, never replaced.
package hostfile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// Write puts data at path with mode perm (for a new or replaced file).
//
// A regular file, or nothing, at path is replaced by rename of a temporary
// file created beside it. A symlink is replaced the same way, unless root
// owns it in a directory only root may write (as /dev/stdout): then, like
// a device or FIFO at path, it is opened and written, as fopen(path, "w")
// would. Links that anyone else could have planted are never followed, so
// a sandboxed program cannot point a report at a host file or device.
func Write(path string, data []byte, perm os.FileMode) error {
	if writeInPlace(path) {
		return writeInto(path, data)
	}
	return replace(path, data, perm)
}

// writeInPlace tells whether path must be written into rather than
// replaced.
func writeInPlace(path string) bool {
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		return false
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG, unix.S_IFDIR:
		return false
	case unix.S_IFLNK:
		return st.Uid == 0 && rootOnlyDir(filepath.Dir(path))
	}
	return true // a device, FIFO or socket
}

// rootOnlyDir tells whether only root can create or replace entries in dir.
func rootOnlyDir(dir string) bool {
	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		return false
	}
	return st.Uid == 0 && st.Mode&0o022 == 0
}

// writeInto opens path for writing and writes data. O_NONBLOCK makes a FIFO
// without a reader fail at once instead of hanging the supervisor.
func writeInto(path string, data []byte) error {
	fd, err := unix.Open(path, unix.O_WRONLY|unix.O_NONBLOCK|unix.O_CLOEXEC|unix.O_NOCTTY, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: path, Err: err}
	}
	f := os.NewFile(uintptr(fd), path)
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err == nil && st.Mode&unix.S_IFMT == unix.S_IFREG {
		// A trusted link to a regular file, such as /dev/stdout redirected
		// to one: "w" truncates it.
		if err := f.Truncate(0); err != nil {
			return err
		}
	}
	_, err = f.Write(data)
	if errors.Is(err, unix.EAGAIN) {
		return fmt.Errorf("write %s: the reader does not keep up", path)
	}
	return err
}

// replace writes a temporary file beside path and renames it over path.
func replace(path string, data []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
