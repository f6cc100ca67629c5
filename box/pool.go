package box

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"

	"github.com/mini-isolate/mini-isolate/policy"
	"github.com/mini-isolate/mini-isolate/runtime"
	"github.com/mini-isolate/mini-isolate/runtime/hostfile"
	"github.com/mini-isolate/mini-isolate/runtime/supervise"
)

// Pool lends spare box containers, made before anyone asked for them, to
// --init: a box then starts in the time it takes to rename a directory.
type Pool interface {
	// Take returns a spare that is now the caller's, or nil when none is
	// ready.
	Take() *Spare
}

// Reaper tears box containers down after --cleanup (or a re-init), off the
// caller's time.
type Reaper interface {
	// Reap destroys the container and removes dir, which no box names any
	// more.
	Reap(container, dir string)
}

// Spare is a box container waiting for a box: a directory laid out as a
// box's, under <box_root>/.spares, and the container running on it,
// either made for no box yet or recycled (Recycle).
type Spare struct {
	Container string
	Dir       string
	// Uses counts the boxes the container served: 0 for a new one.
	Uses int
}

// Directories under box_root that are not boxes: spares waiting for a box,
// and boxes' directories waiting for the reaper. Names starting with a dot
// are never box ids.
const (
	sparesDir = ".spares"
	trashDir  = ".trash"
)

// containerPrefix names the containers made while a pool or a reaper is
// in use: a box's container must not share its name with one still being
// torn down.
const containerPrefix = "sbx-"

// newContainerName returns a container id no other box container has.
func newContainerName() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return containerPrefix + hex.EncodeToString(b[:])
}

// suffixed is a directory name for container that no other directory
// has: the name, a dot (Leftovers cuts there) and a random suffix.
func suffixed(container string) string {
	var nonce [4]byte
	_, _ = rand.Read(nonce[:])
	return container + "." + hex.EncodeToString(nonce[:])
}

// MakeSpare makes a fresh spare: the directories of a box and a container
// with the default directory rules, not yet any box's.
func (m *Manager) MakeSpare(ctx context.Context) (*Spare, error) {
	name := newContainerName()
	dir := filepath.Join(m.Config.BoxRoot, sparesDir, name)
	if err := os.MkdirAll(filepath.Dir(dir), 0o700); err != nil {
		return nil, fmt.Errorf("spare: %w", err)
	}
	// The spare's box belongs to root until a box adopts it.
	b := &Box{ID: -1, Dir: dir, UID: 0, GID: 0, Container: name}
	if err := m.makeDirs(b, 0, 0); err != nil {
		return nil, fmt.Errorf("spare: %w", err)
	}
	if _, err := m.container(ctx, b, nil, false); err != nil {
		m.discard(ctx, name, dir)
		return nil, fmt.Errorf("spare: %w", err)
	}
	return &Spare{Container: name, Dir: dir}, nil
}

// DiscardSpare destroys a spare that no box will adopt. Its directory may
// be gone, torn down with the spare by another manager's sweep or removed
// by hand; its container, if still there, goes all the same.
func (m *Manager) DiscardSpare(ctx context.Context, s *Spare) {
	dir := s.Dir
	if _, err := os.Lstat(dir); errors.Is(err, os.ErrNotExist) {
		dir = ""
	}
	m.discard(ctx, s.Container, dir)
}

func (m *Manager) discard(ctx context.Context, container, dir string) {
	if err := m.Reap(ctx, container, dir); err != nil {
		logrus.Warnf("discard %s: %v", container, err)
	}
}

// adopt makes spare s box b's: its directory moves to b's, its box
// directory becomes the caller's, and its container takes b's host name
// and is recorded for b's default configuration.
func (m *Manager) adopt(ctx context.Context, b *Box, s *Spare) error {
	if err := os.Rename(s.Dir, b.Dir); err != nil {
		return fmt.Errorf("adopt spare: %w", err)
	}
	b.Container = s.Container
	if err := os.Chown(b.sandboxDir(), m.CallerUID, m.CallerGID); err != nil {
		return fmt.Errorf("adopt spare: %w", err)
	}
	cur, err := readState(b)
	if err == nil && cur.Target == nil {
		err = errors.New("no container recorded")
	}
	if err != nil {
		return fmt.Errorf("adopt spare: %w", err)
	}
	if err := runtime.SetHostname(cur.Target.InitPid, cur.Target.InitStart, b.hostname()); err != nil {
		return fmt.Errorf("adopt spare: %w", err)
	}
	if cur.Key, err = m.containerKey(b, defaultRules(), false); err != nil {
		return err
	}
	cur.Uses++
	return writeState(b, cur)
}

