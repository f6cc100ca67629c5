package runtime

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/opencontainers/cgroups"
	"github.com/opencontainers/runc/libcontainer/configs"
	"github.com/opencontainers/runtime-spec/specs-go"

	"github.com/mini-isolate/mini-isolate/runtime/hostfile"
	"github.com/mini-isolate/mini-isolate/runtime/judged"
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
	Poststart []specs.Hook `json:"poststart,omitempty"`
	Poststop  []specs.Hook `json:"poststop,omitempty"`
	// Process is config.json's process as it was at create: exec starts
	// from it, and config.json may have changed since.
	Process *specs.Process `json:"process,omitempty"`
	// Judge is set for a judged container.
	Judge *judged.State `json:"judge,omitempty"`
	// Resources are the container's cgroup settings after the last
	// update (before it, libcontainer's config holds them): update writes
	// only what changes, and takes what goes with it from here.
	Resources *cgroups.Resources `json:"resources,omitempty"`
	// CgroupPaths are where the container's cgroups will be, recorded
	// before they exist: when create dies before libcontainer saved its
	// state, delete --force still finds what to remove.
	CgroupPaths map[string]string `json:"cgroupPaths,omitempty"`
}

func (r *Runtime) writeSidecar(id string, s *sidecar) error {
	data, err := json.Marshal(s)
	if err != nil {
		return err
	}
	if err := hostfile.Write(filepath.Join(r.stateDir(id), sidecarName), data, 0o600); err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	return nil
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

// takeHooks has the hooks libcontainer runs in this process (prestart,
// createRuntime) run through runHook, and takes poststart and poststop out
// of its hands altogether.
func takeHooks(cfg *configs.Config, h *specs.Hooks, sc *sidecar) error {
	if h == nil || cfg.Hooks == nil {
		return nil
	}
	delete(cfg.Hooks, configs.Prestart)
	delete(cfg.Hooks, configs.CreateRuntime)
	delete(cfg.Hooks, configs.Poststart)
	delete(cfg.Hooks, configs.Poststop)
	//lint:ignore SA1019 runtimes must still run prestart hooks.
	for name, hooks := range map[configs.HookName][]specs.Hook{configs.Prestart: h.Prestart, configs.CreateRuntime: h.CreateRuntime} {
		if len(hooks) == 0 {
			continue
		}
		list, err := hostHooks(hooks)
		if err != nil {
			return err
		}
		cfg.Hooks[name] = list
	}
	sc.Poststart, sc.Poststop = h.Poststart, h.Poststop
	return nil
}
