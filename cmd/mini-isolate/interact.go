package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/mini-isolate/mini-isolate/box"
	"github.com/mini-isolate/mini-isolate/interact"
	"github.com/mini-isolate/mini-isolate/isolatecmd"
	"github.com/mini-isolate/mini-isolate/policy"
	"github.com/mini-isolate/mini-isolate/runtime"
	"github.com/mini-isolate/mini-isolate/runtime/hostfile"
	"github.com/mini-isolate/mini-isolate/runtime/meta"
)

// maxTranscript bounds --transcript-limit: the transcript is held in
// memory until the end.
const maxTranscript = 256 << 20

// partySeparator separates the interactor's command line from each
// solution's.
const partySeparator = ":::"

var interactCommand = &cli.Command{
	Name:  "interact",
	Usage: "run an interactive problem: an interactor and a solution (or a manager and users), each in its own box, wired by pipes",
	ArgsUsage: "[flags] -- INTERACTOR ::: SOLUTION [::: SOLUTION ...]\n\n" +
		"   Each of INTERACTOR and SOLUTION is either isolate's options for a run in\n" +
		"   an initialised box, then -- and the program (-b 2 --cg -t 5 -- ./interactor\n" +
		"   in.txt ans.txt), or --bundle DIR: a judged OCI bundle, run as run runs it.",
	Description: `The solution's stdout is the interactor's stdin and the interactor's
stdout the solution's stdin. With several solutions (--channels fds), each
has its own pair of pipes, which the interactor has as fds 3+2i (from
solution i, from 0) and 4+2i (to it). The interactor exits 0 (accepted),
1 (wrong answer), 2 (presentation error) or 3 (it failed), as testlib's do;
docs/interactive.md has the verdict rules. Exit status: 0 accepted, 1
another verdict, 2 a judge error.`,
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "wall-time", Usage: "wall-clock limit of the whole interaction in `SECONDS` (required: it ends a deadlock)"},
		&cli.StringFlag{Name: "channels", Value: "", Usage: "stdio (one solution) or fds (default: stdio for one solution, fds for several)"},
		&cli.StringFlag{Name: "transcript", Usage: "record both directions of the exchange in `FILE`"},
		&cli.IntFlag{Name: "transcript-limit", Value: 1 << 20, Usage: "the transcript's size limit in `BYTES`"},
		&cli.StringFlag{Name: "meta", Aliases: []string{"M"}, Usage: "write the report to `FILE` (- for stdout)"},
		&cli.StringFlag{Name: "meta-format", Value: meta.FormatIsolate, Usage: "isolate or json"},
	},
	Action: func(c *cli.Context) error {
		code, err := runInteract(c)
		if err != nil {
			return codedError{err: err, code: 2}
		}
		return exitError{code: code}
	},
}

func runInteract(c *cli.Context) (int, error) {
	segments := splitParties(c.Args().Slice())
	if len(segments) < 2 {
		return 0, fmt.Errorf("interact: want an interactor and at least one solution, separated by %s", partySeparator)
	}
	cfg, err := box.LoadConfig(true)
	if err != nil {
		return 0, err
	}
	root := ""
	if c.IsSet("root") {
		root = c.String("root")
	}
	rt, err := runtime.New(root, false)
	if err != nil {
		return 0, err
	}
	m := &box.Manager{Config: cfg, Runtime: rt, CallerUID: os.Getuid(), CallerGID: os.Getgid(), Log: os.Stderr}
	o, err := interactOptions(c, len(segments)-1)
	if err != nil {
		return 0, err
	}
	parties, err := interactParties(m, rt, segments)
	if err != nil {
		return 0, err
	}
	// The transcript is kept in memory until the end anyway: it goes to
	// its file in one write, as the report does.
	var transcript bytes.Buffer
	if c.String("transcript") != "" {
		o.Transcript = &transcript
	}
	ctx, stop := signal.NotifyContext(context.Background(), unix.SIGINT, unix.SIGTERM, unix.SIGHUP)
	defer stop()
	res, err := interact.Run(ctx, parties[0], parties[1:], o)
	if err != nil {
		return 0, err
	}
	if o.Transcript != nil {
		if err := hostfile.Write(c.String("transcript"), transcript.Bytes(), 0o644); err != nil {
			return 0, fmt.Errorf("transcript: %w", err)
		}
	}
	if err := writeInteractReport(c, res); err != nil {
		return 0, err
	}
	fmt.Fprintf(os.Stderr, "%s: %s\n", res.Verdict.Verdict, res.Message)
	return res.ExitCode(), nil
}