// ErrNotReusable is Recycle's refusal of a container that is not to be
// reused as it is: another configuration, its uses spent, or its init
// gone. Its other failures are unexpected.
var ErrNotReusable = errors.New("not a reusable container")

// ErrUsesSpent is ErrNotReusable for a container that served MaxUses
// boxes: a refusal its pool can see coming.
var ErrUsesSpent = fmt.Errorf("%w: it served %d boxes", ErrNotReusable, MaxUses)

// MaxUses bounds how many boxes one recycled container serves before it
// is torn down and replaced by a fresh one.
const MaxUses = 100

// Recycle makes a retired box's container, whose directory was moved to
// dir, a spare again, and returns it; or fails, and the caller tears it
// down. It is only done for a container that still has the default
// configuration, runs its judge init alone, and has served fewer than
// MaxUses boxes. The box directory and the private directories are
// emptied (without following anything the program left, hostfile.Empty)
// and given back to root: with the clearing every run already does (run
// cgroup killed, /tmp, /dev/shm, POSIX queues and System V IPC emptied),
// nothing of the last box reaches the next.
func (m *Manager) Recycle(ctx context.Context, container, dir string) (spare *Spare, now string, err error) {
	b := &Box{ID: -1, Dir: dir, Container: container}
	cur, err := readState(b)
	switch {
	case err != nil:
		return nil, dir, fmt.Errorf("recycle %s: %w", container, err)
	case cur.Uses >= MaxUses:
		return nil, dir, fmt.Errorf("recycle %s: %w", container, ErrUsesSpent)
	case !cur.Spareable || cur.Target == nil || !cur.Target.Alive():
		return nil, dir, fmt.Errorf("recycle %s: %w", container, ErrNotReusable)
	}
	if err := m.onlyInit(container, cur.Target); err != nil {
		return nil, dir, fmt.Errorf("recycle %s: %w", container, err)
	}
	// A name of its own, not the container's: a new manager waiting to
	// sweep what it found at its start must not find a container that
	// was adopted and has come back since at the same path.
	to := filepath.Join(m.Config.BoxRoot, sparesDir, suffixed(container))
	if err := os.MkdirAll(filepath.Dir(to), 0o700); err != nil {
		return nil, dir, err
	}
	if err := os.Rename(dir, to); err != nil {
		return nil, dir, fmt.Errorf("recycle %s: %w", container, err)
	}
	b.Dir = to
	if err := m.scrub(b); err != nil {
		return nil, to, fmt.Errorf("recycle %s: %w", container, err)
	}
	// The host name stays the last box's until a box adopts the spare
	// and sets its own: no program runs in between.
	return &Spare{Container: container, Dir: to, Uses: cur.Uses}, to, nil
}

// onlyInit checks that the container's init, alive, is the only process
// left in it: nothing of the last box's runs survives. The init is one
// thread, so a count of one task says so; else the processes are listed.
func (m *Manager) onlyInit(container string, t *supervise.Target) error {
	if n, err := t.Tasks(); err == nil && n == 1 {
		return nil
	}
	pids, err := t.Processes()
	if err != nil {
		return fmt.Errorf("processes of %s: %w", container, err)
	}
	if len(pids) != 1 || pids[0] != t.InitPid {
		return fmt.Errorf("%d processes besides the init", len(pids)-1)
	}
	return nil
}

// scrub empties a box directory and its private directories and gives
// them to root.
func (m *Manager) scrub(b *Box) error {
	dirs := []string{b.sandboxDir()}
	entries, err := os.ReadDir(filepath.Join(b.Dir, "tmp"))
	if err != nil {
		return err
	}
	for _, e := range entries {
		if !e.IsDir() {
			return fmt.Errorf("unexpected %s in the box's tmp", e.Name())
		}
		dirs = append(dirs, filepath.Join(b.Dir, "tmp", e.Name()))
	}
	for _, d := range dirs {
		if err := hostfile.Empty(d); err != nil {
			return err
		}
		if err := unix.Fchownat(unix.AT_FDCWD, d, 0, 0, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return err
		}
		if err := unix.Fchmodat(unix.AT_FDCWD, d, 0o700, 0); err != nil {
			return err
		}
	}
	return nil
}

// retire takes box b's directory out of the box root and hands it, with
// its container, to the reaper; without one, they are destroyed now.
func (m *Manager) retire(ctx context.Context, b *Box) error {
	if _, err := os.Lstat(b.Dir); errors.Is(err, os.ErrNotExist) {
		// Nothing on disk; a container may still run from an --init that
		// died before adopting or making it. Through the reaper, when
		// there is one: a new manager's sweep may be tearing the same
		// spare down, and the reaper takes one at a time.
		if m.Reaper != nil {
			m.Reaper.Reap(b.Container, "")
			return nil
		}
		return m.Reap(ctx, b.Container, "")
	}
	if m.Reaper == nil {
		return m.Reap(ctx, b.Container, b.Dir)
	}
	trash := filepath.Join(m.Config.BoxRoot, trashDir)
	if err := os.MkdirAll(trash, 0o700); err != nil {
		return fmt.Errorf("remove box: %w", err)
	}
	dst := filepath.Join(trash, suffixed(b.Container))
	if err := os.Rename(b.Dir, dst); err != nil {
		return fmt.Errorf("remove box: %w", err)
	}
	m.Reaper.Reap(b.Container, dst)
	return nil
}

