package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
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
		root, idle := "", time.Duration(-1) // the configuration's
		if c.IsSet("root") {
			root = c.String("root")
		}
		if c.IsSet("idle") {
			idle = c.Duration("idle")
		}
		ctx, stop := signal.NotifyContext(context.Background(), unix.SIGINT, unix.SIGTERM)
		defer stop()
		return manager.Run(ctx, root, idle)
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
	// A user of a setuid binary never starts the manager every user
	// shares: it would carry that user's process settings (limits, nice,
	// affinity, cgroup, OOM score). Root, or a service, starts it.
	if err != nil && cfg.SpareBoxes > 0 && !setuid && startManager(cfg, root) == nil {
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

// startManager starts a manager for this configuration, detached, for
// root.
func startManager(cfg *box.Config, root string) error {
	self, err := os.Executable()
	if err != nil {
		return err
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
	if path, ok := os.LookupEnv(box.ConfigEnv); ok {
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
		SysProcAttr: &syscall.SysProcAttr{Setsid: true},
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
