package runtime

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runtime-spec/specs-go"
	"github.com/sirupsen/logrus"

	"github.com/mini-isolate/mini-isolate/specconv"
)

// ExecOpts configures Exec.
type ExecOpts struct {
	// Process is what to run; see BaseProcess for building one from args.
	Process       *specs.Process
	Detach        bool
	PidFile       string
	ConsoleSocket string
	PidfdSocket   string
	PreserveFDs   int
	Stdio         Stdio
	// IgnorePaused allows exec into a frozen container.
	IgnorePaused bool
	// SubCgroups run the process in existing sub-cgroups, keyed by
	// controller ("" for all, or for cgroup v2).
	SubCgroups map[string]string
}

// BaseProcess returns the container's own process as it was at create, for
// `exec ID CMD...` to adjust: same user, env, cwd and capabilities.
func (r *Runtime) BaseProcess(id string) (*specs.Process, error) {
	if _, err := r.load(id); err != nil {
		return nil, err
	}
	sc, err := r.readSidecar(id)
	if err != nil {
		return nil, err
	}
	if sc.Process == nil {
		return nil, fmt.Errorf("exec %s: the container has no recorded process; use --process", id)
	}
	p := *sc.Process
	return &p, nil
}

// Exec runs an extra process in a running container. Detached, it returns
// once the process runs; otherwise it relays signals and stdio and returns
// the exit status.
func (r *Runtime) Exec(ctx context.Context, id string, o ExecOpts) (int, error) {
	c, err := r.load(id)
	if err != nil {
		return -1, err
	}
	if c, err = r.followRootfs(c); err != nil {
		return -1, err
	}
	if err := ctx.Err(); err != nil {
		return -1, err
	}
	status, err := c.Status()
	if err != nil {
		return -1, err
	}
	switch {
	case status == libcontainer.Stopped:
		return -1, errors.New("cannot exec in a stopped container")
	case status == libcontainer.Paused && !o.IgnorePaused:
		return -1, errors.New("cannot exec in a paused container (use --ignore-paused to override)")
	}
	if o.Process == nil {
		return -1, errors.New("exec: no process given")
	}
	if err := specconv.ValidateProcess(o.Process, "process"); err != nil {
		return -1, err
	}
	if o.PidFile != "" {
		if o.PidFile, err = filepath.Abs(o.PidFile); err != nil {
			return -1, fmt.Errorf("pid file: %w", err)
		}
	}
	process, err := specconv.Process(o.Process)
	if err != nil {
		return -1, err
	}
	process.LogLevel = strconv.Itoa(int(logrus.GetLevel()))
	process.SubCgroupPaths = o.SubCgroups

	var relay *signalRelay
	if !o.Detach {
		relay = newSignalRelay()
		defer relay.stop()
	}
	if err := preserveFDs(process, o.PreserveFDs); err != nil {
		return -1, err
	}
	if o.PidfdSocket != "" {
		closeSock, err := dialPidfdSocket(process, o.PidfdSocket)
		if err != nil {
			return -1, err
		}
		defer closeSock()
	}
	cfg := c.Config()
	stdio, err := setupStdio(process, &cfg, o.Stdio, o.Process.Terminal, o.Detach, o.ConsoleSocket)
	if err != nil {
		return -1, err
	}
	defer stdio.close()
	if err := whollyRoot(func() error { return c.Run(process) }); err != nil {
		return -1, err
	}
	if err := stdio.started(); err != nil {
		killProcess(process)
		return -1, err
	}
	pid, err := process.Pid()
	if err != nil {
		killProcess(process)
		return -1, err
	}
	if err := writePidFile(o.PidFile, pid); err != nil {
		killProcess(process)
		return -1, err
	}
	if o.Detach {
		return 0, nil
	}
	return relay.wait(process, stdio)
}

// ParseSubCgroups turns --cgroup values ("[controller[,controller]:]path")
// into libcontainer's sub-cgroup map.
func ParseSubCgroups(values []string) (map[string]string, error) {
	if len(values) == 0 {
		return nil, nil
	}
	m := map[string]string{}
	for _, v := range values {
		ctrls, path, found := strings.Cut(v, ":")
		if !found {
			if len(values) > 1 {
				return nil, fmt.Errorf("--cgroup %q: a path without controllers must be the only --cgroup", v)
			}
			m[""] = v
			continue
		}
		for _, ctrl := range strings.Split(ctrls, ",") {
			if ctrl == "" {
				return nil, fmt.Errorf("--cgroup %q: empty controller name", v)
			}
			if _, dup := m[ctrl]; dup {
				return nil, fmt.Errorf("--cgroup: controller %q given twice", ctrl)
			}
			m[ctrl] = path
		}
	}
	return m, nil
}