// Reap destroys a box container and removes its directory ("" for none).
// A container this process made has its init as a child: it is reaped
// too, so that a long-lived manager does not collect zombies. Its pid
// comes from the directory's state, or the runtime's without one.
func (m *Manager) Reap(ctx context.Context, container, dir string) error {
	pid := 0
	if dir != "" {
		if cur, err := readState(&Box{Dir: dir}); err == nil && cur.Target != nil {
			pid = cur.Target.InitPid
		}
	} else if st, err := m.Runtime.State(container); err == nil {
		pid = st.Pid
	}
	if err := m.Runtime.Delete(ctx, container, true); err != nil {
		return fmt.Errorf("delete box container: %w", err)
	}
	if pid > 0 {
		var ws unix.WaitStatus
		_, _ = unix.Wait4(pid, &ws, unix.WNOHANG, nil)
	}
	if dir == "" {
		return nil
	}
	if err := removeTree(dir); err != nil {
		return fmt.Errorf("remove box: %w", err)
	}
	return nil
}

// Leftover is a container and directory that a pool or reaper left behind
// when it died: a spare no box adopted, or a retired box not yet torn
// down.
type Leftover struct {
	Container, Dir string
}

// Leftovers lists the spares and retired boxes under the box root, for a
// new pool to tear down.
func (m *Manager) Leftovers() ([]Leftover, error) {
	var out []Leftover
	for _, sub := range []string{sparesDir, trashDir} {
		entries, err := os.ReadDir(filepath.Join(m.Config.BoxRoot, sub))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			name, _, _ := strings.Cut(e.Name(), ".")
			if !strings.HasPrefix(name, containerPrefix) {
				continue
			}
			out = append(out, Leftover{Container: name, Dir: filepath.Join(m.Config.BoxRoot, sub, e.Name())})
		}
	}
	return out, nil
}

// defaultRules are the directory rules of a box container made at --init.
func defaultRules() []policy.DirRule {
	return withProc(policy.DefaultDirRules())
}

// PutFile writes data to rel, a path relative to box id's box directory,
// as the box's owner: the directories on the way are resolved without
// following any link a program made (hostfile.Write).
func (m *Manager) PutFile(id int, rel string, data []byte, mode os.FileMode) error {
	path, owner, unlock, err := m.boxFile(id, rel)
	if err != nil {
		return err
	}
	defer unlock()
	if err := hostfile.Write(path, data, mode&0o777); err != nil {
		return fmt.Errorf("put %s: %w", rel, err)
	}
	if err := unix.Fchownat(unix.AT_FDCWD, path, owner.uid, owner.gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("put %s: %w", rel, err)
	}
	return nil
}

// GetFile reads rel, a path relative to box id's box directory, safely
// (hostfile.ReadFile) and at most max bytes.
func (m *Manager) GetFile(id int, rel string, max int64) ([]byte, error) {
	path, _, unlock, err := m.boxFile(id, rel)
	if err != nil {
		return nil, err
	}
	defer unlock()
	data, err := hostfile.ReadFile(path, max)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", rel, err)
	}
	return data, nil
}

type owner struct{ uid, gid int }

// boxFile locks box id for the caller and returns the host path of rel.
func (m *Manager) boxFile(id int, rel string) (string, owner, func(), error) {
	b, err := m.Box(id)
	if err != nil {
		return "", owner{}, nil, err
	}
	clean := filepath.Clean("/" + rel)
	if rel == "" || clean == "/" || filepath.IsAbs(rel) || slices.Contains(strings.Split(rel, "/"), "..") {
		return "", owner{}, nil, fmt.Errorf("path %q: want a file in the box, relative to it", rel)
	}
	lock, rec, err := m.lockForRun(id, &RunOptions{Cg: false})
	if err != nil && !errors.Is(err, errCgMode) {
		return "", owner{}, nil, err
	}
	if err != nil {
		// Files do not care about the control group mode.
		lock, rec, err = m.lockForRun(id, &RunOptions{Cg: true})
		if err != nil {
			return "", owner{}, nil, err
		}
	}
	return filepath.Join(b.sandboxDir(), clean), owner{rec.Owner, m.CallerGID}, lock.close, nil
}
