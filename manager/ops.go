package manager

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/mini-isolate/mini-isolate/box"
	"github.com/mini-isolate/mini-isolate/interact"
	"github.com/mini-isolate/mini-isolate/isolatecmd"
	"github.com/mini-isolate/mini-isolate/policy"
	"github.com/mini-isolate/mini-isolate/runtime/hostfile"
	"github.com/mini-isolate/mini-isolate/runtime/meta"
)

// dispatch serves one request. An error ends the connection.
func (s *Server) dispatch(ctx context.Context, cn *conn, in *incoming) error {
	var rep *Reply
	switch in.Op {
	case "ping":
		rep = &Reply{OK: true}
	case "bad":
		rep = &Reply{Error: in.Path} // a request that did not decode
	case "shutdown":
		// Ends the manager once the requests being served are done.
		s.stop()
		rep = &Reply{OK: true}
	case "isolate":
		rep = s.isolate(ctx, in)
	case "init", "cleanup", "put", "get", "run":
		rep = s.native(ctx, in.Request)
	case "batch":
		return s.batch(ctx, cn, in.Request)
	case "interact":
		rep = s.interact(ctx, in.Request)
	default:
		rep = &Reply{Error: fmt.Sprintf("unknown operation %q", in.Op)}
	}
	return cn.write(rep)
}

// isolate runs an isolate invocation for its caller, with the caller's
// descriptors, and replies with isolate's exit status.
func (s *Server) isolate(ctx context.Context, in *incoming) *Reply {
	if in.Config != s.Config.Path || in.Root != s.Root {
		return &Reply{Refused: true, Error: fmt.Sprintf("this manager serves configuration %q and state root %q", s.Config.Path, s.Root)}
	}
	if in.ConfigVersion != s.Config.Version {
		// The configuration changed since the manager read it: the
		// caller runs this invocation itself, and the manager, with its
		// spares made for the old one, goes away.
		s.stop()
		return &Reply{Refused: true, Error: "the configuration changed; this manager is stopping"}
	}
	if len(in.fds) < 4 {
		return &Reply{Error: "an isolate invocation needs stdin, stdout, stderr and its directory"}
	}
	inv := &isolatecmd.Invocation{
		Args: in.strs[:in.NArgs], Env: in.strs[in.NArgs:],
		Stdin: in.fds[0], Stdout: in.fds[1], Stderr: in.fds[2], Dir: in.fds[3], Extra: in.fds[4:],
		UID: in.UID, GID: in.GID, Groups: in.Groups, Setuid: in.UID != 0,
		Root: s.Root, Config: s.Config, Pool: s.pool, Reaper: s.reaper, RunCgroups: s.cgroups,
		InitConns: s.inits,
	}
	if inv.Groups == nil {
		inv.Groups = []int{}
	}
	return &Reply{OK: true, Exit: isolatecmd.Main(ctx, inv)}
}

// native serves one operation of the native API, for root.
func (s *Server) native(ctx context.Context, r *Request) *Reply {
	m := s.boxManager(0, 0)
	var err error
	rep := &Reply{OK: true}
	switch r.Op {
	case "init":
		rep.Dir, err = m.Init(ctx, r.Box, box.InitOptions{Cg: r.Cg})
	case "cleanup":
		err = m.Cleanup(ctx, r.Box, r.Cg, false)
	case "put":
		err = s.put(m, r)
	case "get":
		rep.Data, err = s.get(m, r)
	case "run":
		if r.Run == nil {
			err = errors.New("run: no run given")
			break
		}
		rep.Report, err = s.run(ctx, m, r.Box, r.Cg, r.Run)
	}
	if err != nil {
		return &Reply{Error: err.Error()}
	}
	return rep
}

// batch runs several programs in one box, one after another, and streams
// each report as it comes; a sandbox error ends the batch.
func (s *Server) batch(ctx context.Context, cn *conn, r *Request) error {
	m := s.boxManager(0, 0)
	for i, spec := range r.Runs {
		res, err := s.run(ctx, m, r.Box, r.Cg, spec)
		rep := &Reply{OK: err == nil, Report: res, Index: i}
		if err != nil {
			rep.Error = err.Error()
		}
		if werr := cn.write(rep); werr != nil {
			return werr
		}
		if err != nil {
			break
		}
	}
	return cn.write(&Reply{OK: true, Done: true})
}

