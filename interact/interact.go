package interact

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/mini-isolate/mini-isolate/box"
	"github.com/mini-isolate/mini-isolate/policy"
	"github.com/mini-isolate/mini-isolate/runtime"
	"github.com/mini-isolate/mini-isolate/runtime/judgeinit"
	"github.com/mini-isolate/mini-isolate/runtime/meta"
)

// Party is one sandboxed program of an interaction.
type Party interface {
	// Run runs the program with the given stdin, stdout and fds from 3
	// up, until it ends, and returns its report. It calls started once
	// the sandbox holds the files.
	Run(ctx context.Context, w Wiring) (*meta.Result, error)
	// String names the party in messages.
	String() string
}

// Wiring is what a party's program is connected to.
type Wiring struct {
	Stdin, Stdout *os.File
	Extra         []*os.File
	// WallTime, when positive, bounds the party's wall time (the
	// interaction's own limit).
	WallTime time.Duration
	// Started is called once the sandbox holds the files.
	Started func()
}

// BoxParty is a party in an isolate box: isolate's options for a run.
type BoxParty struct {
	M    *box.Manager
	Name string
	ID   int
	Opts box.RunOptions
}

// Run runs the party's program in its box.
func (p *BoxParty) Run(ctx context.Context, w Wiring) (*meta.Result, error) {
	o := p.Opts
	o.Stdio[0], o.Stdio[1] = w.Stdin, w.Stdout
	o.Extra = w.Extra
	o.Started = w.Started
	if w.WallTime > 0 && (o.Limits.WallTime == 0 || time.Duration(o.Limits.WallTime) > w.WallTime) {
		o.Limits.WallTime = policy.Duration(w.WallTime)
	}
	return p.M.Run(ctx, p.ID, &o)
}

func (p *BoxParty) String() string { return fmt.Sprintf("%s (box %d)", p.Name, p.ID) }

// BundleParty is a party in a judged OCI bundle, run as `mini-isolate
// run` runs it, under the given container id. Its stdin and stdout are
// the pipes; it takes no fd channels.
type BundleParty struct {
	Runtime *runtime.Runtime
	Name    string
	ID      string
	Bundle  string
}

