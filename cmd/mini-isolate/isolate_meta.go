package main

import (
	"fmt"
	"os"
	goruntime "runtime"

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
// metafile".
func openMeta(path string, setuid bool) (*metaSink, error) {
	m := &metaSink{path: path}
	if path == "" || path == "-" || !setuid {
		return m, nil
	}
	f, err := openAsCaller(path)
	if err != nil {
		return nil, fmt.Errorf("failed to open metafile '%s': %w", path, err)
	}
	m.f = f
	return m, nil
}

// write puts the report in the sink.
func (m *metaSink) write(r *meta.Result, cg, extended bool) error {
	data := box.IsolateMeta(r, cg, extended)
	switch {
	case m == nil || m.path == "":
		return nil
	case m.path == "-":
		_, err := os.Stdout.Write(data)
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

func isNotRegular(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && !fi.Mode().IsRegular()
}

// openAsCaller opens path for writing with the filesystem uid and gid of
// the real user, on a thread of its own: setfsuid changes one thread.
func openAsCaller(path string) (*os.File, error) {
	goruntime.LockOSThread()
	defer goruntime.UnlockOSThread()
	uid, gid := os.Getuid(), os.Getgid()
	unix.Setfsgid(gid)
	unix.Setfsuid(uid)
	fd, err := unix.Open(path, unix.O_WRONLY|unix.O_CREAT|unix.O_NONBLOCK|unix.O_CLOEXEC|unix.O_NOCTTY, 0o644)
	// Back to root's before anything else runs on this thread.
	unix.Setfsuid(0)
	unix.Setfsgid(0)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), path), nil
}

// setuidCaller says whether this process is a setuid-root binary run by
// another user: then only isolate's model holds (docs/install.md).
func setuidCaller() bool {
	return os.Getuid() != 0 && os.Geteuid() == 0
}

// setuidMain runs a setuid invocation: the isolate front end and nothing
// else, with the system configuration only.
func setuidMain(args []string) int {
	argv := args[1:]
	if !calledAsIsolate(args[0]) {
		if len(argv) == 0 || argv[0] != "isolate" {
			fmt.Fprintln(os.Stderr, "mini-isolate: only the isolate front end (isolate ... or mini-isolate isolate ...) is available to a user other than root")
			return 1
		}
		argv = argv[1:]
	}
	return isolateMain(argv, "", true)
}
