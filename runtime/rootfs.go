package runtime

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/opencontainers/runc/libcontainer"
	"golang.org/x/sys/unix"

	"github.com/mini-isolate/mini-isolate/runtime/hostfile"
	"github.com/mini-isolate/mini-isolate/runtime/proc"
)

// stateFile is libcontainer's record of a container in its state
// directory.
const stateFile = "state.json"

// followRootfs points a running container whose root directory is no
// longer at the path it was made at to its init's root, and reloads it.
// libcontainer starts an exec'd process in that directory, and a box
// container's directory moves when a box adopts it or the reaper recycles
// it, and another box's may take its place; /proc/PID/root names the
// container's own wherever it is.
func (r *Runtime) followRootfs(c *libcontainer.Container) (*libcontainer.Container, error) {
	rootfs := c.Config().Rootfs
	st, err := c.State()
	if err != nil {
		return nil, err
	}
	pidfd, err := proc.Open(st.InitProcessPid, st.InitProcessStartTime)
	if err != nil {
		return c, nil // not running: Exec says so
	}
	defer unix.Close(pidfd)
	root := fmt.Sprintf("/proc/%d/root", st.InitProcessPid)
	if rootfs == root || sameDir(rootfs, root) {
		return c, nil
	}
	if err := setStateRootfs(r.stateDir(c.ID()), root); err != nil {
		return nil, fmt.Errorf("%s: its root directory moved from %s: %w", c.ID(), rootfs, err)
	}
	return r.load(c.ID())
}

// sameDir says whether two paths name one directory.
func sameDir(a, b string) bool {
	var sa, sb unix.Stat_t
	if unix.Stat(a, &sa) != nil || unix.Stat(b, &sb) != nil {
		return false
	}
	return sa.Dev == sb.Dev && sa.Ino == sb.Ino
}

// setStateRootfs rewrites the rootfs of the configuration recorded in a
// state directory, keeping every other field as it is.
func setStateRootfs(stateDir, rootfs string) error {
	path := filepath.Join(stateDir, stateFile)
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var state, config map[string]json.RawMessage
	if err := json.Unmarshal(data, &state); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := json.Unmarshal(state["config"], &config); err != nil {
		return fmt.Errorf("%s: config: %w", path, err)
	}
	if config == nil {
		return fmt.Errorf("%s: no config", path)
	}
	if config["rootfs"], err = json.Marshal(rootfs); err != nil {
		return err
	}
	if state["config"], err = json.Marshal(config); err != nil {
		return err
	}
	if data, err = json.Marshal(state); err != nil {
		return err
	}
	return hostfile.Write(path, data, 0o600)
}
