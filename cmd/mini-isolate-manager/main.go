// Command mini-isolate-manager is the manager (docs/api.md) as a binary of
// its own: it serves a configuration's boxes, its pool of spare containers
// and the native run API. "mini-isolate manager" and the isolate front end
// start it from the directory mini-isolate is in.
//
// It is a separate binary to be small: without the command line's help
// templates, whose reflection keeps every exported method of every type
// alive, its text and tables are a third smaller, and they are most of a
// long-lived manager's resident memory (docs/performance.md).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"

	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"

	miniisolate "github.com/mini-isolate/mini-isolate"
	"github.com/mini-isolate/mini-isolate/box"
	"github.com/mini-isolate/mini-isolate/internal/logging"
	"github.com/mini-isolate/mini-isolate/internal/privilege"
	"github.com/mini-isolate/mini-isolate/internal/reexec"
	"github.com/mini-isolate/mini-isolate/manager"
)

func init() { reexec.Main() }

func main() {
	// Root runs it, never a set-ID bit or file capabilities: its
	// configuration and log come from its caller.
	if os.Getuid() != os.Geteuid() || os.Getgid() != os.Getegid() || (os.Getuid() != 0 && privilege.RaisedByExec()) {
		fmt.Fprintln(os.Stderr, "mini-isolate-manager: refusing to run setuid, setgid or with file capabilities")
		os.Exit(1)
	}
	toFile, err := run(os.Args[1:])
	if err != nil {
		if toFile {
			logrus.Error(err)
		}
		fmt.Fprintln(os.Stderr, "mini-isolate-manager:", err)
		os.Exit(1)
	}
}

// run serves as args say. toFile says whether the log goes to a file, so
// that an error reaches the log file of a manager started on demand, whose
// stderr is /dev/null, and is said once on stderr otherwise.
func run(args []string) (toFile bool, err error) {
	fs := flag.NewFlagSet("mini-isolate-manager", flag.ContinueOnError)
	var lo logging.Options
	fs.BoolVar(&lo.Debug, "debug", false, "enable debug logging")
	fs.StringVar(&lo.Path, "log", "", "write logs to `FILE` instead of stderr")
	fs.StringVar(&lo.Format, "log-format", "text", "log format: text or json")
	root := fs.String("root", "", "`DIR` that holds container state (default: the runtime's)")
	idle := fs.Duration("idle", -1, "exit after this long without a request (default: manager_idle; 0: never)")
	version := fs.Bool("version", false, "print the version and the build stamp, and exit")
	// A bad flag is said once, by main; -h prints the flags.
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(os.Stdout)
			fs.PrintDefaults()
			return false, nil
		}
		return false, err
	}
	if fs.NArg() > 0 {
		return false, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if *version {
		fmt.Printf("mini-isolate-manager version %s\nbuild: %s\n", miniisolate.Version(), box.BuildStamp)
		return false, nil
	}
	logFile, err := logging.Configure(lo)
	if err != nil {
		return false, err
	}
	ctx, stop := signal.NotifyContext(context.Background(), unix.SIGINT, unix.SIGTERM)
	defer stop()
	return logFile != nil, manager.Run(ctx, *root, *idle)
}
