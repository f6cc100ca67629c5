package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/mini-isolate/mini-isolate/box"
	"github.com/mini-isolate/mini-isolate/manager"
)

var managerCommand = &cli.Command{
	Name:  "manager",
	Usage: "serve boxes from a pool of spare containers, and the native run API, on the configuration's socket",
	Description: `The manager keeps spare_boxes box containers made in advance, tears
retired boxes down in the background, and serves the isolate front end and
the native run API (docs/api.md) on manager_socket, for root only. It exits
after manager_idle seconds without a request. The isolate front end starts
it on demand when spare_boxes is set.`,
	Flags: []cli.Flag{
		&cli.DurationFlag{Name: "idle", Usage: "exit after this long without a request (default: manager_idle; 0: never)"},
	},
	Action: func(c *cli.Context) error {
		if err := checkArgs(c, 0, 0); err != nil {
			return err
		}
		if bin, err := findManager(); err == nil {
			// The manager's own binary is a third smaller in memory.
			defer bin.close()
			return unix.Exec(bin.exe(), managerArgs(c, bin.path), os.Environ())
		} else {
			logrus.Warnf("manager: serving from this binary: %v", err)
		}
		cfg, err := box.LoadConfig(true)
		if err != nil {
			return err
		}
		s := &manager.Server{Config: cfg, Idle: time.Duration(cfg.ManagerIdle) * time.Second}
		if c.IsSet("root") {
			s.Root = c.String("root")
		}
		if c.IsSet("idle") {
			s.Idle = c.Duration("idle")
		}
		ctx, stop := signal.NotifyContext(context.Background(), unix.SIGINT, unix.SIGTERM)
		defer stop()
		return manager.Run(ctx, s)
	},
}

// managerArgs is the command line that runs the manager's binary at path
// with this invocation's flags.
func managerArgs(c *cli.Context, path string) []string {
	args := []string{path, "--log-format", c.String("log-format")}
	if c.Bool("debug") {
		args = append(args, "--debug")
	}
	for _, name := range []string{"log", "root", "idle"} {
		if c.IsSet(name) {
			args = append(args, "--"+name, c.String(name))
		}
	}
	return args
}

// forwardIsolate runs an isolate invocation through the manager when one
// serves the configuration, starting it first when the configuration asks
// for spare boxes. It returns false when the invocation must run here.
func forwardIsolate(argv []string, root string, setuid bool) (int, bool) {
	cfg, err := box.LoadConfig(!setuid)
	if err != nil {
		return 0, false // the local run reports it
	}
	socket := cfg.Socket()
	client, err := manager.Dial(socket)
	if err != nil && cfg.SpareBoxes > 0 && startManager(cfg, root, setuid) == nil {
		client, err = waitManager(socket, 2*time.Second)
	}
	if err != nil {
		return 0, false
	}
	defer client.Close()
	dir, err := os.Open(".")
	if err != nil {
		return 0, false
	}
	defer dir.Close()
	call := &manager.IsolateCall{
		Args: argv, Env: os.Environ(), UID: os.Getuid(), GID: os.Getgid(), Config: cfg.Path, Version: cfg.Version, Root: root,
		Stdio: [3]*os.File{os.Stdin, os.Stdout, os.Stderr}, Dir: dir,
	}
	if setuid {
		call.Groups, _ = os.Getgroups()
	}
	for _, fd := range inheritedFDs {
		call.Extra = append(call.Extra, os.NewFile(uintptr(fd), "inherited"))
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT)
	defer signal.Stop(sig)
	call.Interrupted = sig
	code, err := client.Isolate(context.Background(), call)
	if errors.Is(err, manager.ErrRefused) {
		return 0, false
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "Manager: %v\n", err)
		return 2, true
	}
	return code, true
}

