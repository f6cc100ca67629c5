package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/mini-isolate/mini-isolate/runtime"
)

// newRuntime builds the runtime from the global flags.
func newRuntime(c *cli.Context) (*runtime.Runtime, error) {
	rt, err := runtime.New(c.String("root"), c.Bool("systemd-cgroup"))
	if err != nil {
		return nil, err
	}
	// A detached supervisor logs where this command does.
	for _, name := range []string{"log", "log-format"} {
		if v := c.String(name); v != "" {
			rt.SupervisorArgs = append(rt.SupervisorArgs, "--"+name, v)
		}
	}
	if c.Bool("debug") {
		rt.SupervisorArgs = append(rt.SupervisorArgs, "--debug")
	}
	return rt, nil
}

// containerAction is the action of a command that takes one container id:
// it checks the arguments, opens the runtime and calls fn with the id.
func containerAction(fn func(c *cli.Context, rt *runtime.Runtime, id string) error) cli.ActionFunc {
	return func(c *cli.Context) error {
		if err := checkArgs(c, 1, 1); err != nil {
			return err
		}
		rt, err := newRuntime(c)
		if err != nil {
			return err
		}
		return fn(c, rt, c.Args().First())
	}
}

// checkArgs enforces a command's positional argument count with one line.
func checkArgs(c *cli.Context, minArgs, maxArgs int) error {
	n := c.NArg()
	switch {
	case minArgs == maxArgs && n != minArgs:
		return fmt.Errorf("%q requires exactly %d argument(s), got %d", c.Command.Name, minArgs, n)
	case n < minArgs:
		return fmt.Errorf("%q requires at least %d argument(s), got %d", c.Command.Name, minArgs, n)
	case maxArgs >= 0 && n > maxArgs:
		return fmt.Errorf("%q takes at most %d argument(s), got %d", c.Command.Name, maxArgs, n)
	}
	return nil
}

var createFlags = []cli.Flag{
	&cli.StringFlag{Name: "bundle", Aliases: []string{"b"}, Usage: "path to the bundle `DIR` (default: the current directory)"},
	&cli.StringFlag{Name: "console-socket", Usage: "unix socket `PATH` that receives the pty master"},
	&cli.StringFlag{Name: "pidfd-socket", Usage: "unix socket `PATH` that receives a pidfd of the init"},
	&cli.StringFlag{Name: "pid-file", Usage: "write the init's pid to `FILE`"},
	&cli.BoolFlag{Name: "no-pivot", Usage: "do not use pivot_root (for a rootfs on ramfs)"},
	&cli.BoolFlag{Name: "no-new-keyring", Usage: "do not give the container its own session keyring"},
	&cli.IntFlag{Name: "preserve-fds", Usage: "pass `N` extra fds (3..3+N-1) to the container"},
	&cli.StringFlag{Name: "meta", Usage: "judge the container and write its report to `FILE` (- for stdout)"},
	&cli.StringFlag{Name: "meta-format", Usage: "format of the report: isolate or json"},
}

// enterBundle makes the bundle the working directory, as runc does: the
// hooks that create runs inherit it.
func enterBundle(c *cli.Context) error {
	if b := c.String("bundle"); b != "" {
		if err := os.Chdir(b); err != nil {
			return fmt.Errorf("bundle: %w", err)
		}
	}
	return nil
}

// absPath makes a path given on the command line absolute; "" and "-"
// (stdout) are kept.
func absPath(p string) string {
	if p == "" || p == "-" {
		return p
	}
	if abs, err := filepath.Abs(p); err == nil {
		return abs
	}
	return p
}

// createOpts are the create flags, their paths made absolute: create
// changes into the bundle.
func createOpts(c *cli.Context) runtime.CreateOpts {
	return runtime.CreateOpts{
		Bundle:        absPath(c.String("bundle")),
		PidFile:       absPath(c.String("pid-file")),
		ConsoleSocket: c.String("console-socket"),
		PidfdSocket:   c.String("pidfd-socket"),
		NoPivot:       c.Bool("no-pivot"),
		NoNewKeyring:  c.Bool("no-new-keyring"),
		PreserveFDs:   c.Int("preserve-fds"),
		Stdio:         runtime.OSStdio(),
		Meta:          absPath(c.String("meta")),
		MetaFormat:    c.String("meta-format"),
	}
}

