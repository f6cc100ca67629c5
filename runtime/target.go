package runtime

import (
	"context"
	"fmt"

	"github.com/opencontainers/cgroups"
	"github.com/opencontainers/runc/libcontainer"
	"github.com/sirupsen/logrus"

	"github.com/mini-isolate/mini-isolate/runtime/judged"
	"github.com/mini-isolate/mini-isolate/runtime/supervise"
)

// Target describes a running container for supervision.
func (r *Runtime) Target(id string) (*supervise.Target, error) {
	c, err := r.load(id)
	if err != nil {
		return nil, err
	}
	st, err := c.Status()
	if err != nil {
		return nil, err
	}
	if st != libcontainer.Running {
		return nil, fmt.Errorf("container %s is %s, not running", id, st)
	}
	return targetOf(c)
}

func targetOf(c *libcontainer.Container) (*supervise.Target, error) {
	ls, err := c.State()
	if err != nil {
		return nil, err
	}
	return &supervise.Target{InitPid: ls.InitProcessPid, InitStart: ls.InitProcessStartTime,
		CgroupPaths: ls.CgroupPaths, CgroupV2: cgroups.IsCgroup2UnifiedMode()}, nil
}

// Supervise is the detached supervisor of a judged container: create
// starts it as `mini-isolate supervise ID` (judged.Spawn). It returns once
// the report is filed.
func (r *Runtime) Supervise(ctx context.Context, id string) error {
	judged.CloseInheritedOnExec()
	if err := judged.RecordSupervisor(r.stateDir(id)); err != nil {
		// Only delete's kill of a supervisor that outstays its wait
		// depends on the record.
		logrus.Warnf("%s: %v", id, err)
	}
	st, t, setupErr := r.judgedTarget(id)
	res, err := judged.Detached(ctx, st, *t, setupErr)
	if err != nil {
		return err
	}
	judged.File(r.stateDir(id), st, res)
	return nil
}

// judgedTarget loads a judged container's state and target.
func (r *Runtime) judgedTarget(id string) (*judged.State, *supervise.Target, error) {
	none := &supervise.Target{}
	c, err := r.load(id)
	if err != nil {
		return nil, none, err
	}
	sc, err := r.readSidecar(id)
	if err != nil {
		return nil, none, err
	}
	if sc.Judge == nil {
		return nil, none, fmt.Errorf("container %s is not judged", id)
	}
	t, err := targetOf(c)
	if err != nil {
		return nil, none, err
	}
	return sc.Judge, t, nil
}
