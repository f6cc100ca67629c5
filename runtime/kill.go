package runtime

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/opencontainers/cgroups"
	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/configs"
	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/mini-isolate/mini-isolate/runtime/judged"
	"github.com/mini-isolate/mini-isolate/runtime/proc"
)

// ParseSignal accepts a signal by number, or by name with or without "SIG"
// in any case ("9", "KILL", "sigkill"). Signal 0 checks that the init is
// alive, as with kill(2).
func ParseSignal(s string) (unix.Signal, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n < 0 || n > 64 {
			return 0, fmt.Errorf("unknown signal %q", s)
		}
		return unix.Signal(n), nil
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	sig := unix.SignalNum(name)
	if sig == 0 {
		return 0, fmt.Errorf("unknown signal %q", s)
	}
	return sig, nil
}

// Kill sends sig to the container's init, or with all to every process in
// its cgroup. Killing a container that has stopped fails with
// "container not running", except with all, which callers use to sweep up
// and which therefore succeeds when nothing is left.
func (r *Runtime) Kill(id string, sig unix.Signal, all bool) error {
	c, err := r.load(id)
	if err != nil {
		return err
	}
	if all {
		return signalAll(c, sig)
	}
	return c.Signal(sig)
}

// signalAll freezes the cgroup so that nothing forks while we walk it, then
// signals every process in it.
func signalAll(c *libcontainer.Container, sig unix.Signal) error {
	m, err := cgroupOf(c)
	if err != nil {
		return err
	}
	if !m.Exists() {
		return nil
	}
	prev, err := m.GetFreezerState()
	if err != nil {
		return err
	}
	if prev != cgroups.Frozen {
		if err := m.Freeze(cgroups.Frozen); err != nil {
			return fmt.Errorf("freeze: %w", err)
		}
	}
	// Through pidfds: a task SIGKILLed while frozen still dies, and its
	// pid can be reused outside.
	var errs []error
	if _, err := proc.SignalListed(m.GetAllPids, sig); err != nil {
		errs = append(errs, fmt.Errorf("signal: %w", err))
	}
	// A SIGKILLed task in a frozen v1 cgroup dies only once thawed.
	if prev != cgroups.Frozen || sig == unix.SIGKILL {
		if err := m.Freeze(cgroups.Thawed); err != nil {
			errs = append(errs, fmt.Errorf("thaw: %w", err))
		}
	}
	return errors.Join(errs...)
}

// Delete removes a stopped container. A created container is killed first,
// as runc does, because containerd deletes never-started tasks that way.
// With force, a running or paused one is killed too, and an unknown id is
// not an error.
func (r *Runtime) Delete(ctx context.Context, id string, force bool) error {
	c, err := r.load(id)
	if err != nil {
		if errors.Is(err, libcontainer.ErrNotExist) {
			// An aborted create can leave a directory without state.json.
			r.removeStaleDir(id)
			if force {
				return nil
			}
		}
		return err
	}
	if force {
		return r.killAndDestroy(ctx, c)
	}
	status, err := c.Status()
	if err != nil {
		return fmt.Errorf("delete %s: %w", id, err)
	}
	switch status {
	case libcontainer.Stopped:
		return r.destroyContainer(c)
	case libcontainer.Created:
		return r.killAndDestroy(ctx, c)
	default:
		return fmt.Errorf("cannot delete container %s that is not stopped: %s", id, status)
	}
}

// killAndDestroy SIGKILLs everything in the container, waits for the init
// to go, and destroys it.
func (r *Runtime) killAndDestroy(ctx context.Context, c *libcontainer.Container) error {
	if err := stop(ctx, c); err != nil {
		return fmt.Errorf("delete %s: %w", c.ID(), err)
	}
	return r.destroyContainer(c)
}

// stop kills every process of a container and waits until it has stopped.
func stop(ctx context.Context, c *libcontainer.Container) error {
	_ = c.Signal(unix.SIGKILL)
	if !c.Config().Namespaces.IsPrivate(configs.NEWPID) {
		_ = signalAll(c, unix.SIGKILL)
	}
	wait := time.Millisecond
	deadline := time.Now().Add(10 * time.Second)
	for {
		if st, err := c.Status(); err == nil && st == libcontainer.Stopped {
			break
		}
		if time.Now().After(deadline) {
			return errors.New("container init still running after SIGKILL")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, 50*time.Millisecond)
	}
	return nil
}

// destroyContainer removes cgroups and state, then runs the poststop hooks.
// A failing hook is a warning: the container is gone either way.
func (r *Runtime) destroyContainer(c *libcontainer.Container) error {
	sc, err := r.readSidecar(c.ID())
	if err != nil {
		sc = &sidecar{}
	}
	judged.WaitSupervisor(r.stateDir(c.ID()))
	state, stateErr := c.OCIState()
	if err := c.Destroy(); err != nil {
		return fmt.Errorf("delete %s: %w", c.ID(), err)
	}
	if len(sc.Poststop) > 0 && stateErr == nil {
		state.Status = specs.StateStopped
		state.Pid = 0
		runHooksWarn("poststop", sc.Poststop, state)
	}
	return nil
}
