package runtime

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/opencontainers/runc/libcontainer/configs"
	"github.com/opencontainers/runtime-spec/specs-go"
	"github.com/sirupsen/logrus"
)

// sidecarName is our own state file, next to libcontainer's state.json.
// libcontainer's Destroy removes the directory, and the file with it.
const sidecarName = "mini-isolate.json"

// sidecar is what mini-isolate keeps about a container beyond libcontainer's
// state.
type sidecar struct {
	// Hooks that we run ourselves rather than libcontainer: poststart after
	// the user process was started (libcontainer runs it during create) and
	// poststop without stopping at the first failure, both as the spec says.
	Hooks configs.Hooks `json:"hooks,omitempty"`
	// Process is config.json's process as it was at create: exec starts
	// from it, and config.json may have changed since.
	Process *specs.Process `json:"process,omitempty"`
}

func (r *Runtime) writeSidecar(id string, s *sidecar) error {
	data, err := json.Marshal(s)
	if err != nil {
		return err
	}
	dir := r.stateDir(id)
	tmp, err := os.CreateTemp(dir, "."+sidecarName+"-*")
	if err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write state: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	return os.Rename(tmp.Name(), filepath.Join(dir, sidecarName))
}

func (r *Runtime) readSidecar(id string) (*sidecar, error) {
	s := &sidecar{}
	data, err := os.ReadFile(filepath.Join(r.stateDir(id), sidecarName))
	if errors.Is(err, os.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(data, s); err != nil {
		return nil, fmt.Errorf("read state of %s: %w", id, err)
	}
	return s, nil
}

// takeHooks moves the hooks we run ourselves out of libcontainer's config.
func takeHooks(cfg *configs.Config) configs.Hooks {
	own := configs.Hooks{}
	for _, name := range []configs.HookName{configs.Poststart, configs.Poststop} {
		if len(cfg.Hooks[name]) > 0 {
			own[name] = cfg.Hooks[name]
			delete(cfg.Hooks, name)
		}
	}
	return own
}

// runHooksWarn runs every hook in the list. A failing hook is logged and the
// rest still run: the spec makes poststart and poststop failures warnings.
func runHooksWarn(hooks configs.Hooks, name configs.HookName, state *specs.State) {
	for i, h := range hooks[name] {
		if err := h.Run(state); err != nil {
			logrus.Warnf("%s hook #%d: %v", name, i, err)
		}
	}
}
