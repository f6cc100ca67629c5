package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mini-isolate/mini-isolate/box"
)

// managerBin is the manager's binary installed beside this one, held open
// so that what was checked is what runs.
type managerBin struct {
	fd   int    // O_PATH
	path string // where it was found
}

// exe is a path that runs the file held open, whatever path now names.
func (b *managerBin) exe() string { return fmt.Sprintf("/proc/self/fd/%d", b.fd) }

func (b *managerBin) close() { unix.Close(b.fd) }

// findManager opens the manager's binary beside this one if root may run
// it: a regular, executable file of this build (the same stamp), which
// root owns and nobody else can write, in a directory likewise.
func findManager() (*managerBin, error) {
	if box.BuildStamp == "" {
		return nil, errors.New("this build has no stamp to match a manager with (make build sets it)")
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	dir := filepath.Dir(self)
	path := filepath.Join(dir, box.ManagerBinary)
	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		return nil, &os.PathError{Op: "stat", Path: dir, Err: err}
	}
	if err := rootOnly(dir, &st); err != nil {
		return nil, err
	}
	fd, err := unix.Open(path, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	b := &managerBin{fd: fd, path: path}
	if err := b.check(); err != nil {
		b.close()
		return nil, err
	}
	return b, nil
}

// check vets the file held open, then asks it for its build stamp.
func (b *managerBin) check() error {
	var st unix.Stat_t
	if err := unix.Fstat(b.fd, &st); err != nil {
		return &os.PathError{Op: "stat", Path: b.path, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG || st.Mode&0o111 == 0 {
		return fmt.Errorf("%s: not an executable file", b.path)
	}
	if err := rootOnly(b.path, &st); err != nil {
		return err
	}
	// A manager that does not answer is not run.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, b.exe(), "--version")
	cmd.Args[0] = b.path
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
	cmd.Dir = "/"
	// Nor one whose stdout outlives it.
	cmd.WaitDelay = time.Second
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("%s --version: %w", b.path, err)
	}
	for _, line := range bytes.Split(out, []byte("\n")) {
		if stamp, ok := strings.CutPrefix(string(line), "build: "); ok && stamp == box.BuildStamp {
			return nil
		}
	}
	return fmt.Errorf("%s is of another build than this one (%s): install both from one build", b.path, box.BuildStamp)
}

// rootOnly refuses a file or directory that others than root could change.
func rootOnly(path string, st *unix.Stat_t) error {
	if st.Uid != 0 || st.Mode&0o022 != 0 {
		return fmt.Errorf("%s: not owned by root, or writable by others than root", path)
	}
	return nil
}
