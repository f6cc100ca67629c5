package runtime

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
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

// followRootfs points a running container whose root directory is gone
// from the path it was created at to its init's root, and reloads it.
// libcontainer starts an exec'd process in that directory, and a box
// container's directory moves when a box adopts it or the reaper recycles
// it; /proc/PID/root names the same directory wherever it is.
func (r *Runtime) followRootfs(c *libcontainer.Container) (*libcontainer.Container, error) {
	rootfs := c.Config().Rootfs
	if _, err := os.Stat(rootfs); !errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	st, err := c.State()
	if err != nil {
		return nil, err
	}
	pidfd, err := proc.Open(st.InitProcessPid, st.InitProcessStartTime)
	if err != nil {
		return nil, fmt.Errorf("%s: its root directory %s is gone, and its init: %w", c.ID(), rootfs, err)
	}
	defer unix.Close(pidfd)
	root := fmt.Sprintf("/proc/%d/root", st.InitProcessPid)
	if err := setStateRootfs(r.stateDir(c.ID()), root); err != nil {
		return nil, fmt.Errorf("%s: its root directory %s moved: %w", c.ID(), rootfs, err)
	}
	return r.load(c.ID())
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
