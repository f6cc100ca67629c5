package hostfile

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"sync"

	"golang.org/x/sys/unix"
)

// The walks below handle trees that a sandboxed program built and root
// must then change: they never follow a symlink, never open anything but a
// directory (so never block on a FIFO), never cross into another
// filesystem, and use memory and file descriptors that do not grow with
// the tree's depth or breadth, in time linear in its entries. A program
// can build a chain of directories far deeper than root's open-file limit
// in a fraction of a second.

// maxOpen is how many directories a walk keeps open at once; deeper ones
// are reopened through "..", which names the real parent.
const maxOpen = 32

// direntBuf is the size of one getdents batch, and seekBuf that of the
// batches read while descending, which resume after each subdirectory:
// small, so that a directory of many subdirectories is not read over and
// over.
const (
	direntBuf = 32 << 10
	seekBuf   = 1 << 10
)

// buffers are the getdents buffers of a walk or of an emptying. They are
// pooled: a warm run walks its box twice, and fresh buffers (66 KiB a run)
// were most of a manager's garbage, a collection every six runs.
type buffers struct {
	big   [direntBuf]byte
	small [seekBuf]byte
}

var bufferPool = sync.Pool{New: func() any { return new(buffers) }}

// dirent is one entry of a getdents64 batch.
type dirent struct {
	name string
	off  int64 // the position after this entry
	typ  uint8
}

// readDir reads the next batch of fd's entries, without "." and "..".
// It returns no entries and no error at the end.
func readDir(fd int, buf []byte) ([]dirent, error) {
	for {
		n, err := unix.Getdents(fd, buf)
		if err != nil {
			return nil, err
		}
		if n <= 0 {
			return nil, nil
		}
		var list []dirent
		for b := buf[:n]; len(b) >= 19; {
			reclen := int(binary.NativeEndian.Uint16(b[16:18]))
			if reclen < 19 || reclen > len(b) {
				return nil, errors.New("getdents: bad record")
			}
			name := b[19:reclen]
			if i := bytes.IndexByte(name, 0); i >= 0 {
				name = name[:i]
			}
			if s := string(name); s != "." && s != ".." {
				list = append(list, dirent{name: s, off: int64(binary.NativeEndian.Uint64(b[8:16])), typ: b[18]})
			}
			b = b[reclen:]
		}
		if len(list) > 0 {
			return list, nil
		}
	}
}

// openDir opens a directory entry without following a symlink or
// blocking, and checks that it is a directory on the walk's filesystem.
func openDir(parent int, name string, dev uint64) (int, *unix.Stat_t, error) {
	fd, err := unix.Openat(parent, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, nil, err
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return -1, nil, err
	}
	if dev != 0 && st.Dev != dev {
		unix.Close(fd)
		return -1, nil, fmt.Errorf("%s is a mount point", name)
	}
	return fd, &st, nil
}

// frame is one directory of a depth-first walk.
type frame struct {
	fd       int // -1 while closed to stay within maxOpen
	dev, ino uint64
	// off is where to resume reading; scanned says the first pass over
	// the entries is done and the walk is descending into subdirectories.
	off     int64
	scanned bool
	// subdirs: the visit met a directory; without one there is no
	// descent to read the directory again for.
	subdirs bool
}

// EntryFunc is called for each entry of a walked tree, with its
// directory's fd, its name and its lstat. It may remove the entry unless
// it is a directory.
type EntryFunc func(dir int, name string, st *unix.Stat_t) error

// Walk calls fn for every entry below root, parents before children. Each
// directory that has subdirectories is read twice: once to visit its
// entries (fn may unlink them), then to descend into its subdirectories,
// whose positions no longer change; so the walk can close a directory and
// resume it later.
func Walk(root string, fn EntryFunc) error {
	fd, st, err := openDir(unix.AT_FDCWD, root, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", root, err)
	}
	bufs := bufferPool.Get().(*buffers)
	defer bufferPool.Put(bufs)
	w := &walk{fn: fn, dev: st.Dev, buf: bufs.big[:], small: bufs.small[:], open: 1}
	w.stack = []frame{{fd: fd, dev: st.Dev, ino: st.Ino}}
	defer w.closeAll()
	for len(w.stack) > 0 {
		if err := w.step(); err != nil {
			return fmt.Errorf("%s: %w", root, err)
		}
	}
	return nil
}