var createCommand = &cli.Command{
	Name:      "create",
	Usage:     "create a container, its init waiting for start",
	ArgsUsage: "<container-id>",
	Flags:     createFlags,
	Action: containerAction(func(c *cli.Context, rt *runtime.Runtime, id string) error {
		o := createOpts(c)
		if err := enterBundle(c); err != nil {
			return err
		}
		return rt.Create(c.Context, id, o)
	}),
}

var runCommand = &cli.Command{
	Name:      "run",
	Usage:     "create and start a container, wait for it and delete it",
	ArgsUsage: "<container-id>",
	Flags: append([]cli.Flag{
		&cli.BoolFlag{Name: "detach", Aliases: []string{"d"}, Usage: "return once the process started"},
		&cli.BoolFlag{Name: "keep", Usage: "do not delete the container after it exits"},
		&cli.BoolFlag{Name: "no-subreaper", Usage: "accepted for runc compatibility; mini-isolate always reaps", Hidden: true},
	}, createFlags...),
	Action: containerAction(func(c *cli.Context, rt *runtime.Runtime, id string) error {
		o := createOpts(c)
		if err := enterBundle(c); err != nil {
			return err
		}
		o.Detach = c.Bool("detach")
		o.Keep = c.Bool("keep")
		status, err := rt.Run(c.Context, id, o)
		if err != nil {
			return err
		}
		if status != 0 {
			return exitError{code: status}
		}
		return nil
	}),
}

var startCommand = &cli.Command{
	Name:      "start",
	Usage:     "start the process of a created container",
	ArgsUsage: "<container-id>",
	Action: containerAction(func(c *cli.Context, rt *runtime.Runtime, id string) error {
		return rt.Start(c.Context, id)
	}),
}

var stateCommand = &cli.Command{
	Name:      "state",
	Usage:     "print the state of a container as JSON",
	ArgsUsage: "<container-id>",
	Action: containerAction(func(c *cli.Context, rt *runtime.Runtime, id string) error {
		s, err := rt.State(id)
		if err != nil {
			return err
		}
		return printJSON(s)
	}),
}

var killCommand = &cli.Command{
	Name:      "kill",
	Usage:     "send a signal (default TERM) to the container's init",
	ArgsUsage: "<container-id> [signal]",
	Flags: []cli.Flag{
		&cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "signal every process in the container"},
	},
	Action: func(c *cli.Context) error {
		if err := checkArgs(c, 1, 2); err != nil {
			return err
		}
		sig := unix.SIGTERM
		if s := c.Args().Get(1); s != "" {
			var err error
			if sig, err = runtime.ParseSignal(s); err != nil {
				return err
			}
		}
		rt, err := newRuntime(c)
		if err != nil {
			return err
		}
		return rt.Kill(c.Args().First(), sig, c.Bool("all"))
	},
}

var deleteCommand = &cli.Command{
	Name:      "delete",
	Usage:     "delete a stopped container and what it holds",
	ArgsUsage: "<container-id>",
	Flags: []cli.Flag{
		&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "kill the container first if it still runs; an unknown id is not an error"},
	},
	Action: containerAction(func(c *cli.Context, rt *runtime.Runtime, id string) error {
		return rt.Delete(c.Context, id, c.Bool("force"))
	}),
}

// superviseCommand is the detached supervisor of a judged container;
// create starts it, with its socket, readiness pipe and the state
// directory's lock as fds 3 to 5 (judged.Spawn).
var superviseCommand = &cli.Command{
	Name:      "supervise",
	Usage:     "supervise a judged container (started by create; not for direct use)",
	ArgsUsage: "<container-id>",
	Hidden:    true,
	Action: containerAction(func(c *cli.Context, rt *runtime.Runtime, id string) error {
		return rt.Supervise(background(c), id)
	}),
}

var pauseCommand = &cli.Command{
	Name:      "pause",
	Usage:     "freeze every process of a container",
	ArgsUsage: "<container-id>",
	Action: containerAction(func(c *cli.Context, rt *runtime.Runtime, id string) error {
		return rt.Pause(id)
	}),
}

var resumeCommand = &cli.Command{
	Name:      "resume",
	Usage:     "thaw a paused container",
	ArgsUsage: "<container-id>",
	Action: containerAction(func(c *cli.Context, rt *runtime.Runtime, id string) error {
		return rt.Resume(id)
	}),
}

func printJSON(v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(os.Stdout, string(data))
	return err
}
