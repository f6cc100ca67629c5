package specconv

import (
	"fmt"
	"os"
	goruntime "runtime"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/configs"
	lcspecconv "github.com/opencontainers/runc/libcontainer/specconv"
	"github.com/opencontainers/runtime-spec/specs-go"
	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"
)

// Options are the runtime flags that shape a container's configuration.
type Options struct {
	// ID names the container; it is also the default cgroup name.
	ID            string
	SystemdCgroup bool
	NoPivotRoot   bool
	NoNewKeyring  bool
}

// Config converts a validated spec into libcontainer's configuration.
// libcontainer resolves relative paths and records the bundle from the
// working directory, so the conversion runs in bundle, as runc's does; but
// on a thread of its own, with a working directory of its own: a
// long-lived caller that creates containers concurrently (the box
// manager) must not have its directory changed under it, nor left in a
// bundle that is later removed.
func Config(spec *specs.Spec, bundle string, opts Options) (*configs.Config, error) {
	type result struct {
		cfg *configs.Config
		err error
	}
	done := make(chan result, 1)
	go func() {
		goruntime.LockOSThread() // never unlocked: the thread dies with us
		if err := unix.Unshare(unix.CLONE_FS); err != nil {
			done <- result{nil, fmt.Errorf("bundle: unshare the working directory: %w", err)}
			return
		}
		if err := unix.Chdir(bundle); err != nil {
			done <- result{nil, fmt.Errorf("bundle: %w", &os.PathError{Op: "chdir", Path: bundle, Err: err})}
			return
		}
		cfg, err := config(spec, opts)
		done <- result{cfg, err}
	}()
	r := <-done
	return r.cfg, r.err
}

func config(spec *specs.Spec, opts Options) (*configs.Config, error) {
	if spec.Linux != nil {
		for i := range spec.Linux.Devices {
			// major:minor mean nothing for a FIFO (the spec requires them
			// only for c, b and u), and libcontainer would compare them
			// with the 0:0 that mknod gives one.
			if d := &spec.Linux.Devices[i]; d.Type == "p" {
				d.Major, d.Minor = 0, 0
			}
		}
	}
	cfg, err := lcspecconv.CreateLibcontainerConfig(&lcspecconv.CreateOpts{
		CgroupName:       opts.ID,
		UseSystemdCgroup: opts.SystemdCgroup,
		NoPivotRoot:      opts.NoPivotRoot,
		NoNewKeyring:     opts.NoNewKeyring,
		Spec:             spec,
		RootlessEUID:     os.Geteuid() != 0,
		RootlessCgroups:  os.Geteuid() != 0,
	})
	if err != nil {
		return nil, fmt.Errorf("config.json: %w", err)
	}
	for _, m := range cfg.Mounts {
		// The kernel ignores filesystem options on a bind mount; runc 1.1
		// accepted them silently and bundles in the wild still carry them.
		if m.IsBind() && m.Data != "" {
			logrus.Debugf("mount %s: ignoring filesystem options %q on a bind mount", m.Destination, m.Data)
			m.Data = ""
		}
	}
	return cfg, nil
}

// Process converts an OCI process into a libcontainer process. Stdio and
// the init flag are left to the caller.
func Process(p *specs.Process) (*libcontainer.Process, error) {
	lp := &libcontainer.Process{
		Args:            p.Args,
		Env:             p.Env,
		UID:             int(p.User.UID),
		GID:             int(p.User.GID),
		Cwd:             p.Cwd,
		Label:           p.SelinuxLabel,
		NoNewPrivileges: &p.NoNewPrivileges,
		AppArmorProfile: p.ApparmorProfile,
		Scheduler:       p.Scheduler,
		IOPriority:      p.IOPriority,
	}
	if p.ConsoleSize != nil {
		lp.ConsoleWidth = uint16(p.ConsoleSize.Width)
		lp.ConsoleHeight = uint16(p.ConsoleSize.Height)
	}
	if c := p.Capabilities; c != nil {
		lp.Capabilities = &configs.Capabilities{
			Bounding:    c.Bounding,
			Effective:   c.Effective,
			Inheritable: c.Inheritable,
			Permitted:   c.Permitted,
			Ambient:     c.Ambient,
		}
	}
	for _, g := range p.User.AdditionalGids {
		lp.AdditionalGroups = append(lp.AdditionalGroups, int(g))
	}
	for _, rl := range p.Rlimits {
		n, ok := RlimitNumber(rl.Type)
		if !ok {
			return nil, fmt.Errorf("process.rlimits: unknown rlimit %q", rl.Type)
		}
		lp.Rlimits = append(lp.Rlimits, configs.Rlimit{Type: n, Hard: rl.Hard, Soft: rl.Soft})
	}
	aff, err := configs.ConvertCPUAffinity(p.ExecCPUAffinity)
	if err != nil {
		return nil, fmt.Errorf("process.execCPUAffinity: %w", err)
	}
	lp.CPUAffinity = aff
	return lp, nil
}

// Example returns the spec that `spec` writes without a profile: the same
// starting point runc gives.
func Example() *specs.Spec {
	return lcspecconv.Example()
}

// ToRootless adapts an example spec for an unprivileged user.
func ToRootless(spec *specs.Spec) {
	lcspecconv.ToRootless(spec)
}
