package box

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mini-isolate/mini-isolate/runtime/hostfile"
)

// ErrBusy is returned when another process holds the box and --wait was
// not given.
var ErrBusy = errors.New("this box is currently in use by another process")

// busyGrace is how long a busy box lock is tried again before it is
// reported busy, without --wait. A process that another goroutine of the
// manager forks holds a copy of every descriptor until it execs, a lock
// just released among them: in a Go program that forks and execs in a
// loop, 93 of 20,000 locks taken right after their release were busy.
const busyGrace = 100 * time.Millisecond

// record is what the lock file says about a box. A lock file that is
// empty or blank means there is no box; lock files are overwritten in
// place, never removed, so that a second process cannot lock a file that
// is about to disappear.
type record struct {
	Owner       int  `json:"owner"`
	Cg          bool `json:"cg"`
	Initialized bool `json:"initialized"`
	// Container is the box's container when it is not box-<id>: a spare
	// the box adopted, or one named uniquely for a reaper's sake.
	Container string `json:"container,omitempty"`
}

// boxLock is a box's lock file, held for the whole of an action.
type boxLock struct {
	f *os.File
}

func lockBox(root string, id int, create, wait bool) (*boxLock, error) {
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, fmt.Errorf("lock root: %w", err)
	}
	flags := os.O_RDWR
	if create {
		if err := checkRootOnly(root); err != nil {
			return nil, fmt.Errorf("lock root %w", err)
		}
		flags |= os.O_CREATE
	}
	f, err := hostfile.Open(filepath.Join(root, fmt.Sprint(id)), flags|unix.O_NOFOLLOW, 0o644)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("lock file: %w", err)
	}
	err = hostfile.Lock(f, wait)
	for deadline := time.Now().Add(busyGrace); errors.Is(err, hostfile.ErrLocked) && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
		err = hostfile.Lock(f, false)
	}
	if errors.Is(err, hostfile.ErrLocked) {
		f.Close()
		return nil, ErrBusy
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock box: %w", err)
	}
	return &boxLock{f: f}, nil
}

func (l *boxLock) read() (*record, error) {
	if l == nil {
		return nil, nil
	}
	data, err := io.ReadAll(io.NewSectionReader(l.f, 0, 1<<16))
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, nil
	}
	var r record
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("lock file has an incompatible format: %w", err)
	}
	return &r, nil
}

// write replaces the record (nil: no box) with padWrite.
func (l *boxLock) write(r *record) error {
	var data []byte
	if r != nil {
		var err error
		if data, err = json.Marshal(r); err != nil {
			return err
		}
	}
	return padWrite(int(l.f.Fd()), data)
}

func (l *boxLock) close() {
	if l != nil {
		l.f.Close()
	}
}