// startManager starts a manager for this configuration, detached, as
// root: a setuid caller's environment does not reach it.
func startManager(cfg *box.Config, root string, setuid bool) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	if setuid {
		if err := systemLimits(); err != nil {
			return err // runs here, with the caller's limits
		}
	}
	if err := os.MkdirAll(cfg.LockRoot, 0o755); err != nil {
		return err
	}
	args := []string{self, "--log", filepath.Join(cfg.LockRoot, "manager.log")}
	if root != "" {
		args = append(args, "--root", root)
	}
	// What runs is the file checked, not whatever a path names by then.
	exe := "/proc/self/exe"
	if bin, err := findManager(); err == nil {
		defer bin.close()
		exe, args[0] = bin.exe(), bin.path
	} else {
		args = append(args, "manager") // which logs why
	}
	env := []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	if path, ok := os.LookupEnv(box.ConfigEnv); ok && !setuid {
		if abs, err := filepath.Abs(path); err == nil {
			env = append(env, box.ConfigEnv+"="+abs)
		}
	}
	devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer devnull.Close()
	cmd := &exec.Cmd{
		Path: exe, Args: args, Env: env, Dir: "/",
		Stdin: devnull, Stdout: devnull, Stderr: devnull,
		SysProcAttr: &syscall.SysProcAttr{Setsid: true, Credential: &syscall.Credential{Uid: 0, Gid: 0}},
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	return cmd.Process.Release()
}

// waitManager connects to a manager that is starting.
func waitManager(socket string, timeout time.Duration) (*manager.Client, error) {
	deadline := time.Now().Add(timeout)
	for {
		c, err := manager.Dial(socket)
		if err == nil || time.Now().After(deadline) {
			return c, err
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// systemLimits gives this process, and so what it starts, the resource
// limits of PID 1 and a umask of 022: the manager serves every user, so
// the one who happened to start it must not choose the modes of the files
// it makes, or limits that would kill or starve it. Where a hard limit
// cannot be raised back (without CAP_SYS_RESOURCE) it stays the caller's,
// and then no manager is started unless the manager can live with it.
func systemLimits() error {
	unix.Umask(0o022)
	data, err := os.ReadFile("/proc/1/limits")
	if err != nil {
		return err
	}
	// One line per resource after the header, in RLIMIT_* order.
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	for r := unix.RLIMIT_CPU; r <= unix.RLIMIT_RTTIME && r+1 < len(lines); r++ {
		want, err := parseLimit(lines[r+1])
		if err != nil {
			return fmt.Errorf("/proc/1/limits: %w", err)
		}
		// syscall's, so that os/exec does not put back the caller's
		// open-files limit in the child.
		if syscall.Setrlimit(r, want) == nil {
			continue
		}
		var have syscall.Rlimit
		if err := syscall.Getrlimit(r, &have); err != nil {
			return err
		}
		if !livable(r, have.Max, want.Max) {
			return fmt.Errorf("the caller's hard limit %d of resource %d is below the system's %d, and cannot be raised", have.Max, r, want.Max)
		}
		have.Cur = have.Max
		_ = syscall.Setrlimit(r, &have)
	}
	return nil
}

// livable says whether the manager can run under hard limit max of
// resource r, where the system's is sys: a CPU, file size or memory limit
// below the system's would kill it, and it needs some files.
func livable(r int, max, sys uint64) bool {
	switch r {
	case unix.RLIMIT_CPU, unix.RLIMIT_FSIZE, unix.RLIMIT_DATA, unix.RLIMIT_AS:
		return max >= sys
	case unix.RLIMIT_NOFILE:
		return max >= 1024
	}
	return true
}

// parseLimit reads the soft and hard limits of a line of /proc/PID/limits
// ("Max open files  1024  524288  files"; some lines have no unit).
func parseLimit(line string) (*syscall.Rlimit, error) {
	f := strings.Fields(line)
	if n := len(f); n > 0 && limitValue(f[n-1]) == nil {
		f = f[:n-1] // the unit
	}
	if len(f) < 2 {
		return nil, fmt.Errorf("bad line %q", line)
	}
	soft, hard := limitValue(f[len(f)-2]), limitValue(f[len(f)-1])
	if soft == nil || hard == nil {
		return nil, fmt.Errorf("bad line %q", line)
	}
	return &syscall.Rlimit{Cur: *soft, Max: *hard}, nil
}

// limitValue is a limit's value, or nil when s is not one.
func limitValue(s string) *uint64 {
	v := uint64(unix.RLIM_INFINITY)
	if s != "unlimited" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return nil
		}
		v = n
	}
	return &v
}
