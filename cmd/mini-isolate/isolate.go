package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/mini-isolate/mini-isolate/isolatecmd"
)

var isolateCommand = &cli.Command{
	Name:            "isolate",
	Usage:           "isolate(1)'s command line: --init, --run, --cleanup and their options",
	ArgsUsage:       "[isolate options] (--init | --run -- PROGRAM [ARGS...] | --cleanup | ...)",
	SkipFlagParsing: true,
	Action: func(c *cli.Context) error {
		root := ""
		if c.IsSet("root") {
			root = c.String("root")
		}
		return exitError{code: isolateMain(c.Args().Slice(), root, false)}
	},
}

func calledAsIsolate(argv0 string) bool { return filepath.Base(argv0) == "isolate" }

// inheritedFDs are the fds from 3 up that the process started with, taken
// before anything else opens one, for --inherit-fds.
var inheritedFDs []int

func init() {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return
	}
	for _, e := range entries {
		if fd, err := strconv.Atoi(e.Name()); err == nil && fd >= 3 {
			if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err == nil {
				inheritedFDs = append(inheritedFDs, fd)
			}
		}
	}
	sort.Ints(inheritedFDs)
}

// isolateMain runs isolate's command line for this process's caller and
// returns isolate's exit status. setuid says a user other than root runs a
// setuid-root binary.
func isolateMain(argv []string, root string, setuid bool) int {
	if code, ok := forwardIsolate(argv, root, setuid); ok {
		return code
	}
	inv := &isolatecmd.Invocation{
		Args: argv, Env: os.Environ(),
		Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
		UID: os.Getuid(), GID: os.Getgid(), Setuid: setuid, Root: root,
	}
	for _, fd := range inheritedFDs {
		inv.Extra = append(inv.Extra, os.NewFile(uintptr(fd), "inherited-"+strconv.Itoa(fd)))
	}
	// A signal to isolate ends the run, as with isolate, and the report
	// says so.
	ctx, stop := signal.NotifyContext(context.Background(), unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT)
	defer stop()
	return isolatecmd.Main(ctx, inv)
}

// setuidCaller says whether this process is a setuid-root binary run by
// another user: then only isolate's model holds (docs/install.md).
func setuidCaller() bool {
	return os.Getuid() != 0 && os.Geteuid() == 0
}

// refuseRaised refuses an execution that raised privileges other than by
// a setuid-root bit: file capabilities, set-group-ID, or set-user-ID to a
// user other than root. Any of them would give the caller the whole
// command line (other users' containers, any configuration) with root's
// powers; isolate refuses them too, as not started as root. The isolate
// front end exits as isolate does on an error, 2.
func refuseRaised(args []string) int {
	fmt.Fprintf(os.Stderr, "mini-isolate: refusing to run for uid %d with privileges raised by file capabilities or a set-ID bit other than setuid root (docs/install.md)\n", os.Getuid())
	if calledAsIsolate(args[0]) || (len(args) > 1 && args[1] == "isolate") {
		return 2
	}
	return 1
}

// setuidMain runs a setuid invocation: the isolate front end and nothing
// else, with the system configuration only.
func setuidMain(args []string) int {
	// The caller's fds go to the program only as --inherit-fds passes
	// them, never to a process this one starts as root.
	for _, fd := range inheritedFDs {
		unix.CloseOnExec(fd)
	}
	argv := args[1:]
	if !calledAsIsolate(args[0]) {
		if len(argv) == 0 || argv[0] != "isolate" {
			fmt.Fprintln(os.Stderr, "mini-isolate: only the isolate front end (isolate ... or mini-isolate isolate ...) is available to a user other than root")
			return 1
		}
		argv = argv[1:]
	}
	return isolateMain(argv, "", true)
}
