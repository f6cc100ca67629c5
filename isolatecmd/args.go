package isolatecmd

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/mini-isolate/mini-isolate/box"
	"github.com/mini-isolate/mini-isolate/policy"
)

// isoOption is one option of isolate's command line, parsed the way
// getopt_long does: short options may be bundled (-sv) and take their
// argument attached or as the next word, long ones as --opt=value or
// --opt value, and an unambiguous prefix of a long name is accepted.
type isoOption struct {
	long  string
	short byte
	// arg: 0 none, 1 required, 2 optional (attached only, as -p4 or
	// --processes=4).
	arg int
}

var isoOptions = []isoOption{
	{"box-id", 'b', 1}, {"chdir", 'c', 1}, {"dir", 'd', 1}, {"no-default-dirs", 'D', 0},
	{"full-env", 'e', 0}, {"env", 'E', 1}, {"fsize", 'f', 1}, {"stdin", 'i', 1},
	{"stack", 'k', 1}, {"mem", 'm', 1}, {"meta", 'M', 1}, {"open-files", 'n', 1},
	{"stdout", 'o', 1}, {"processes", 'p', 2}, {"quota", 'q', 1}, {"stderr", 'r', 1},
	{"silent", 's', 0}, {"time", 't', 1}, {"verbose", 'v', 0}, {"wall-time", 'w', 1},
	{"extra-time", 'x', 1},
	{"cg", 0, 0}, {"cg-mem", 0, 1}, {"cg-timing", 0, 0}, {"no-cg-timing", 0, 0},
	{"core", 0, 1}, {"inherit-fds", 0, 0}, {"share-net", 0, 0}, {"special-files", 0, 0},
	{"stderr-to-stdout", 0, 0}, {"tty-hack", 0, 0}, {"wait", 0, 0}, {"extended-meta", 0, 0},
	{"as-uid", 0, 1}, {"as-gid", 0, 1},
	{"init", 0, 0}, {"run", 0, 0}, {"cleanup", 0, 0}, {"version", 0, 0},
	{"print-cg-root", 0, 0}, {"check-config", 0, 0}, {"help", 0, 0},
}

// isoArgs is a parsed isolate command line.
type isoArgs struct {
	action  string
	boxID   int
	silent  bool
	verbose int
	meta    string
	cg      bool
	wait    bool
	asUID   int
	asGID   int
	quota   [2]uint64
	// extendedMeta adds mini-isolate's keys to the meta file.
	extendedMeta bool
	// sink is where the meta file goes, opened before the run.
	sink *metaSink
	// extraTime is -x: isolate's kill threshold, not a grace.
	extraTime time.Duration
	run       box.RunOptions
	// positional is the program and its arguments.
	positional []string
}

// isoUsageError is a bad command line: isolate exits 2 for it.
type isoUsageError struct{ msg string }

func (e isoUsageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return isoUsageError{fmt.Sprintf(format, args...)} }

func findLong(name string) (*isoOption, error) {
	var found *isoOption
	for i := range isoOptions {
		o := &isoOptions[i]
		if o.long == name {
			return o, nil
		}
		if strings.HasPrefix(o.long, name) {
			if found != nil {
				return nil, usagef("option %q is ambiguous", "--"+name)
			}
			found = o
		}
	}
	if found == nil {
		return nil, usagef("unrecognized option %q", "--"+name)
	}
	return found, nil
}

func findShort(c byte) *isoOption {
	for i := range isoOptions {
		if isoOptions[i].short == c {
			return &isoOptions[i]
		}
	}
	return nil
}

