// Package runtime implements the OCI container lifecycle (create, start,
// kill, delete, exec and the rest) on top of runc's libcontainer, with the
// error wording and on-disk behaviour that orchestrators expect of runc.
package runtime

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/opencontainers/runc/libcontainer"
)

// DefaultRoot is where container state lives unless --root says otherwise.
const DefaultRoot = "/run/mini-isolate"

// Errors callers match on. Their text is runc's, because containerd, Docker
// and Podman map it to exit codes and "already stopped" handling.
var (
	ErrNotExist   = libcontainer.ErrNotExist
	ErrNotRunning = libcontainer.ErrNotRunning
	ErrExist      = libcontainer.ErrExist
	ErrEmptyID    = errors.New("container id cannot be empty")
)

// Runtime manages the containers whose state lives under Root.
type Runtime struct {
	// Root holds one state directory per container.
	Root string
	// SystemdCgroup makes cgroupsPath "slice:prefix:name" and asks systemd
	// to create the cgroups.
	SystemdCgroup bool
	// SupervisorArgs are the global flags (logging) a detached supervisor
	// is started with.
	SupervisorArgs []string
}

// New returns a Runtime rooted at root (DefaultRoot when empty). The root
// directory is created on first use, not here, so read-only commands work on
// a machine where nothing was ever created.
func New(root string, systemdCgroup bool) (*Runtime, error) {
	if root == "" {
		root = DefaultRoot
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("root %s: %w", root, err)
	}
	if abs == "/" {
		return nil, errors.New("--root must not be /")
	}
	return &Runtime{Root: abs, SystemdCgroup: systemdCgroup}, nil
}

// load opens an existing container.
func (r *Runtime) load(id string) (*libcontainer.Container, error) {
	if id == "" {
		return nil, ErrEmptyID
	}
	c, err := libcontainer.Load(r.Root, id)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// stateDir is where libcontainer keeps one container's state.
func (r *Runtime) stateDir(id string) string {
	return filepath.Join(r.Root, id)
}

// ensureRoot creates the state root with the same mode runc uses.
func (r *Runtime) ensureRoot() error {
	if err := os.MkdirAll(r.Root, 0o711); err != nil {
		return fmt.Errorf("create state root: %w", err)
	}
	return nil
}
