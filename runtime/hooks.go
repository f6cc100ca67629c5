package runtime

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/opencontainers/runc/libcontainer/configs"
	"github.com/opencontainers/runtime-spec/specs-go"
	"github.com/sirupsen/logrus"
)

// hookOutputLimit bounds how much of a hook's output goes into an error.
const hookOutputLimit = 4096

// runHook runs one OCI hook with the container state on stdin. The hook
// gets its own process group, so a timeout kills whatever it started, and
// output pipes left open by its children do not keep us waiting.
func runHook(h specs.Hook, state *specs.State) error {
	input, err := json.Marshal(state)
	if err != nil {
		return err
	}
	args := h.Args
	if len(args) == 0 {
		args = []string{h.Path}
	}
	var out boundedBuffer
	cmd := &exec.Cmd{
		Path:        h.Path,
		Args:        args,
		Env:         h.Env,
		Stdin:       bytes.NewReader(input),
		Stdout:      &out,
		Stderr:      &out,
		SysProcAttr: &syscall.SysProcAttr{Setpgid: true},
		WaitDelay:   100 * time.Millisecond,
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var timeout <-chan time.Time
	if h.Timeout != nil {
		t := time.NewTimer(time.Duration(*h.Timeout) * time.Second)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case err := <-done:
		if err != nil && !errors.Is(err, exec.ErrWaitDelay) {
			if o := strings.TrimSpace(out.String()); o != "" {
				return fmt.Errorf("%w: %s", err, o)
			}
			return err
		}
		return nil
	case <-timeout:
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		return fmt.Errorf("hook ran past its timeout of %ds", *h.Timeout)
	}
}

// hostHooks turns spec hooks that libcontainer runs in the create process
// (prestart, createRuntime) into hooks run by runHook.
func hostHooks(hooks []specs.Hook) configs.HookList {
	var list configs.HookList
	for _, h := range hooks {
		list = append(list, configs.NewFunctionHook(func(s *specs.State) error {
			return runHook(h, s)
		}))
	}
	return list
}

// runHooksWarn runs every hook in the list. A failing hook is logged and the
// rest still run: the spec makes poststart and poststop failures warnings.
func runHooksWarn(kind string, hooks []specs.Hook, state *specs.State) {
	for i, h := range hooks {
		if err := runHook(h, state); err != nil {
			logrus.Warnf("%s hook #%d (%s): %v", kind, i, h.Path, err)
		}
	}
}

// boundedBuffer keeps the first hookOutputLimit bytes written to it.
type boundedBuffer struct{ bytes.Buffer }

func (b *boundedBuffer) Write(p []byte) (int, error) {
	if room := hookOutputLimit - b.Len(); room > 0 {
		b.Buffer.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}
