package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/opencontainers/runtime-spec/specs-go"
	"github.com/urfave/cli/v2"

	"github.com/mini-isolate/mini-isolate/runtime"
	"github.com/mini-isolate/mini-isolate/specconv"
)

var execCommand = &cli.Command{
	Name:      "exec",
	Usage:     "run a new process in a running container",
	ArgsUsage: "<container-id> <command> [args...]  |  --process FILE <container-id>",
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "console-socket", Usage: "unix socket `PATH` that receives the pty master"},
		&cli.StringFlag{Name: "pidfd-socket", Usage: "unix socket `PATH` that receives a pidfd of the process"},
		&cli.StringFlag{Name: "cwd", Usage: "working directory in the container"},
		&cli.StringSliceFlag{Name: "env", Aliases: []string{"e"}, Usage: "set an environment variable `NAME=VALUE`"},
		&cli.BoolFlag{Name: "tty", Aliases: []string{"t"}, Usage: "allocate a pseudo-terminal"},
		&cli.StringFlag{Name: "user", Aliases: []string{"u"}, Usage: "run as `UID[:GID]`"},
		&cli.Int64SliceFlag{Name: "additional-gids", Aliases: []string{"g"}, Usage: "additional group ids"},
		&cli.StringFlag{Name: "process", Aliases: []string{"p"}, Usage: "OCI process JSON `FILE` (\"-\" for stdin)"},
		&cli.BoolFlag{Name: "detach", Aliases: []string{"d"}, Usage: "return once the process started"},
		&cli.StringFlag{Name: "pid-file", Usage: "write the process's pid to `FILE`"},
		&cli.StringFlag{Name: "process-label", Usage: "SELinux label of the process"},
		&cli.StringFlag{Name: "apparmor", Usage: "AppArmor profile of the process"},
		&cli.BoolFlag{Name: "no-new-privs", Usage: "set no_new_privs for the process"},
		&cli.StringSliceFlag{Name: "cap", Aliases: []string{"c"}, Usage: "add a capability"},
		&cli.IntFlag{Name: "preserve-fds", Usage: "pass `N` extra fds (3..3+N-1) to the process"},
		&cli.StringSliceFlag{Name: "cgroup", Usage: "run in an existing sub-cgroup: `[CONTROLLER[,...]:]PATH`"},
		&cli.BoolFlag{Name: "ignore-paused", Usage: "allow exec in a paused container"},
	},
	Action: func(c *cli.Context) error {
		if err := runExec(c); err != nil {
			if _, ok := err.(exitError); ok {
				return err
			}
			return codedError{err: fmt.Errorf("exec failed: %w", err), code: 255}
		}
		return nil
	},
}

func runExec(c *cli.Context) error {
	if err := checkArgs(c, 1, -1); err != nil {
		return err
	}
	rt, err := newRuntime(c)
	if err != nil {
		return err
	}
	id := c.Args().First()
	p, err := execProcess(c, rt, id)
	if err != nil {
		return err
	}
	sub, err := runtime.ParseSubCgroups(c.StringSlice("cgroup"))
	if err != nil {
		return err
	}
	status, err := rt.Exec(background(c), id, runtime.ExecOpts{
		Process:       p,
		Detach:        c.Bool("detach"),
		PidFile:       c.String("pid-file"),
		ConsoleSocket: c.String("console-socket"),
		PidfdSocket:   c.String("pidfd-socket"),
		PreserveFDs:   c.Int("preserve-fds"),
		Stdio:         runtime.OSStdio(),
		IgnorePaused:  c.Bool("ignore-paused"),
		SubCgroups:    sub,
	})
	if err != nil {
		return err
	}
	if status != 0 {
		return exitError{code: status}
	}
	return nil
}

// execProcess reads --process, or starts from the container's own process
// and applies the command line and the flags.
func execProcess(c *cli.Context, rt *runtime.Runtime, id string) (*specs.Process, error) {
	if path := c.String("process"); path != "" {
		data, err := readInput(path)
		if err != nil {
			return nil, fmt.Errorf("process file: %w", err)
		}
		var p specs.Process
		if err := specconv.Decode(data, &p); err != nil {
			return nil, fmt.Errorf("process file %s: %w", path, err)
		}
		if c.Bool("tty") {
			p.Terminal = true
		}
		return &p, nil
	}
	if c.NArg() < 2 {
		return nil, fmt.Errorf("%q needs a command to run, or --process", c.Command.Name)
	}
	p, err := rt.BaseProcess(id)
	if err != nil {
		return nil, err
	}
	p.Args = c.Args().Slice()[1:]
	p.Terminal = c.Bool("tty")
	p.ConsoleSize = nil
	if cwd := c.String("cwd"); cwd != "" {
		p.Cwd = cwd
	}
	p.Env = append(p.Env, c.StringSlice("env")...)
	if u := c.String("user"); u != "" {
		uid, gid, hasGID := strings.Cut(u, ":")
		n, err := strconv.ParseUint(uid, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("--user %q: uid must be a number", u)
		}
		p.User.UID = uint32(n)
		if hasGID {
			g, err := strconv.ParseUint(gid, 10, 32)
			if err != nil {
				return nil, fmt.Errorf("--user %q: gid must be a number", u)
			}
			p.User.GID = uint32(g)
		}
	}
	for _, g := range c.Int64Slice("additional-gids") {
		if g < 0 || g > 1<<32-1 {
			return nil, fmt.Errorf("--additional-gids %d: out of range", g)
		}
		p.User.AdditionalGids = append(p.User.AdditionalGids, uint32(g))
	}
	if v := c.String("process-label"); v != "" {
		p.SelinuxLabel = v
	}
	if v := c.String("apparmor"); v != "" {
		p.ApparmorProfile = v
	}
	if c.Bool("no-new-privs") {
		p.NoNewPrivileges = true
	}
	if caps := c.StringSlice("cap"); len(caps) > 0 {
		if p.Capabilities == nil {
			p.Capabilities = &specs.LinuxCapabilities{}
		}
		pc := *p.Capabilities
		pc.Bounding = append(pc.Bounding, caps...)
		pc.Effective = append(pc.Effective, caps...)
		pc.Permitted = append(pc.Permitted, caps...)
		// As runc: a process whose spec has an inheritable set gets the
		// capability as ambient too, so that it survives execve.
		if pc.Inheritable != nil {
			pc.Ambient = append(pc.Ambient, caps...)
		}
		p.Capabilities = &pc
	}
	return p, nil
}
