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
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"

	// Lets the cgroup managers apply device rules.
	_ "github.com/opencontainers/cgroups/devices"
	"github.com/opencontainers/runc/libcontainer"
	// nsenter runs its C constructor before the Go runtime starts, which is
	// how libcontainer joins namespaces in the re-executed "init" process
	// of the spare containers this binary makes.
	_ "github.com/opencontainers/runc/libcontainer/nsenter"
	"golang.org/x/sys/unix"

	"github.com/mini-isolate/mini-isolate/box"
	"github.com/mini-isolate/mini-isolate/internal/logging"
	"github.com/mini-isolate/mini-isolate/manager"
	"github.com/mini-isolate/mini-isolate/runtime"
)

func init() {
	if len(os.Args) > 1 && os.Args[1] == "init" {
		// Never returns: the container's init runs the judge init.
		libcontainer.Init()
	}
	if len(os.Args) > 1 && os.Args[1] == runtime.HookArg {
		// A container's host hook, run for libcontainer.
		os.Exit(runtime.HookMain(os.Args[2:]))
	}
}

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "mini-isolate-manager:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("mini-isolate-manager", flag.ContinueOnError)
	var lo logging.Options
	fs.BoolVar(&lo.Debug, "debug", false, "enable debug logging")
	fs.StringVar(&lo.Path, "log", "", "write logs to `FILE` instead of stderr")
	fs.StringVar(&lo.Format, "log-format", "text", "log format: text or json")
	root := fs.String("root", "", "`DIR` that holds container state (default: the runtime's)")
	idle := fs.Duration("idle", -1, "exit after this long without a request (default: manager_idle; 0: never)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if _, err := logging.Configure(lo); err != nil {
		return err
	}
	cfg, err := box.LoadConfig(true)
	if err != nil {
		return err
	}
	s := &manager.Server{Config: cfg, Root: *root, Idle: time.Duration(cfg.ManagerIdle) * time.Second}
	if *idle >= 0 {
		s.Idle = *idle
	}
	ctx, stop := signal.NotifyContext(context.Background(), unix.SIGINT, unix.SIGTERM)
	defer stop()
	return manager.Run(ctx, s)
}