// Run runs the bundle's container to its end and returns its report.
func (p *BundleParty) Run(ctx context.Context, w Wiring) (*meta.Result, error) {
	if len(w.Extra) > 0 {
		return nil, fmt.Errorf("%s: a bundle takes no fd channels: run the manager in a box", p)
	}
	dir, err := os.MkdirTemp("", "interact-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	var res *meta.Result
	_, err = p.Runtime.Run(ctx, p.ID, runtime.CreateOpts{
		Bundle:       p.Bundle,
		Stdio:        runtime.Stdio{In: w.Stdin, Out: w.Stdout, Err: os.Stderr},
		InheritStdio: true,
		Meta:         filepath.Join(dir, "meta"),
		MetaFormat:   meta.FormatJSON,
		WallTime:     w.WallTime,
		Started:      w.Started,
		Report:       func(r *meta.Result) { res = r },
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	if res == nil {
		return nil, fmt.Errorf("%s: the run filed no report", p)
	}
	return res, nil
}

func (p *BundleParty) String() string { return fmt.Sprintf("%s (bundle %s)", p.Name, p.Bundle) }

// Channels says how users are wired to the interactor.
type Channels int

const (
	// Stdio wires the one user's stdout to the interactor's stdin and
	// the interactor's stdout to the user's stdin.
	Stdio Channels = iota
	// FDs gives user i its own pair of pipes, which the interactor (a
	// manager) holds as fds 3+2i (from user i) and 4+2i (to user i); its
	// stdin and stdout are Options.Stdin and Options.Stdout.
	FDs
)

// Options of an interaction.
type Options struct {
	Channels Channels
	// WallTime bounds the whole interaction: every party's wall limit is
	// at most this. It is required.
	WallTime time.Duration
	// Stdin and Stdout are the interactor's with FDs (nil: /dev/null).
	Stdin, Stdout *os.File
	// Transcript, when set, receives both directions of the exchange,
	// at most TranscriptLimit bytes (default 1 MiB), without ever slowing
	// the exchange down: what does not fit is dropped.
	Transcript      io.Writer
	TranscriptLimit int64
}

// Result is the outcome of an interaction.
type Result struct {
	Verdict
	Interactor *meta.Result   `json:"interactor"`
	Users      []*meta.Result `json:"users"`
	// TranscriptBytes is what the transcript received; TranscriptCut says
	// the limit cut it.
	TranscriptBytes int64 `json:"transcriptBytes,omitempty"`
	TranscriptCut   bool  `json:"transcriptCut,omitempty"`
}

// check refuses what cannot run, before anything runs: a wall limit is
// missing (a deadlock would never end), two parties share a box, a box
// party redirects a pipe, a bundle is given fd channels, or there are
// more channels than a run takes.
func check(interactor Party, users []Party, o Options) error {
	if o.WallTime <= 0 {
		return ErrNoWallTime
	}
	if o.Channels == Stdio && len(users) != 1 {
		return fmt.Errorf("%d solutions on stdin and stdout: use fd channels", len(users))
	}
	if o.Channels == FDs {
		if _, ok := interactor.(*BundleParty); ok {
			return fmt.Errorf("%s: a bundle takes no fd channels: run the manager in a box", interactor)
		}
		if 2*len(users) > judgeinit.MaxExtraFiles {
			return fmt.Errorf("%d users: at most %d, two fds each", len(users), judgeinit.MaxExtraFiles/2)
		}
	}
	seen := map[int]bool{}
	for i, p := range append([]Party{interactor}, users...) {
		b, ok := p.(*BoxParty)
		if !ok {
			continue
		}
		if seen[b.ID] {
			return fmt.Errorf("box %d is given twice: each party needs a box of its own", b.ID)
		}
		seen[b.ID] = true
		if wired := i > 0 || o.Channels == Stdio; wired && (b.Opts.Stdin != "" || b.Opts.Stdout != "") {
			return fmt.Errorf("%s: its stdin and stdout are the pipes to the other side: they take no redirection", b)
		}
	}
	return nil
}

// ErrNoWallTime is returned for an interaction without a wall limit.
var ErrNoWallTime = errors.New("an interaction needs a wall-time limit: a deadlock would never end")

// ErrNoUsers is returned for an interaction without a user.
var ErrNoUsers = errors.New("an interaction needs at least one solution")

// Run runs the interactor and the users, each in its own sandbox, wired
// as o says, and decides the verdict.
func Run(ctx context.Context, interactor Party, users []Party, o Options) (*Result, error) {
	if len(users) == 0 {
		return nil, ErrNoUsers
	}
	if err := check(interactor, users, o); err != nil {
		return nil, err
	}
	// A party that cannot start ends the others: their reports would be
	// dropped anyway.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	n, err := wire(users, o)
	if err != nil {
		return nil, err
	}
	defer n.closeAll()
	res := &Result{Users: make([]*meta.Result, len(users))}
	errs := make([]error, len(users)+1)
	var wg sync.WaitGroup
	run := func(i int, p Party, out **meta.Result) {
		defer wg.Done()
		w := n.wiring[i]
		w.Started = sync.OnceFunc(func() { n.release(i) })
		*out, errs[i] = p.Run(ctx, w)
		if errs[i] != nil {
			cancel()
		}
		w.Started()
	}
	wg.Add(len(users) + 1)
	go run(0, interactor, &res.Interactor)
	for i, u := range users {
		go run(i+1, u, &res.Users[i])
	}
	wg.Wait()
	// Every program is gone, and with it every write end: the relays
	// drain what is left and stop.
	n.relays.Wait()
	n.closeAll()
	// The first failure is the cause; the others' are cancellations.
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	endings := make([]Ending, len(users))
	for i, u := range res.Users {
		endings[i] = Ending{Result: u, BeforeInteractor: endedBefore(u, res.Interactor)}
	}
	res.Verdict = Decide(res.Interactor, endings)
	if n.transcript != nil {
		res.TranscriptBytes, res.TranscriptCut = n.transcript.written, n.transcript.cut
	}
	return res, nil
}

// endedBefore says whether u's program ended before the interactor's. An
// interactor its supervisor killed ended at the kill, or before it if it
// exited as the kill came: a solution that then read end-of-file and
// exited may still be reaped, and time its end, before the interactor's
// init does.
func endedBefore(u, interactor *meta.Result) bool {
	end := interactor.Ended
	if k := interactor.KilledAt; k > 0 && (end == 0 || k < end) {
		end = k
	}
	return u.Ended > 0 && u.Ended < end
}