// parseIsolateArgs parses isolate's command line.
func parseIsolateArgs(argv []string) (*isoArgs, error) {
	a := &isoArgs{asUID: -1, asGID: -1}
	a.run.Limits.OpenFiles = 1024
	a.run.Limits.Processes = 1
	for i := 0; i < len(argv); i++ {
		arg := argv[i]
		switch {
		case arg == "--":
			a.positional = append(a.positional, argv[i+1:]...)
			i = len(argv)
		case strings.HasPrefix(arg, "--"):
			name, val, hasVal := strings.Cut(arg[2:], "=")
			o, err := findLong(name)
			if err != nil {
				return nil, err
			}
			switch {
			case o.arg == 0 && hasVal:
				return nil, usagef("option '--%s' doesn't allow an argument", o.long)
			case o.arg == 1 && !hasVal:
				if i+1 >= len(argv) {
					return nil, usagef("option '--%s' requires an argument", o.long)
				}
				i++
				val, hasVal = argv[i], true
			}
			if err := a.set(o, val, hasVal); err != nil {
				return nil, err
			}
		case strings.HasPrefix(arg, "-") && arg != "-":
			for j := 1; j < len(arg); j++ {
				o := findShort(arg[j])
				if o == nil {
					return nil, usagef("invalid option -- %q", arg[j:j+1])
				}
				rest := arg[j+1:]
				if o.arg == 0 {
					if err := a.set(o, "", false); err != nil {
						return nil, err
					}
					continue
				}
				if rest == "" && o.arg == 1 {
					if i+1 >= len(argv) {
						return nil, usagef("option requires an argument -- '%c'", o.short)
					}
					i++
					rest = argv[i]
				}
				if err := a.set(o, rest, rest != ""); err != nil {
					return nil, err
				}
				break
			}
		default:
			// getopt_long moves words that are not options to the end.
			a.positional = append(a.positional, arg)
		}
	}
	if a.action == "" {
		return nil, usagef("please specify an action (--init, --run, --cleanup, ...)")
	}
	if a.action != "run" && len(a.positional) > 0 {
		return nil, usagef("--%s takes no arguments", a.action)
	}
	if a.action == "run" {
		if len(a.positional) == 0 {
			return nil, usagef("--run needs a program to run")
		}
		a.run.Args = a.positional
	}
	if (a.asUID >= 0) != (a.asGID >= 0) {
		return nil, usagef("--as-uid and --as-gid must be used either both or none")
	}
	a.run.Cg, a.run.Wait = a.cg, a.wait
	// -x is when the kill comes; the supervisor takes a grace after -t.
	a.run.Limits.ExtraTime = policy.Duration(max(0, a.extraTime-time.Duration(a.run.Limits.Time)))
	return a, nil
}

func (a *isoArgs) set(o *isoOption, val string, hasVal bool) error {
	var err error
	r := &a.run
	switch o.long {
	case "init", "run", "cleanup", "version", "print-cg-root", "check-config", "help":
		if a.action != "" && a.action != o.long {
			return usagef("only one command is allowed")
		}
		a.action = o.long
	case "box-id":
		a.boxID, err = uintArg(o, val)
	case "chdir":
		r.Chdir = val
	case "dir":
		var rule policy.DirRule
		if rule, err = policy.ParseDirRule(val); err == nil {
			r.Dirs = append(r.Dirs, rule)
		}
	case "no-default-dirs":
		r.NoDefaultDirs = true
	case "full-env":
		r.FullEnv = true
	case "env":
		var rule policy.EnvRule
		if rule, err = policy.ParseEnvRule(val); err == nil {
			r.Env = append(r.Env, rule)
		}
	case "stdin":
		r.Stdin = val
	case "meta":
		a.meta = val
	case "stdout":
		r.Stdout = val
	case "quota":
		blk, ino, ok := strings.Cut(val, ",")
		b, e1 := strconv.ParseUint(blk, 10, 63)
		n, e2 := strconv.ParseUint(ino, 10, 63)
		if !ok || e1 != nil || e2 != nil {
			return usagef("invalid quota %q: want BLOCKS,INODES", val)
		}
		a.quota = [2]uint64{b, n}
	case "stderr":
		r.Stderr, r.StderrToStdout = val, false
	case "stderr-to-stdout":
		r.StderrToStdout, r.Stderr = true, ""
	case "silent":
		a.silent = true
	case "extended-meta":
		a.extendedMeta = true
	case "verbose":
		a.verbose++
	case "cg":
		a.cg = true
	case "cg-timing", "no-cg-timing":
		// isolate 1.x options that Judge0 still sends: CPU time always
		// comes from the cgroup here.
	case "inherit-fds":
		r.InheritFDs = true
	case "share-net":
		r.ShareNet = true
	case "special-files":
		r.SpecialFiles = true
	case "tty-hack":
		// The program never shares the caller's session, so it is never a
		// background job of the caller's terminal: nothing to do.
	case "wait":
		a.wait = true
	case "as-uid":
		a.asUID, err = uintArg(o, val)
	case "as-gid":
		a.asGID, err = uintArg(o, val)
	default:
		return a.setLimit(o, val, hasVal)
	}
	return err
}

