package box

import (
	"fmt"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/mini-isolate/mini-isolate/runtime/hostfile"
)

// isSpecial reports entries other than regular files and directories.
func isSpecial(st *unix.Stat_t) bool {
	t := st.Mode & unix.S_IFMT
	return t != unix.S_IFREG && t != unix.S_IFDIR
}

// chownTree gives everything below and including dir to uid:gid and, unless
// keepSpecial, deletes symlinks, fifos, sockets and device nodes: isolate
// does both before and after every run. dir itself gets mode 0700 back,
// whatever the program made of it. The walk follows no link and holds a
// bounded number of directories open at any depth (hostfile.Walk).
//
// A file with more than one name keeps its owner unless that is the box's
// user (boxUID): a hard link to /etc/shadow, which a program can make where
// fs.protected_hardlinks is off, must not hand over the file itself.
func chownTree(dir string, uid, gid int, keepSpecial bool, boxUID int) error {
	err := hostfile.Walk(dir, func(parent int, name string, st *unix.Stat_t) error {
		if !keepSpecial && isSpecial(st) {
			return unix.Unlinkat(parent, name, 0)
		}
		// A link stays the program's: given to root, in root's box
		// directory, it would look like one root made, which root's
		// writes trust (hostfile.Write).
		if st.Mode&unix.S_IFMT == unix.S_IFLNK || (int(st.Uid) == uid && int(st.Gid) == gid) {
			return nil
		}
		if st.Mode&unix.S_IFMT != unix.S_IFDIR && st.Nlink > 1 && int(st.Uid) != boxUID {
			return nil
		}
		return unix.Fchownat(parent, name, uid, gid, unix.AT_SYMLINK_NOFOLLOW)
	})
	if err != nil {
		return fmt.Errorf("box %s: %w", dir, err)
	}
	if err := unix.Fchownat(unix.AT_FDCWD, dir, uid, gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("box %s: %w", dir, err)
	}
	// Not through a path that could be a link: dir was just walked as a
	// directory, and nothing runs in the box now.
	if err := unix.Fchmodat(unix.AT_FDCWD, dir, 0o700, 0); err != nil {
		return fmt.Errorf("box %s: %w", dir, err)
	}
	return nil
}

// removeTree deletes dir and everything in it with the same care, in
// bounded memory and fds at any depth (hostfile.RemoveAll).
func removeTree(dir string) error {
	return hostfile.RemoveAll(dir)
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
