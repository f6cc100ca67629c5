package runtime

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/opencontainers/runc/libcontainer/configs"
	"github.com/opencontainers/runtime-spec/specs-go"
	"github.com/sirupsen/logrus"
)

// hookOutputLimit bounds how much of a hook's output goes into an error.
const hookOutputLimit = 4096

// HookArg, as the binary's first argument, makes it run one host hook for
// libcontainer (see hostHooks and HookMain).
const HookArg = "run-hook"

// hookStateLimit bounds the container state a hook process reads.
const hookStateLimit = 1 << 20

// runHook runs one OCI hook with the container state on stdin. The hook
// gets its own process group, so a timeout kills whatever it started, and
// output pipes left open by its children do not keep us waiting. The
// error carries the hook's output.
func runHook(h specs.Hook, state []byte) error {
	args := h.Args
	if len(args) == 0 {
		args = []string{h.Path}
	}
	var out boundedBuffer
	cmd := &exec.Cmd{
		Path:        h.Path,
		Args:        args,
		Env:         h.Env,
		Stdin:       bytes.NewReader(state),
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
			return &HookError{Err: err, Output: strings.TrimSpace(out.String())}
		}
		return nil
	case <-timeout:
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		return &HookError{Err: fmt.Errorf("hook ran past its timeout of %ds", *h.Timeout)}
	}
}

// HookError is a hook that failed, with what it printed.
type HookError struct {
	Err    error
	Output string
}

func (e *HookError) Error() string {
	if e.Output == "" {
		return e.Err.Error()
	}
	return fmt.Sprintf("%v: %s", e.Err, e.Output)
}

func (e *HookError) Unwrap() error { return e.Err }

// hostHooks turns spec hooks that libcontainer runs in the create process
// (prestart, createRuntime) into command hooks that run them through this
// binary's HookMain: libcontainer's own runner waits for every process
// that holds the hook's output, and a function hook cannot be saved in
// the container's state.
func hostHooks(hooks []specs.Hook) (configs.HookList, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("hooks: %w", err)
	}
	var list configs.HookList
	for _, h := range hooks {
		data, err := json.Marshal(h)
		if err != nil {
			return nil, err
		}
		list = append(list, configs.NewCommandHook(&configs.Command{
			Path: self,
			Args: []string{filepath.Base(self), HookArg, string(data)},
			Env:  h.Env,
		}))
	}
	return list, nil
}

// HookMain runs the hook given as JSON in args[0], with the state from
// stdin, and returns the exit status: the hook's own, or 1. What the hook
// printed goes to stderr, bounded, for libcontainer's error.
func HookMain(args []string) int {
	var h specs.Hook
	if len(args) != 1 || json.Unmarshal([]byte(args[0]), &h) != nil {
		fmt.Fprintln(os.Stderr, "usage: "+HookArg+" HOOK-JSON")
		return 2
	}
	state, err := io.ReadAll(io.LimitReader(os.Stdin, hookStateLimit))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	err = runHook(h, state)
	if err == nil {
		return 0
	}
	var he *HookError
	var ee *exec.ExitError
	switch {
	case errors.As(err, &he) && errors.As(he.Err, &ee) && ee.Exited():
		fmt.Fprint(os.Stderr, he.Output)
		return ee.ExitCode()
	default:
		fmt.Fprint(os.Stderr, err)
		return 1
	}
}

// runHooks runs the hooks in order and stops at the first that fails, as
// libcontainer does for the hooks it runs.
func runHooks(kind string, hooks []specs.Hook, state *specs.State) error {
	input, err := json.Marshal(state)
	if err != nil {
		return err
	}
	for i, h := range hooks {
		if err := runHook(h, input); err != nil {
			return fmt.Errorf("error running %s hook #%d: %w", kind, i, err)
		}
	}
	return nil
}

// runHooksWarn runs every hook in the list. A failing hook is logged and the
// rest still run: the spec makes poststop failures warnings.
func runHooksWarn(kind string, hooks []specs.Hook, state *specs.State) {
	input, err := json.Marshal(state)
	if err != nil {
		logrus.Warnf("%s hooks: %v", kind, err)
		return
	}
	for i, h := range hooks {
		if err := runHook(h, input); err != nil {
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
