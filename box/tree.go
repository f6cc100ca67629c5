package box

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// walkBox visits every entry below dir through file descriptors, never
// following a symlink and never crossing into another filesystem, so a
// program that plants symlinks or mounts in its box cannot redirect what
// root does to the box afterwards. visit gets the parent directory's fd,
// the entry's name and its lstat; it may remove the entry.
func walkBox(dir string, visit func(parent int, name string, st *unix.Stat_t) error) error {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", dir, err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return err
	}
	return walkFd(fd, st.Dev, dir, visit)
}

func walkFd(fd int, dev uint64, path string, visit func(int, string, *unix.Stat_t) error) error {
	// The directory's own fd is duplicated for reading: os.File owns it.
	dup, err := unix.Dup(fd)
	if err != nil {
		return err
	}
	d := os.NewFile(uintptr(dup), path)
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	for _, name := range names {
		var st unix.Stat_t
		if err := unix.Fstatat(fd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			if errors.Is(err, unix.ENOENT) {
				continue
			}
			return err
		}
		if st.Dev != dev {
			return fmt.Errorf("unexpected mount point %s/%s", path, name)
		}
		if st.Mode&unix.S_IFMT == unix.S_IFDIR {
			sub, err := unix.Openat(fd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
			if err != nil {
				return fmt.Errorf("open %s/%s: %w", path, name, err)
			}
			err = walkFd(sub, dev, path+"/"+name, visit)
			unix.Close(sub)
			if err != nil {
				return err
			}
		}
		if err := visit(fd, name, &st); err != nil {
			return err
		}
	}
	return nil
}

// isSpecial reports entries other than regular files and directories.
func isSpecial(st *unix.Stat_t) bool {
	t := st.Mode & unix.S_IFMT
	return t != unix.S_IFREG && t != unix.S_IFDIR
}

// chownTree gives everything below and including dir to uid:gid and, unless
// keepSpecial, deletes symlinks, fifos, sockets and device nodes: isolate
// does both before and after every run.
func chownTree(dir string, uid, gid int, keepSpecial bool) error {
	err := walkBox(dir, func(parent int, name string, st *unix.Stat_t) error {
		if !keepSpecial && isSpecial(st) {
			return unix.Unlinkat(parent, name, 0)
		}
		if int(st.Uid) == uid && int(st.Gid) == gid {
			return nil
		}
		return unix.Fchownat(parent, name, uid, gid, unix.AT_SYMLINK_NOFOLLOW)
	})
	if err != nil {
		return fmt.Errorf("box %s: %w", dir, err)
	}
	if err := unix.Lchown(dir, uid, gid); err != nil {
		return fmt.Errorf("box %s: %w", dir, err)
	}
	return nil
}

// removeTree deletes dir and everything in it with the same care.
func removeTree(dir string) error {
	err := walkBox(dir, func(parent int, name string, st *unix.Stat_t) error {
		flags := 0
		if st.Mode&unix.S_IFMT == unix.S_IFDIR {
			flags = unix.AT_REMOVEDIR
		}
		return unix.Unlinkat(parent, name, flags)
	})
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := unix.Rmdir(dir); err != nil && !errors.Is(err, unix.ENOENT) {
		return err
	}
	return nil
}

// checkRootOnly fails unless dir and every directory above it belong to
// root and only root can change them (or, like /tmp, they are sticky): the
// box and lock roots are where root later creates, chowns and removes
// trees, which another user must not be able to swap for a symlink.
func checkRootOnly(dir string) error {
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return err
	}
	for p := real; ; p = filepath.Dir(p) {
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		if st.Uid != 0 {
			return fmt.Errorf("%s: %s belongs to uid %d; it must belong to root", dir, p, st.Uid)
		}
		if st.Mode&0o022 != 0 && st.Mode&unix.S_ISVTX == 0 {
			return fmt.Errorf("%s: %s is writable by others (mode %#o); only root may write it", dir, p, st.Mode&0o7777)
		}
		if p == "/" {
			return nil
		}
	}
}
