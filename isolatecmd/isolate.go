// Package isolatecmd is isolate(1)'s command line: --init, --run,
// --cleanup and their options on mini-isolate's boxes. The CLI runs it for
// its own caller, and the manager for the callers it serves.
package isolatecmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	miniisolate "github.com/mini-isolate/mini-isolate"
	"github.com/mini-isolate/mini-isolate/box"
	"github.com/mini-isolate/mini-isolate/runtime"
	"github.com/mini-isolate/mini-isolate/runtime/meta"
	"github.com/mini-isolate/mini-isolate/runtime/supervise"
)

// Exit statuses of isolate: the program was fine, the program failed (RE,
// SG, TO), or the sandbox failed or was used wrongly.
const (
	isoOK      = 0
	isoFailed  = 1
	isoSandbox = 2
)

// Invocation is one run of isolate's command line: its arguments, and the
// caller's environment, identity and open files.
type Invocation struct {
	Args []string
	// Env is the caller's environment, for -e and -E VAR.
	Env []string
	// Dir is the caller's working directory, against which a relative
	// meta file is opened; nil is this process's.
	Dir *os.File
	// Stdin, Stdout and Stderr are the caller's; Extra its fds from 3
	// up, for --inherit-fds.
	Stdin, Stdout, Stderr *os.File
	Extra                 []*os.File
	// UID and GID are the real caller's; Groups its supplementary groups,
	// nil when this process already has them (a setuid binary).
	UID, GID int
	Groups   []int
	// Setuid says that a user other than root runs a setuid-root binary:
	// the configuration is then the system's, whatever the environment
	// says, and the meta file is opened with the caller's rights.
	Setuid bool
	// Root is the runtime's state root ("" for the default).
	Root string
	// Config, when set, is used instead of loading the configuration.
	Config *box.Config
	// Pool and Reaper, when set, lend spare box containers to --init and
	// take box containers away at --cleanup (see box.Manager).
	Pool   box.Pool
	Reaper box.Reaper
	// RunCgroups, when set, makes runs' cgroups ahead of time.
	RunCgroups *supervise.RunCgroups
	// InitConns, when set, keeps connections to box inits between runs.
	InitConns *supervise.InitConns
}

// out and errOut are where the front end prints.
func (inv *Invocation) out() io.Writer    { return orDiscard(inv.Stdout) }
func (inv *Invocation) errOut() io.Writer { return orDiscard(inv.Stderr) }

func orDiscard(f *os.File) io.Writer {
	if f == nil {
		return io.Discard
	}
	return f
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

// Main runs isolate's command line for inv and returns isolate's exit
// status. Cancelling ctx ends a run, which the report then says.
func Main(ctx context.Context, inv *Invocation) int {
	a, err := parseIsolateArgs(inv.Args)
	if err != nil {
		fmt.Fprintln(inv.errOut(), err)
		fmt.Fprintln(inv.errOut(), "Try `isolate --help' for more information.")
		return isoSandbox
	}
	switch a.action {
	case "help":
		fmt.Fprint(inv.out(), isolateUsage)
		return isoSandbox
	case "version":
		fmt.Fprintf(inv.out(), "mini-isolate %s, isolate-compatible front end (isolate 2.x command line)\n", miniisolate.Version())
		return isoOK
	}
	if a.action == "run" {
		// Opened first, as isolate does, so that a bad path fails early.
		if a.sink, err = openMeta(inv, a.meta); err != nil {
			return isoFail(inv, a, err)
		}
		defer a.sink.close()
	}
	cfg := inv.Config
	if cfg == nil {
		if cfg, err = box.LoadConfig(!inv.Setuid); err != nil {
			return isoFail(inv, a, err)
		}
	}
	a.extendedMeta = a.extendedMeta || cfg.ExtendedMeta
	switch a.action {
	case "print-cg-root":
		fmt.Fprintln(inv.out(), cfg.CgroupRoot())
		return isoOK
	case "check-config":
		if a.verbose >= 2 {
			cfg.Write(inv.out())
		}
		return isoOK
	}
	m, err := newManager(inv, a, cfg)
	if err != nil {
		return isoFail(inv, a, err)
	}
	return isolateAction(ctx, inv, m, a)
}

// newManager is the box manager for the caller.
func newManager(inv *Invocation, a *isoArgs, cfg *box.Config) (*box.Manager, error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("must be started as root")
	}
	rt, err := runtime.New(inv.Root, false)
	if err != nil {
		return nil, err
	}
	m := &box.Manager{
		Config: cfg, Runtime: rt, CallerUID: inv.UID, CallerGID: inv.GID,
		Verbose: a.verbose, Log: inv.errOut(), Pool: inv.Pool, Reaper: inv.Reaper,
		RunCgroups: inv.RunCgroups, InitConns: inv.InitConns,
	}
	if a.asUID >= 0 {
		if inv.UID != 0 {
			return nil, errors.New("you must be root to use --as-uid")
		}
		m.CallerUID, m.CallerGID = a.asUID, a.asGID
	}
	return m, nil
}

// isolateAction runs --init, --cleanup or --run.
func isolateAction(ctx context.Context, inv *Invocation, m *box.Manager, a *isoArgs) int {
	switch a.action {
	case "init":
		dir, err := m.Init(ctx, a.boxID, box.InitOptions{Cg: a.cg, Wait: a.wait, QuotaBlocks: a.quota[0], QuotaInodes: a.quota[1]})
		if err != nil {
			return isoFail(inv, a, err)
		}
		fmt.Fprintln(inv.out(), dir)
		return isoOK
	case "cleanup":
		if err := m.Cleanup(ctx, a.boxID, a.cg, a.wait); err != nil {
			return isoFail(inv, a, err)
		}
		return isoOK
	}
	return isolateRun(ctx, inv, m, a)
}

func isolateRun(ctx context.Context, inv *Invocation, m *box.Manager, a *isoArgs) int {
	a.run.Stdio = [3]*os.File{inv.Stdin, inv.Stdout, inv.Stderr}
	a.run.CallerEnv = inv.Env
	if a.run.InheritFDs {
		a.run.Extra = inv.Extra
	}
	res, err := m.Run(ctx, a.boxID, &a.run)
	if err != nil {
		return isoFail(inv, a, err)
	}
	if msg := box.IsolateReport(res); msg != "" {
		fmt.Fprintln(inv.errOut(), msg)
	}
	if err := a.sink.write(inv, res, a.cg, a.extendedMeta); err != nil {
		fmt.Fprintln(inv.errOut(), err)
		return isoSandbox
	}
	// isolate prints a sandbox failure even with -s.
	if !a.silent || res.Status == meta.InternalError {
		fmt.Fprintln(inv.errOut(), box.IsolateStatusLine(res))
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
func isoFail(inv *Invocation, a *isoArgs, err error) int {
	msg := err.Error()
	if msg != "" {
		msg = strings.ToUpper(msg[:1]) + msg[1:]
	}
	fmt.Fprintln(inv.errOut(), msg)
	if a.action == "run" && a.sink != nil {
		_ = a.sink.write(inv, meta.Failure(msg), a.cg, a.extendedMeta)
	}
	return isoSandbox
}
