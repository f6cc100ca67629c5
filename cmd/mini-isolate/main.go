// Command mini-isolate is an OCI runtime for judging untrusted programs: a
// runc-compatible lifecycle on libcontainer.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	goruntime "runtime"
	"strings"

	"github.com/opencontainers/runtime-spec/specs-go"
	"github.com/sirupsen/logrus"
	"github.com/urfave/cli/v2"

	miniisolate "github.com/mini-isolate/mini-isolate"
	"github.com/mini-isolate/mini-isolate/internal/logging"
	"github.com/mini-isolate/mini-isolate/internal/privilege"
	"github.com/mini-isolate/mini-isolate/runtime"
)

// gitCommit is set by the Makefile with -ldflags.
var gitCommit = ""

func main() {
	if setuidCaller() {
		os.Exit(setuidMain(os.Args))
	}
	if os.Getuid() != 0 && privilege.RaisedByExec() {
		os.Exit(refuseRaised(os.Args))
	}
	// Called as "isolate" (through a symlink), be isolate.
	if calledAsIsolate(os.Args[0]) {
		os.Exit(isolateMain(os.Args[1:], "", false))
	}
	app := newApp()
	if err := app.Run(interspersed(app, os.Args)); err != nil {
		fatal(err)
	}
}

func newApp() *cli.App {
	app := &cli.App{
		Name:                   "mini-isolate",
		Usage:                  "an OCI runtime for judging untrusted programs",
		Version:                miniisolate.Version(),
		UseShortOptionHandling: false,
		// runc takes "--env A=1,2" as one value, as every string-slice flag.
		DisableSliceFlagSeparator: true,
		Writer:                    os.Stdout,
		ErrWriter:                 os.Stderr,
		// We print errors ourselves, once, in fatal.
		ExitErrHandler: func(*cli.Context, error) {},
		OnUsageError:   usageError,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "debug", Usage: "enable debug logging"},
			&cli.StringFlag{Name: "log", Usage: "write logs to `FILE` instead of stderr"},
			&cli.StringFlag{Name: "log-format", Value: "text", Usage: "log format: text or json"},
			&cli.StringFlag{Name: "root", Value: defaultRoot(), Usage: "`DIR` that holds container state (should be on tmpfs)"},
			&cli.BoolFlag{Name: "systemd-cgroup", Usage: "create cgroups through systemd; cgroupsPath is \"slice:prefix:name\""},
			&cli.StringFlag{Name: "rootless", Value: "auto", Usage: "accepted for runc compatibility; mini-isolate runs as root", Hidden: true},
		},
		Before: configureLogging,
		Commands: []*cli.Command{
			createCommand, startCommand, runCommand, stateCommand, killCommand, deleteCommand,
			listCommand, psCommand, execCommand, pauseCommand, resumeCommand, updateCommand,
			eventsCommand, featuresCommand, specCommand, checkpointCommand, restoreCommand,
			superviseCommand, isolateCommand, profileCommand, managerCommand, interactCommand,
		},
	}
	for _, c := range app.Commands {
		c.OnUsageError = usageError
	}
	cli.VersionPrinter = printVersion
	return app
}

func printVersion(c *cli.Context) {
	w := c.App.Writer
	fmt.Fprintln(w, "mini-isolate version", c.App.Version)
	if gitCommit != "" {
		fmt.Fprintln(w, "commit:", gitCommit)
	}
	fmt.Fprintln(w, "spec:", specs.Version)
	fmt.Fprintln(w, "go:", goruntime.Version())
	if v := runtime.SeccompVersion(); v != "" {
		fmt.Fprintln(w, "libseccomp:", v)
	}
}

// defaultRoot is /run/mini-isolate for root; an unprivileged user gets a
// directory under XDG_RUNTIME_DIR, as with runc.
func defaultRoot() string {
	if os.Geteuid() != 0 {
		if dir := os.Getenv("XDG_RUNTIME_DIR"); dir != "" {
			return dir + "/mini-isolate"
		}
	}
	return runtime.DefaultRoot
}

// logFile is the --log file, when one was given.
var logFile io.Writer

func configureLogging(c *cli.Context) error {
	f, err := logging.Configure(logging.Options{Debug: c.Bool("debug"), Format: c.String("log-format"), Path: c.String("log")})
	logFile = f
	return err
}

// exitError carries an exit status out of a command without a message:
// run and exec exit with the container process's status.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// codedError is an error with a specific exit status (exec fails with 255,
// like runc).
type codedError struct {
	err  error
	code int
}

func (e codedError) Error() string { return e.err.Error() }
func (e codedError) Unwrap() error { return e.err }

// fatal reports err once and exits: one JSON line in --log for callers that
// parse it, and one plain line on stderr for people.
func fatal(err error) {
	var ee exitError
	if errors.As(err, &ee) {
		os.Exit(ee.code)
	}
	code := 1
	var ce codedError
	var ec cli.ExitCoder
	switch {
	case errors.As(err, &ce):
		code = ce.code
	case errors.As(err, &ec):
		code = ec.ExitCode() // "No help topic" exits 3, as with runc
	}
	msg := strings.TrimSpace(err.Error())
	switch {
	case logFile != nil:
		logrus.Error(msg)
		fmt.Fprintln(os.Stderr, "mini-isolate: "+msg)
	case isJSONLogging():
		logrus.Error(msg)
	default:
		fmt.Fprintln(os.Stderr, "mini-isolate: "+msg)
	}
	os.Exit(code)
}

func isJSONLogging() bool {
	_, ok := logrus.StandardLogger().Formatter.(*logrus.JSONFormatter)
	return ok
}

func usageError(c *cli.Context, err error, _ bool) error {
	name := c.App.Name
	if c.Command != nil && c.Command.Name != "" {
		name = c.Command.FullName()
	}
	return fmt.Errorf("%s: %w (see --help)", name, err)
}