type walk struct {
	fn         EntryFunc
	dev        uint64
	buf, small []byte
	stack      []frame
	// The open directories are the stack's last open ones, from
	// firstOpen on.
	open, firstOpen int
}

func (w *walk) closeAll() {
	for i := range w.stack {
		if w.stack[i].fd >= 0 {
			unix.Close(w.stack[i].fd)
		}
	}
}

// step visits the top directory's entries, or descends into its next
// subdirectory, or finishes it.
func (w *walk) step() error {
	top := &w.stack[len(w.stack)-1]
	if !top.scanned {
		if err := w.visitAll(top); err != nil {
			return err
		}
		top.scanned, top.off = true, 0
		if !top.subdirs {
			return w.pop()
		}
	}
	if _, err := unix.Seek(top.fd, top.off, 0); err != nil {
		return err
	}
	list, err := readDir(top.fd, w.small)
	if err != nil {
		return err
	}
	for _, e := range list {
		top.off = e.off
		if e.typ != unix.DT_DIR && e.typ != unix.DT_UNKNOWN {
			continue
		}
		fd, st, err := openDir(top.fd, e.name, w.dev)
		if errors.Is(err, unix.ENOTDIR) || errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ELOOP) {
			continue
		}
		if err != nil {
			return err
		}
		w.push(frame{fd: fd, dev: st.Dev, ino: st.Ino})
		return nil
	}
	if len(list) == 0 {
		return w.pop()
	}
	return nil
}

// visitAll calls fn for every entry of a directory, reading it once.
func (w *walk) visitAll(f *frame) error {
	for {
		list, err := readDir(f.fd, w.buf)
		if err != nil || len(list) == 0 {
			return err
		}
		for _, e := range list {
			var st unix.Stat_t
			if err := unix.Fstatat(f.fd, e.name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
				if errors.Is(err, unix.ENOENT) {
					continue
				}
				return err
			}
			if st.Dev != w.dev {
				return fmt.Errorf("%s is a mount point", e.name)
			}
			if st.Mode&unix.S_IFMT == unix.S_IFDIR {
				f.subdirs = true
			}
			if err := w.fn(f.fd, e.name, &st); err != nil {
				return err
			}
		}
	}
}

// push enters a subdirectory, closing the outermost open one beyond
// maxOpen.
func (w *walk) push(f frame) {
	w.stack = append(w.stack, f)
	w.open++
	if w.open > maxOpen {
		unix.Close(w.stack[w.firstOpen].fd)
		w.stack[w.firstOpen].fd = -1
		w.firstOpen++
		w.open--
	}
}

// pop leaves the top directory, reopening its parent through ".." if it
// was closed, and checking that it is the same directory.
func (w *walk) pop() error {
	n := len(w.stack)
	child := w.stack[n-1]
	if n > 1 && w.stack[n-2].fd < 0 {
		p := &w.stack[n-2]
		fd, st, err := openDir(child.fd, "..", w.dev)
		if err != nil {
			return err
		}
		if st.Ino != p.ino || st.Dev != p.dev {
			unix.Close(fd)
			return errors.New("a directory moved during the walk")
		}
		p.fd = fd
		w.open++
		w.firstOpen = n - 2
	}
	unix.Close(child.fd)
	w.open--
	w.stack = w.stack[:n-1]
	return nil
}

// RemoveAll removes dir and everything below it. Instead of descending, it
// moves each subdirectory it meets to a private directory at the top and
// empties those one at a time, so it holds three directories open at
// most, whatever the depth. A dir that does not exist is no error.
func RemoveAll(dir string) error {
	root, _, err := openDir(unix.AT_FDCWD, dir, 0)
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("remove %s: %w", dir, err)
	}
	defer unix.Close(root)
	if err := emptyDir(root); err != nil {
		return fmt.Errorf("remove %s: %w", dir, err)
	}
	if err := unix.Rmdir(dir); err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("remove %s: %w", dir, err)
	}
	return nil
}

