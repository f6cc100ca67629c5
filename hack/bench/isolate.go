package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// isolateSandbox runs tasks with isolate (github.com/ioi/isolate) in one
// box: --init before each run, --run with the task's limit and a meta
// file, --cleanup after.
type isolateSandbox struct {
	path    string
	version string // first line of --version
	box     int
	cg      bool          // the box uses control groups (--cg)
	progDir string        // where the task programs are copied from
	timeout time.Duration // for each isolate command
}

// base is the argv prefix naming the box.
func (b *isolateSandbox) base() []string {
	argv := []string{b.path}
	if b.cg {
		argv = append(argv, "--cg")
	}
	return append(argv, "-b", strconv.Itoa(b.box))
}

func (b *isolateSandbox) argv(t *task, _, meta string) []string {
	argv := append(b.base(), "-M", meta)
	switch t.kind {
	case limitCPU:
		argv = append(argv, "-t", seconds(t.limit))
	case limitWall:
		argv = append(argv, "-w", seconds(t.limit))
	}
	argv = append(argv, "--run", "--", "./"+t.prog)
	return append(argv, t.args...)
}

// prepare initialises the box and copies the task's program into it.
func (b *isolateSandbox) prepare(ctx context.Context, _ *runner, t *task, _ string) error {
	out, err := b.command(ctx, "--init")
	if err != nil {
		return err
	}
	boxDir := strings.TrimSpace(out)
	if boxDir == "" || !filepath.IsAbs(boxDir) {
		return fmt.Errorf("isolate --init printed %q, want the box directory", out)
	}
	dst := filepath.Join(boxDir, "box", t.prog)
	if err := copyFile(filepath.Join(b.progDir, t.prog), dst, 0o755); err != nil {
		return fmt.Errorf("copying %s into the isolate box: %w", t.prog, err)
	}
	return nil
}

func (*isolateSandbox) times(t *task, meta string, out runResult) (time.Duration, time.Duration, error) {
	return metaTimes(t, meta, out)
}

func (b *isolateSandbox) release(ctx context.Context, _ *runner, _ string) {
	if _, err := b.command(ctx, "--cleanup"); err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
	}
}

// command runs isolate on the box with args and returns its stdout.
func (b *isolateSandbox) command(ctx context.Context, args ...string) (string, error) {
	return commandOutput(ctx, b.timeout, append(b.base(), args...))
}

// commandOutput runs argv with a time limit and returns its stdout, or an
// error with its stderr.
func commandOutput(ctx context.Context, timeout time.Duration, argv []string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && len(ee.Stderr) > 0 {
			err = fmt.Errorf("%w: %s", err, strings.TrimSpace(string(ee.Stderr)))
		}
		return "", fmt.Errorf("%s: %w", strings.Join(argv, " "), err)
	}
	return string(out), nil
}

// findIsolate returns isolate as a sandbox for box, with --cg if a box
// with control groups can be initialised, or nil when isolate is disabled
// (name ""), missing or not working. The status line says which.
func findIsolate(ctx context.Context, name string, box int, progDir string, timeout time.Duration) (*isolateSandbox, string) {
	if name == "" {
		return nil, `isolate: disabled (-isolate "")`
	}
	path, err := resolveExecutable(name)
	if err != nil {
		return nil, fmt.Sprintf("isolate: not installed (%v)", err)
	}
	ver, err := commandOutput(ctx, timeout, []string{path, "--version"})
	if err != nil {
		return nil, fmt.Sprintf("isolate: %s does not work: %v", path, err)
	}
	ver, _, _ = strings.Cut(strings.TrimSpace(ver), "\n")
	b := &isolateSandbox{path: path, version: ver, box: box, progDir: progDir, timeout: timeout}
	var errs []string
	for _, cg := range []bool{true, false} {
		b.cg = cg
		// A box left initialised by an earlier run would make --init reuse it.
		_, _ = b.command(ctx, "--cleanup")
		if _, err := b.command(ctx, "--init"); err != nil {
			errs = append(errs, err.Error())
			continue
		}
		if _, err := b.command(ctx, "--cleanup"); err != nil {
			return nil, fmt.Sprintf("isolate: %s does not work: %v", path, err)
		}
		mode := "--cg"
		if !cg {
			mode = "without --cg (a --cg box failed: " + errs[0] + ")"
		}
		return b, fmt.Sprintf("isolate: %s (%s), box %d, %s", path, ver, box, mode)
	}
	return nil, fmt.Sprintf("isolate: %s does not work: %s", path, strings.Join(errs, "; "))
}