// setLimit sets one of the run's limits.
func (a *isoArgs) setLimit(o *isoOption, val string, hasVal bool) error {
	var err error
	l := &a.run.Limits
	switch o.long {
	case "fsize":
		l.FileSize, err = kibArg(o, val)
	case "stack":
		l.Stack, err = kibArg(o, val)
	case "mem":
		l.AddressSpace, err = kibArg(o, val)
	case "open-files":
		l.OpenFiles, err = countArg(o, val)
	case "processes":
		l.Processes = 0
		if hasVal {
			l.Processes, err = countArg(o, val)
		}
	case "time":
		l.Time, err = secondsArg(o, val)
	case "wall-time":
		l.WallTime, err = secondsArg(o, val)
	case "extra-time":
		var x policy.Duration
		x, err = secondsArg(o, val)
		a.extraTime = time.Duration(x)
	case "cg-mem":
		l.Memory, err = kibArg(o, val)
	case "core":
		l.Core, err = kibArg(o, val)
	default:
		return usagef("unsupported option --%s", o.long)
	}
	return err
}

func optName(o *isoOption) string {
	if o.short != 0 {
		return fmt.Sprintf("-%c/--%s", o.short, o.long)
	}
	return "--" + o.long
}

// uintArg parses a decimal count in [0, 2^31-1], as isolate's opt_uint.
func uintArg(o *isoOption, val string) (int, error) {
	n, err := strconv.ParseUint(val, 10, 31)
	if err != nil {
		return 0, usagef("invalid argument %q of %s: want a non-negative integer", val, optName(o))
	}
	return int(n), nil
}

// kibArg parses a size in KiB, as isolate takes them, into bytes.
func kibArg(o *isoOption, val string) (policy.Size, error) {
	n, err := uintArg(o, val)
	return policy.Size(n) << 10, err
}

func countArg(o *isoOption, val string) (int64, error) {
	n, err := uintArg(o, val)
	return int64(n), err
}

// secondsArg parses a time in seconds. isolate takes anything atof takes;
// a value that is not a number, negative or over a day is refused here.
func secondsArg(o *isoOption, val string) (policy.Duration, error) {
	f, err := strconv.ParseFloat(val, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > 86400 {
		return 0, usagef("invalid argument %q of %s: want seconds between 0 and 86400", val, optName(o))
	}
	// Milliseconds, truncated, as isolate keeps them.
	return policy.Duration(time.Duration(f*1000) * time.Millisecond), nil
}

// RunArgs is one --run command line, parsed.
type RunArgs struct {
	Box int
	Cg  bool
	Run box.RunOptions
}

// ParseRun parses isolate's options for a run and the program after
// them ("-b 1 --cg -t 1 -- ./a.out"), as --run takes them; --run itself
// is implied.
func ParseRun(args []string) (*RunArgs, error) {
	a, err := parseIsolateArgs(append([]string{"--run"}, args...))
	if err != nil {
		return nil, err
	}
	return &RunArgs{Box: a.boxID, Cg: a.cg, Run: a.run}, nil
}