// run runs spec in box id. Its stdin data, if any, goes to a file of the
// box's that only this run reads.
func (s *Server) run(ctx context.Context, m *box.Manager, id int, cg bool, spec *RunSpec) (*meta.Result, error) {
	o, err := runOptions(spec, cg)
	if err != nil {
		return nil, err
	}
	devnull, err := hostfile.Open(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	defer devnull.Close()
	// Opened for this run, and closed after it: never shared, even
	// with another box, whose program could read what this one set.
	o.Stdio, o.PrivateStdio = [3]*os.File{devnull, devnull, devnull}, true
	if spec.StdinData != nil {
		if spec.Stdin != "" {
			return nil, errors.New("run: stdin and stdinData are exclusive")
		}
		b, err := m.Box(id)
		if err != nil {
			return nil, err
		}
		f, err := stdinFile(b.Dir, spec.StdinData)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		o.Stdio[0] = f
	}
	return m.Run(ctx, id, o)
}

// maxTranscript bounds an interaction's transcript: it travels in the
// reply line, base64-encoded, within the client's line limit.
const maxTranscript = 8 << 20

// interact runs an interaction of boxes and replies with its verdict,
// its reports and, when asked for, its transcript.
func (s *Server) interact(ctx context.Context, r *Request) *Reply {
	m := s.boxManager(0, 0)
	devnull, err := hostfile.Open(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return &Reply{Error: err.Error()}
	}
	defer devnull.Close()
	if r.TranscriptLimit > maxTranscript {
		return &Reply{Error: fmt.Sprintf("interact: transcriptLimit %d: at most %d (the reply holds it)", r.TranscriptLimit, maxTranscript)}
	}
	var parties []interact.Party
	for i, p := range r.Parties {
		if p == nil {
			return &Reply{Error: fmt.Sprintf("interact: party %d is null", i)}
		}
		if p.StdinData != nil {
			return &Reply{Error: fmt.Sprintf("interact: party %d: its stdin and stdout are the pipes: no stdinData", i)}
		}
		o, err := runOptions(&p.RunSpec, p.Cg)
		if err != nil {
			return &Reply{Error: fmt.Sprintf("interact: party %d: %v", i, err)}
		}
		o.Stdio[2] = devnull
		parties = append(parties, &interact.BoxParty{M: m, Name: fmt.Sprintf("party %d", i), ID: p.Box, Opts: *o})
	}
	if len(parties) < 2 {
		return &Reply{Error: "interact: want an interactor and at least one solution"}
	}
	o := interact.Options{WallTime: time.Duration(r.WallTime)}
	switch r.Channels {
	case "", "stdio":
		o.Channels = interact.Stdio
	case "fds":
		o.Channels = interact.FDs
	default:
		return &Reply{Error: fmt.Sprintf("interact: channels %q: want stdio or fds", r.Channels)}
	}
	var transcript bytes.Buffer
	if r.TranscriptLimit > 0 {
		o.Transcript, o.TranscriptLimit = &transcript, r.TranscriptLimit
	}
	res, err := interact.Run(ctx, parties[0], parties[1:], o)
	if err != nil {
		return &Reply{Error: fmt.Sprintf("interact: %v", err)}
	}
	return &Reply{OK: true, Interaction: res, Data: transcript.Bytes()}
}

// stdinFile holds data for a program's stdin: an unlinked file in the
// box's private directory, which the program cannot name.
func stdinFile(boxDir string, data []byte) (*os.File, error) {
	f, err := os.CreateTemp(filepath.Join(boxDir, ".mini-isolate"), "stdin-")
	if err != nil {
		return nil, fmt.Errorf("run: stdin: %w", err)
	}
	_ = os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return nil, fmt.Errorf("run: stdin: %w", err)
	}
	if _, err := f.Seek(0, 0); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// runOptions turns a run of the native API into isolate's run options.
func runOptions(spec *RunSpec, cg bool) (*box.RunOptions, error) {
	if len(spec.Args) == 0 {
		return nil, errors.New("run: no program")
	}
	if err := spec.Limits.Validate("limits"); err != nil {
		return nil, fmt.Errorf("run: %w", err)
	}
	o := &box.RunOptions{
		Args: spec.Args, Cg: cg, Limits: spec.Limits,
		Stdin: spec.Stdin, Stdout: spec.Stdout, Stderr: spec.Stderr, StderrToStdout: spec.StderrToStdout,
		Chdir: spec.Chdir, ShareNet: spec.ShareNet,
	}
	if o.Limits.Processes == 0 {
		o.Limits.Processes = 1 // isolate's default
	}
	if o.Limits.OpenFiles == 0 {
		o.Limits.OpenFiles = 1024
	}
	for _, e := range spec.Env {
		rule, err := policy.ParseEnvRule(e)
		if err != nil {
			return nil, fmt.Errorf("run: env: %w", err)
		}
		o.Env = append(o.Env, rule)
	}
	for _, d := range spec.Dirs {
		rule, err := policy.ParseDirRule(d)
		if err != nil {
			return nil, fmt.Errorf("run: dirs: %w", err)
		}
		o.Dirs = append(o.Dirs, rule)
	}
	return o, nil
}

// put writes a file into a box.
func (s *Server) put(m *box.Manager, r *Request) error {
	mode := r.Mode
	if mode == 0 {
		mode = 0o644
	}
	return m.PutFile(r.Box, r.Path, r.Data, mode)
}

// get reads a file of a box, bounded by r.Max (1 MiB by default).
func (s *Server) get(m *box.Manager, r *Request) ([]byte, error) {
	max := r.Max
	if max <= 0 {
		max = 1 << 20
	}
	return m.GetFile(r.Box, r.Path, max)
}