// Empty removes everything in directory dir, which stays, with the same
// care as RemoveAll. An empty dir costs one read.
func Empty(dir string) error {
	fd, _, err := openDir(unix.AT_FDCWD, dir, 0)
	if err != nil {
		return fmt.Errorf("empty %s: %w", dir, err)
	}
	defer unix.Close(fd)
	var buf [256]byte
	if list, err := readDir(fd, buf[:]); err == nil && len(list) == 0 {
		return nil
	}
	if _, err := unix.Seek(fd, 0, 0); err != nil {
		return err
	}
	if err := emptyDir(fd); err != nil {
		return fmt.Errorf("empty %s: %w", dir, err)
	}
	return nil
}

// emptyDir removes everything in the directory root.
func emptyDir(root int) error {
	var st unix.Stat_t
	if err := unix.Fstat(root, &st); err != nil {
		return err
	}
	trashName, trash, trashIno, err := makeTrash(root)
	if err != nil {
		return err
	}
	defer unix.Close(trash)
	bufs, names := bufferPool.Get().(*buffers), bufferPool.Get().(*buffers)
	defer bufferPool.Put(bufs)
	defer bufferPool.Put(names)
	e := &emptier{dev: st.Dev, trash: trash, trashIno: trashIno, buf: bufs.big[:], names: names.big[:]}
	if err := e.flatten(root); err != nil {
		return err
	}
	if err := e.drain(); err != nil {
		return err
	}
	return unix.Unlinkat(root, trashName, unix.AT_REMOVEDIR)
}

// makeTrash creates a fresh root-only directory in root, under a name
// nothing in the tree has.
func makeTrash(root int) (string, int, uint64, error) {
	for i := 0; i < 16; i++ {
		var r [8]byte
		_, _ = rand.Read(r[:])
		name := ".mini-isolate-trash-" + hex.EncodeToString(r[:])
		if err := unix.Mkdirat(root, name, 0o700); err != nil {
			if errors.Is(err, unix.EEXIST) {
				continue
			}
			return "", -1, 0, err
		}
		fd, st, err := openDir(root, name, 0)
		if err != nil {
			return "", -1, 0, err
		}
		return name, fd, st.Ino, nil
	}
	return "", -1, 0, errors.New("no free name for the trash directory")
}

type emptier struct {
	dev      uint64
	trash    int
	trashIno uint64
	next     int
	// buf is flatten's, names drain's.
	buf, names []byte
}

// flatten unlinks dir's entries and moves its subdirectories to the trash.
func (e *emptier) flatten(dir int) error {
	for {
		list, err := readDir(dir, e.buf)
		if err != nil || len(list) == 0 {
			return err
		}
		for _, d := range list {
			var st unix.Stat_t
			if err := unix.Fstatat(dir, d.name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
				if errors.Is(err, unix.ENOENT) {
					continue
				}
				return err
			}
			switch {
			case st.Dev != e.dev:
				return fmt.Errorf("%s is a mount point", d.name)
			case st.Ino == e.trashIno && dir != e.trash:
				continue
			case st.Mode&unix.S_IFMT == unix.S_IFDIR:
				e.next++
				err = unix.Renameat(dir, d.name, e.trash, strconv.Itoa(e.next))
			default:
				err = unix.Unlinkat(dir, d.name, 0)
			}
			if err != nil && !errors.Is(err, unix.ENOENT) {
				return fmt.Errorf("%s: %w", d.name, err)
			}
		}
	}
}

// drain empties and removes the trash's directories until none is left.
func (e *emptier) drain() error {
	for {
		if _, err := unix.Seek(e.trash, 0, 0); err != nil {
			return err
		}
		list, err := readDir(e.trash, e.names)
		if err != nil || len(list) == 0 {
			return err
		}
		for _, d := range list {
			fd, _, err := openDir(e.trash, d.name, e.dev)
			if errors.Is(err, unix.ENOENT) {
				continue
			}
			if err != nil {
				return err
			}
			err = e.flatten(fd)
			unix.Close(fd)
			if err != nil {
				return err
			}
			if err := unix.Unlinkat(e.trash, d.name, unix.AT_REMOVEDIR); err != nil && !errors.Is(err, unix.ENOENT) {
				return err
			}
		}
	}
}
