package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// subject is one thing timed in a scenario: usually an OCI runtime, or a
// plain command used as a baseline.
type subject struct {
	label   string   // name in the table and the CSV
	path    string   // the runtime binary (or plain command)
	wrapper []string // argv prefix that runs path, e.g. the crun cgroup wrapper
	root    string   // private --root state directory; empty for plain commands
	env     []string // variables added to the environment of its runs
	note    string   // caveat printed under the table
}

// runtimeArgv returns the argv running the runtime with the global --root
// flag followed by args.
func (s *subject) runtimeArgv(args ...string) []string {
	argv := append([]string{}, s.wrapper...)
	argv = append(argv, s.path, "--root", s.root)
	return append(argv, args...)
}

// runResult is the outcome of one timed command.
type runResult struct {
	elapsed time.Duration
	cpu     time.Duration // user plus system time of the command (wait4 rusage); 0 if it did not start
	exit    int           // exit status; -1 if it did not start, was signalled or timed out
	stderr  string        // only read when the command failed
	err     error         // nil for exit status 0
}

// runner executes timed commands with stdin and stdout on /dev/null and
// stderr in a scratch file, so that no pipe or goroutine sits in the timed
// window and the runtime's output is still there when a run fails.
type runner struct {
	devNull    *os.File
	stderrPath string
	timeout    time.Duration
}

func newRunner(scratch string, timeout time.Duration) (*runner, error) {
	f, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", os.DevNull, err)
	}
	return &runner{devNull: f, stderrPath: filepath.Join(scratch, "stderr"), timeout: timeout}, nil
}

func (r *runner) close() error {
	return r.devNull.Close()
}

// run executes argv once and times it from just before the fork to just
// after the wait.
func (r *runner) run(ctx context.Context, argv []string) runResult {
	return r.runEnv(ctx, argv, nil)
}

// runEnv is run with env (KEY=value entries) added to the environment.
func (r *runner) runEnv(ctx context.Context, argv, env []string) runResult {
	if len(argv) == 0 {
		return runResult{exit: -1, err: errors.New("empty command")}
	}
	stderr, err := os.Create(r.stderrPath)
	if err != nil {
		return runResult{exit: -1, err: fmt.Errorf("creating stderr file: %w", err)}
	}
	defer stderr.Close()

	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = r.devNull, r.devNull, stderr
	if len(env) > 0 {
		// Later entries win, so env overrides the inherited values.
		cmd.Env = append(os.Environ(), env...)
	}
	// On timeout kill the runtime's whole process group, helpers included;
	// the caller's cleanup deletes the container itself.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	// Something that outlived the kill may still hold the stderr file.
	cmd.WaitDelay = time.Second

	start := time.Now()
	err = cmd.Run()
	res := runResult{elapsed: time.Since(start)}
	if ps := cmd.ProcessState; ps != nil {
		res.cpu = ps.UserTime() + ps.SystemTime()
	}
	if err == nil {
		return res
	}
	res.exit = -1
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		res.exit = ee.ExitCode()
	}
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		res.err = fmt.Errorf("timed out after %v", r.timeout)
	case ctx.Err() != nil:
		res.err = fmt.Errorf("interrupted: %w", ctx.Err())
	default:
		res.err = err
	}
	if out, rerr := os.ReadFile(r.stderrPath); rerr == nil {
		res.stderr = strings.TrimSpace(string(out))
	}
	return res
}

// runSequence runs the commands of steps one after another, with env added
// to their environment, and stops at the first that fails. Its elapsed and
// CPU times are the sums over the commands that ran, so the gaps between
// them (creating the stderr file) are not counted; its exit status and
// stderr are the last command's.
func (r *runner) runSequence(ctx context.Context, steps [][]string, env []string) runResult {
	if len(steps) == 0 {
		return runResult{exit: -1, err: errors.New("no command")}
	}
	var total runResult
	for i, argv := range steps {
		out := r.runEnv(ctx, argv, env)
		total.elapsed += out.elapsed
		total.cpu += out.cpu
		total.exit, total.stderr = out.exit, out.stderr
		if out.err != nil {
			name := "(empty)"
			if len(argv) > 0 {
				name = filepath.Base(argv[0])
			}
			total.err = fmt.Errorf("step %d of %d (%s): %w", i+1, len(steps), name, out.err)
			return total
		}
	}
	return total
}

// describe formats a failed run for humans: the error and the runtime's
// stderr, shortened to what fits on a screen.
func (res runResult) describe() string {
	msg := res.err.Error()
	if res.stderr != "" {
		s := res.stderr
		const limit = 2000
		if len(s) > limit {
			s = "..." + s[len(s)-limit:]
		}
		msg += ": stderr: " + s
	}
	return msg
}

// version returns the first line of `path --version`, for the report header.
func version(ctx context.Context, path string) string {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, "--version").Output()
	line, _, _ := strings.Cut(string(bytes.TrimSpace(out)), "\n")
	switch {
	case line != "":
		return line
	case err != nil:
		return fmt.Sprintf("(--version failed: %v)", err)
	default:
		return "(--version printed nothing)"
	}
}

// resolveExecutable finds name in PATH, then in the sbin directories a
// non-login root shell may lack (Debian installs runc in /usr/sbin).
func resolveExecutable(name string) (string, error) {
	if strings.Contains(name, "/") {
		st, err := os.Stat(name)
		if err != nil {
			return "", err
		}
		if st.IsDir() || st.Mode().Perm()&0o111 == 0 {
			return "", fmt.Errorf("%s is not an executable file", name)
		}
		return filepath.Abs(name)
	}
	if p, err := exec.LookPath(name); err == nil {
		return filepath.Abs(p)
	}
	for _, dir := range []string{"/usr/local/sbin", "/usr/sbin", "/sbin"} {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode().Perm()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found in PATH or sbin directories", name)
}
