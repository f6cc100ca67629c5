package runtime

import (
	"fmt"
	"os"
	goruntime "runtime"
	"strconv"
	"syscall"
	"time"

	"github.com/moby/sys/user"
	"github.com/opencontainers/cgroups"
	"github.com/opencontainers/cgroups/manager"
	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/mini-isolate/mini-isolate/runtime/judged"
	"github.com/mini-isolate/mini-isolate/runtime/meta"
	"github.com/mini-isolate/mini-isolate/runtime/proc"
)

// State is what `state` prints: the OCI state (ociVersion, id, status, pid,
// bundle, annotations) plus the fields runc adds.
type State struct {
	Version     string            `json:"ociVersion"`
	ID          string            `json:"id"`
	Pid         int               `json:"pid"`
	Status      string            `json:"status"`
	Bundle      string            `json:"bundle"`
	Rootfs      string            `json:"rootfs"`
	Created     time.Time         `json:"created"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Owner       string            `json:"owner"`
	// Judge is the report of a judged container once it has stopped.
	Judge *meta.Result `json:"judge,omitempty"`
}

// State returns the current state of container id.
func (r *Runtime) State(id string) (*State, error) {
	c, err := r.load(id)
	if err != nil {
		return nil, err
	}
	return r.stateOf(c)
}

func (r *Runtime) stateOf(c *libcontainer.Container) (*State, error) {
	ls, err := c.State()
	if err != nil {
		return nil, fmt.Errorf("state of %s: %w", c.ID(), err)
	}
	oci, err := c.OCIState()
	if err != nil {
		return nil, fmt.Errorf("state of %s: %w", c.ID(), err)
	}
	s := &State{
		Version:     oci.Version,
		ID:          c.ID(),
		Status:      string(oci.Status),
		Bundle:      oci.Bundle,
		Rootfs:      ls.Config.Rootfs,
		Created:     ls.Created,
		Annotations: oci.Annotations,
		Owner:       r.owner(c.ID()),
	}
	if oci.Status != specs.StateStopped {
		s.Pid = ls.InitProcessPid
	} else {
		s.Judge = judged.Report(r.stateDir(c.ID()))
	}
	return s, nil
}

// owner names the user that owns the container's state directory.
func (r *Runtime) owner(id string) string {
	fi, err := os.Stat(r.stateDir(id))
	if err != nil {
		return ""
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return ""
	}
	if u, err := user.LookupUid(int(st.Uid)); err == nil {
		return u.Name
	}
	return "#" + strconv.Itoa(int(st.Uid))
}

// List returns the state of every container under the root, sorted by id.
// A directory that holds no loadable container is skipped.
func (r *Runtime) List() ([]State, error) {
	entries, err := os.ReadDir(r.Root)
	if err != nil {
		return nil, fmt.Errorf("list: %w", err)
	}
	var out []State
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		c, err := libcontainer.Load(r.Root, e.Name())
		if err != nil {
			continue
		}
		s, err := r.stateOf(c)
		if err != nil {
			continue
		}
		out = append(out, *s)
	}
	return out, nil
}

// Processes returns the host pids of every process in the container's
// cgroup.
func (r *Runtime) Processes(id string) ([]int, error) {
	c, err := r.load(id)
	if err != nil {
		return nil, err
	}
	pids, err := c.Processes()
	if err != nil {
		return nil, fmt.Errorf("ps %s: %w", id, err)
	}
	return pids, nil
}

// Pause freezes every process of the container.
func (r *Runtime) Pause(id string) error {
	c, err := r.load(id)
	if err != nil {
		return err
	}
	return c.Pause()
}

// Resume thaws a paused container.
func (r *Runtime) Resume(id string) error {
	c, err := r.load(id)
	if err != nil {
		return err
	}
	return c.Resume()
}

// cgroupOf opens the cgroup manager of an existing container.
func cgroupOf(c *libcontainer.Container) (cgroups.Manager, error) {
	st, err := c.State()
	if err != nil {
		return nil, err
	}
	cfg := c.Config()
	return manager.NewWithPaths(cfg.Cgroups, st.CgroupPaths)
}

// enterUTS moves the calling thread into the UTS namespace of the process
// behind pidfd (pid): through the pidfd (Linux 5.8+), or else through
// /proc/PID/ns/uts, checked afterwards against the pidfd: had the process
// exited meanwhile, the pid could have named another.
func enterUTS(pid, pidfd int) error {
	err := unix.Setns(pidfd, unix.CLONE_NEWUTS)
	if err != unix.EINVAL {
		return err
	}
	ns, err := unix.Open(fmt.Sprintf("/proc/%d/ns/uts", pid), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(ns)
	if proc.Exited(pidfd, 0) {
		return fmt.Errorf("process %d has exited", pid)
	}
	return unix.Setns(ns, unix.CLONE_NEWUTS)
}

// SetHostname changes the host name in the UTS namespace of process pid
// (started at start, in clock ticks since boot): a spare box container
// gets its box's name when a box adopts it. It does not load the
// container: its init is named directly, through a pidfd, so the name
// cannot land in another process's namespace. The thread that enters the
// namespace goes back to its own, or exits if it cannot.
func SetHostname(pid int, start uint64, name string) error {
	pidfd, err := proc.Open(pid, start)
	if err != nil {
		return fmt.Errorf("hostname: %w", err)
	}
	defer unix.Close(pidfd)
	done := make(chan error, 1)
	go func() {
		goruntime.LockOSThread()
		own, err := unix.Open("/proc/thread-self/ns/uts", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			done <- err
			goruntime.UnlockOSThread()
			return
		}
		defer unix.Close(own)
		if err := enterUTS(pid, pidfd); err != nil {
			done <- err
			goruntime.UnlockOSThread()
			return
		}
		done <- unix.Sethostname([]byte(name))
		if unix.Setns(own, unix.CLONE_NEWUTS) == nil {
			goruntime.UnlockOSThread()
		} // else the thread stays locked, and exits with this goroutine
	}()
	if err := <-done; err != nil {
		return fmt.Errorf("hostname of process %d: %w", pid, err)
	}
	return nil
}