// splitParties splits the arguments at each ":::".
func splitParties(args []string) [][]string {
	var out [][]string
	cur := []string{}
	for _, a := range args {
		if a == partySeparator {
			out = append(out, cur)
			cur = []string{}
			continue
		}
		cur = append(cur, a)
	}
	return append(out, cur)
}

// interactParties turns each segment into a party: a box's run or a
// bundle. interact.Run checks how they fit together.
func interactParties(m *box.Manager, rt *runtime.Runtime, segments [][]string) ([]interact.Party, error) {
	var parties []interact.Party
	for i, seg := range segments {
		name := "interactor"
		if i > 0 {
			name = "solution"
			if len(segments) > 2 {
				name = fmt.Sprintf("solution %d", i) // user i in the report
			}
		}
		if dir, ok := bundleSegment(seg); ok {
			if dir == "" {
				return nil, fmt.Errorf("%s: --bundle DIR and nothing else", name)
			}
			id := fmt.Sprintf("interact-%d-%d", os.Getpid(), i)
			parties = append(parties, &interact.BundleParty{Runtime: rt, Name: name, ID: id, Bundle: dir})
			continue
		}
		a, err := isolatecmd.ParseRun(seg)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		a.Run.Stdio[2] = os.Stderr
		a.Run.CallerEnv = os.Environ()
		parties = append(parties, &interact.BoxParty{M: m, Name: name, ID: a.Box, Opts: a.Run})
	}
	return parties, nil
}

// bundleSegment recognises a party given as --bundle DIR (or
// --bundle=DIR); dir is "" when the segment has anything else.
func bundleSegment(seg []string) (dir string, ok bool) {
	switch {
	case len(seg) == 0:
		return "", false
	case strings.HasPrefix(seg[0], "--bundle="):
		if len(seg) == 1 {
			return strings.TrimPrefix(seg[0], "--bundle="), true
		}
		return "", true
	case seg[0] == "--bundle":
		if len(seg) == 2 {
			return seg[1], true
		}
		return "", true
	}
	return "", false
}

func interactOptions(c *cli.Context, users int) (interact.Options, error) {
	var o interact.Options
	switch ch := c.String("channels"); {
	case ch == "stdio" || (ch == "" && users == 1):
		o.Channels = interact.Stdio
	case ch == "fds" || ch == "":
		o.Channels = interact.FDs
	default:
		return o, fmt.Errorf("--channels %q: want stdio or fds", ch)
	}
	w := c.String("wall-time")
	if w == "" {
		return o, fmt.Errorf("--wall-time: %w", interact.ErrNoWallTime)
	}
	d, err := policy.ParseSeconds(w)
	if err != nil || d <= 0 {
		return o, fmt.Errorf("--wall-time %q: want a positive number of seconds", w)
	}
	o.WallTime = time.Duration(d)
	if o.Channels == interact.FDs && c.String("meta") == "-" {
		return o, errors.New("--meta -: with fd channels stdout is the manager's; name a file")
	}
	if o.Channels == interact.FDs {
		o.Stdin, o.Stdout = os.Stdin, os.Stdout
	}
	if o.TranscriptLimit = int64(c.Int("transcript-limit")); o.TranscriptLimit < 1 || o.TranscriptLimit > maxTranscript {
		return o, fmt.Errorf("--transcript-limit %d: want 1 byte to %d MiB (it is kept in memory)", o.TranscriptLimit, maxTranscript>>20)
	}
	return o, nil
}

func writeInteractReport(c *cli.Context, res *interact.Result) error {
	path := c.String("meta")
	if path == "" {
		return nil
	}
	var data []byte
	switch f := c.String("meta-format"); f {
	case meta.FormatIsolate:
		data = res.FormatIsolate()
	case meta.FormatJSON:
		var err error
		if data, err = res.FormatJSON(); err != nil {
			return err
		}
	default:
		return fmt.Errorf("--meta-format %q: want isolate or json", f)
	}
	if path == "-" {
		_, err := os.Stdout.Write(data)
		return err
	}
	return hostfile.Write(path, data, 0o644)
}
