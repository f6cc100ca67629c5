package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/opencontainers/runc/types"
	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	miniisolate "github.com/mini-isolate/mini-isolate"
	"github.com/mini-isolate/mini-isolate/runtime"
)

var listCommand = &cli.Command{
	Name:  "list",
	Usage: "list containers",
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: "table", Usage: "output format: table or json"},
		&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print only the container ids"},
	},
	Action: func(c *cli.Context) error {
		if err := checkArgs(c, 0, 0); err != nil {
			return err
		}
		rt, err := newRuntime(c)
		if err != nil {
			return err
		}
		states, err := rt.List()
		// No default root yet means no containers yet; a --root that does
		// not exist is a mistake, as with runc.
		if errors.Is(err, os.ErrNotExist) && !c.IsSet("root") {
			states, err = nil, nil
		}
		if err != nil {
			return err
		}
		if c.Bool("quiet") {
			for _, s := range states {
				fmt.Println(s.ID)
			}
			return nil
		}
		switch f := c.String("format"); f {
		case "table":
			w := tabwriter.NewWriter(os.Stdout, 12, 1, 3, ' ', 0)
			fmt.Fprint(w, "ID\tPID\tSTATUS\tBUNDLE\tCREATED\tOWNER\n")
			for _, s := range states {
				fmt.Fprintf(w, "%s\t%d\t%s\t%s\t%s\t%s\n", s.ID, s.Pid, s.Status, s.Bundle,
					s.Created.Format(time.RFC3339Nano), s.Owner)
			}
			return w.Flush()
		case "json":
			if states == nil {
				states = []runtime.State{}
			}
			return json.NewEncoder(os.Stdout).Encode(states)
		default:
			return fmt.Errorf("invalid --format %q: want table or json", f)
		}
	},
}

var psCommand = &cli.Command{
	Name:      "ps",
	Usage:     "list the processes of a container",
	ArgsUsage: "<container-id> [ps options]",
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: "table", Usage: "output format: table or json"},
	},
	Action: func(c *cli.Context) error {
		if err := checkArgs(c, 1, -1); err != nil {
			return err
		}
		rt, err := newRuntime(c)
		if err != nil {
			return err
		}
		pids, err := rt.Processes(c.Args().First())
		if err != nil {
			return err
		}
		switch f := c.String("format"); f {
		case "json":
			if pids == nil {
				pids = []int{}
			}
			return json.NewEncoder(os.Stdout).Encode(pids)
		case "table":
			return psTable(pids, c.Args().Slice()[1:])
		default:
			return fmt.Errorf("invalid --format %q: want table or json", f)
		}
	},
}

// psTable runs ps(1) with the given options and keeps the header and the
// lines of the container's processes.
func psTable(pids []int, psArgs []string) error {
	if len(psArgs) == 0 {
		psArgs = []string{"-ef"}
	}
	out, err := exec.Command("ps", psArgs...).Output()
	if err != nil {
		return fmt.Errorf("ps %s: %w", strings.Join(psArgs, " "), err)
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	if !sc.Scan() {
		return errors.New("ps printed nothing")
	}
	header := sc.Text()
	col := slices.Index(strings.Fields(header), "PID")
	if col < 0 {
		return errors.New("ps output has no PID column")
	}
	fmt.Println(header)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if col >= len(fields) {
			continue
		}
		pid, err := strconv.Atoi(fields[col])
		if err == nil && slices.Contains(pids, pid) {
			fmt.Println(sc.Text())
		}
	}
	return sc.Err()
}

var eventsCommand = &cli.Command{
	Name:      "events",
	Usage:     "print resource usage and OOM events of a container as JSON lines",
	ArgsUsage: "<container-id>",
	Flags: []cli.Flag{
		&cli.DurationFlag{Name: "interval", Value: 5 * time.Second, Usage: "time between stats events"},
		&cli.BoolFlag{Name: "stats", Usage: "print the current stats once and exit"},
	},
	Action: containerAction(func(c *cli.Context, rt *runtime.Runtime, id string) error {
		enc := json.NewEncoder(os.Stdout)
		if c.Bool("stats") {
			s, err := rt.Stats(id)
			if err != nil {
				return err
			}
			return enc.Encode(&types.Event{Type: "stats", ID: id, Data: s})
		}
		ctx, stop := signal.NotifyContext(c.Context, unix.SIGINT, unix.SIGTERM)
		defer stop()
		return rt.Events(ctx, id, c.Duration("interval"), func(e *types.Event) error {
			return enc.Encode(e)
		})
	}),
}

var featuresCommand = &cli.Command{
	Name:  "features",
	Usage: "print the features this runtime supports as JSON",
	Action: func(c *cli.Context) error {
		if err := checkArgs(c, 0, 0); err != nil {
			return err
		}
		return printJSON(runtime.Features(miniisolate.Version(), gitCommit))
	},
}

// checkpointCommand and restoreCommand stand for runc's: mini-isolate has
// no CRIU support, and fails as runc does on a host without CRIU.
var (
	checkpointCommand = unsupported("checkpoint", "checkpoint a running container (not supported)")
	restoreCommand    = unsupported("restore", "restore a checkpointed container (not supported)")
)

func unsupported(name, usage string) *cli.Command {
	return &cli.Command{
		Name:            name,
		Usage:           usage,
		ArgsUsage:       "<container-id>",
		SkipFlagParsing: true,
		Action: func(*cli.Context) error {
			return fmt.Errorf("%s: checkpoint and restore (CRIU) are not supported by mini-isolate", name)
		},
	}
}

// background is the context commands run under when urfave gives none.
func background(c *cli.Context) context.Context {
	if c.Context != nil {
		return c.Context
	}
	return context.Background()
}
