package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	miniisolate "github.com/mini-isolate/mini-isolate"
	"github.com/mini-isolate/mini-isolate/box"
	"github.com/mini-isolate/mini-isolate/runtime"
	"github.com/mini-isolate/mini-isolate/runtime/meta"
)

// Exit statuses of isolate: the program was fine, the program failed (RE,
// SG, TO), or the sandbox failed or was used wrongly.
const (
	isoOK      = 0
	isoFailed  = 1
	isoSandbox = 2
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

const isolateUsage = `Usage: isolate [<options>] <command>

Commands:
    --init             initialize a box (prints its directory)
    --run -- <cmd>     run a program in an initialized box
    --cleanup          remove a box
    --version          show the version
    --print-cg-root    show the cgroup under which boxes live
    --check-config     check the configuration file

Options (isolate 2.x, plus --cg-timing/--no-cg-timing of 1.x):
    -b, --box-id=<id>      box to use (default 0)
    -M, --meta=<file>      write the report to <file> (- for stdout)
    -t, --time=<s>         CPU time limit
    -w, --wall-time=<s>    wall-clock limit
    -x, --extra-time=<s>   kill only after this much CPU time (a threshold, as in isolate)
    -m, --mem=<KiB>        address-space limit per process
    --cg-mem=<KiB>         memory limit of the whole run (needs --cg)
    -k, --stack=<KiB>      stack limit
    -f, --fsize=<KiB>      file size limit
    -n, --open-files=<n>   open files limit (default 1024)
    --core=<KiB>           core file size limit (default 0)
    -p, --processes[=<n>]  most processes and threads at once (default 1; -p alone: no limit)
    -i, --stdin=<file>     -o, --stdout=<file>   -r, --stderr=<file>   --stderr-to-stdout
    -c, --chdir=<dir>      working directory inside the box (default /box)
    -d, --dir=<in>[=<out>][:<opt>...]   bind a directory (rw, dev, noexec, maybe, fs, tmp, norec)
    -D, --no-default-dirs  drop the default directory rules
    -e, --full-env         inherit the whole environment
    -E, --env=<var>[=<val>] inherit, set (or with =, unset) a variable
    --cg                   control-group mode
    --share-net            keep the host's network
    --inherit-fds          pass file descriptors from 3 up to the program
    --special-files        keep special files in the box
    --tty-hack             accepted; the program can always use the terminal
    -s, --silent           no status line
    -v, --verbose          more messages (repeatable)
    --extended-meta        add mini-isolate's own keys to the meta file (time-user, time-us, mem-peak, ...)
    --wait                 wait for a busy box instead of failing
    -q, --quota=<blk>,<ino> disk quota of the box user (with --init)
    --as-uid=<uid> --as-gid=<gid>  act for another user (root only)

Configuration: /etc/mini-isolate/isolate.conf, or $MINI_ISOLATE_CONFIG.
`

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

// isolateMain runs isolate's command line and returns isolate's exit
// status. setuid says a user other than root runs a setuid-root binary:
// then the configuration is the system's, whatever the environment says,
// and the meta file is opened with the caller's rights.
func isolateMain(argv []string, root string, setuid bool) int {
	a, err := parseIsolateArgs(argv)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		fmt.Fprintln(os.Stderr, "Try `isolate --help' for more information.")
		return isoSandbox
	}
	switch a.action {
	case "help":
		fmt.Print(isolateUsage)
		return isoSandbox
	case "version":
		fmt.Printf("mini-isolate %s, isolate-compatible front end (isolate 2.x command line)\n", miniisolate.Version())
		return isoOK
	}
	if a.action == "run" {
		// Opened first, as isolate does, so that a bad path fails early.
		if a.sink, err = openMeta(a.meta, setuid); err != nil {
			return isoFail(a, err)
		}
	}
	cfg, err := box.LoadConfig(!setuid)
	if err != nil {
		return isoFail(a, err)
	}
	a.extendedMeta = a.extendedMeta || cfg.ExtendedMeta
	if a.action == "print-cg-root" {
		fmt.Println(cfg.CgroupRoot())
		return isoOK
	}
	if a.action == "check-config" {
		if a.verbose >= 2 {
			cfg.Write(os.Stdout)
		}
		return isoOK
	}
	m, err := newManager(a, cfg, root)
	if err != nil {
		return isoFail(a, err)
	}
	return isolateAction(context.Background(), m, a)
}

// newManager is the box manager for the caller.
func newManager(a *isoArgs, cfg *box.Config, root string) (*box.Manager, error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("must be started as root")
	}
	rt, err := runtime.New(root, false)
	if err != nil {
		return nil, err
	}
	m := &box.Manager{Config: cfg, Runtime: rt, CallerUID: os.Getuid(), CallerGID: os.Getgid(), Verbose: a.verbose, Log: os.Stderr}
	if a.asUID >= 0 {
		if os.Getuid() != 0 {
			return nil, errors.New("you must be root to use --as-uid")
		}
		m.CallerUID, m.CallerGID = a.asUID, a.asGID
	}
	return m, nil
}

// isolateAction runs --init, --cleanup or --run.
func isolateAction(ctx context.Context, m *box.Manager, a *isoArgs) int {
	switch a.action {
	case "init":
		dir, err := m.Init(ctx, a.boxID, box.InitOptions{Cg: a.cg, Wait: a.wait, QuotaBlocks: a.quota[0], QuotaInodes: a.quota[1]})
		if err != nil {
			return isoFail(a, err)
		}
		fmt.Println(dir)
		return isoOK
	case "cleanup":
		if err := m.Cleanup(ctx, a.boxID, a.cg, a.wait); err != nil {
			return isoFail(a, err)
		}
		return isoOK
	}
	return isolateRun(ctx, m, a)
}

func isolateRun(ctx context.Context, m *box.Manager, a *isoArgs) int {
	a.run.Stdio = [3]*os.File{os.Stdin, os.Stdout, os.Stderr}
	if a.run.InheritFDs {
		for _, fd := range inheritedFDs {
			a.run.Extra = append(a.run.Extra, os.NewFile(uintptr(fd), "inherited-"+strconv.Itoa(fd)))
		}
	}
	// A signal to isolate ends the run, as with isolate, and the report
	// says so.
	ctx, stop := signal.NotifyContext(ctx, unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT)
	defer stop()
	res, err := m.Run(ctx, a.boxID, &a.run)
	if err != nil {
		return isoFail(a, err)
	}
	if msg := box.IsolateReport(res); msg != "" {
		fmt.Fprintln(os.Stderr, msg)
	}
	if err := a.sink.write(res, a.cg, a.extendedMeta); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return isoSandbox
	}
	// isolate prints a sandbox failure even with -s.
	if !a.silent || res.Status == meta.InternalError {
		fmt.Fprintln(os.Stderr, box.IsolateStatusLine(res))
	}
	switch res.Status {
	case meta.OK:
		return isoOK
	case meta.InternalError:
		return isoSandbox
	default:
		return isoFailed
	}
}

// isoFail reports a sandbox error: on stderr always, and as status XX in
// the meta file when one was asked for.
func isoFail(a *isoArgs, err error) int {
	msg := err.Error()
	if msg != "" {
		msg = strings.ToUpper(msg[:1]) + msg[1:]
	}
	fmt.Fprintln(os.Stderr, msg)
	if a.action == "run" && a.sink != nil {
		_ = a.sink.write(meta.Failure(msg), a.cg, a.extendedMeta)
	}
	return isoSandbox
}
