package manager

import (
	"context"
	"errors"
	"os"
	goruntime "runtime"
	"runtime/debug"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/mini-isolate/mini-isolate/box"
)

// Run serves the system configuration (or $MINI_ISOLATE_CONFIG) with
// state root root ("" for the default) until ctx ends or the manager has
// been idle for idle (0: never; below 0: the configuration's
// manager_idle). It returns nil at once when another manager already
// serves the socket, as a manager started twice on demand must.
func Run(ctx context.Context, root string, idle time.Duration) error {
	cfg, err := box.LoadConfig(true)
	if err != nil {
		return err
	}
	if os.Getenv("GOMAXPROCS") == "" {
		// The manager's own work is a small part of a run: the programs,
		// their exec and the front ends use the other CPUs. With a P for
		// every CPU, the scheduler wakes a thread on another CPU at each
		// hand-off between goroutines, a trip to the hypervisor on a
		// virtual machine. Half of Go's default. Measured on 2 CPUs
		// (docs/performance.md): API run 1.60 ms over bare instead of
		// 2.02, two boxes in parallel 1.59 times isolate's cycles
		// instead of 1.43.
		goruntime.GOMAXPROCS(max(1, goruntime.GOMAXPROCS(0)/2))
	}
	if err := pin(cfg.ManagerCPU, len(cfg.CPUs) > 0); err != nil {
		return err
	}
	s := &Server{Config: cfg, Root: root, Idle: idle}
	if idle < 0 {
		s.Idle = time.Duration(cfg.ManagerIdle) * time.Second
	}
	if err := s.Listen(); err != nil {
		if errors.Is(err, ErrRunning) {
			return nil
		}
		return err
	}
	if os.Getenv("GOGC") == "" {
		// A long-lived manager's live heap is small (about 1 MB): the
		// default would let it grow to 4 MB between collections.
		// Measured: 4.4 MB of private memory instead of 7.2, with no
		// change in a run's latency.
		debug.SetGCPercent(25)
	}
	return s.Serve(ctx)
}

// pin keeps the manager's threads on the CPU manager_cpu names. auto
// picks the last CPU it may use when it runs Go code on one processor
// anyway (GOMAXPROCS 1), and no box is pinned. On one CPU the manager and
// a box's init hand a run to each other without waking another CPU: the
// scheduler starts the init where the manager woke it. Measured on 2
// CPUs (docs/performance.md): a warm API run 0.13 to 0.2 ms faster, with
// the same throughput. The system calls of the manager's blocked threads
// (box walks, cgroup removal) then share that CPU too. Boxes are not
// pinned: libcontainer gives a container's init every CPU its cgroup
// allows before the program starts (TestManagerCPU checks it).
func pin(setting int, boxesPinned bool) error {
	if setting == box.ManagerCPUAuto && goruntime.GOMAXPROCS(0) > 1 {
		return nil
	}
	cpu, err := pinCPU(setting, boxesPinned)
	if err == nil && cpu >= 0 {
		err = pinThreads(cpu)
	}
	if err != nil && setting == box.ManagerCPUAuto {
		logrus.Warnf("manager: %v; its threads run on any CPU", err)
		return nil
	}
	return err
}
