// Package manager is mini-isolate's long-lived box manager: it keeps spare
// box containers made in advance, tears retired boxes down in the
// background, and serves isolate invocations (from the isolate front ends)
// and the native run API (from judges) on a Unix socket only root can use.
//
// The protocol is JSON lines. A request is one line; an isolate invocation
// is followed by its arguments and environment as NUL-terminated strings,
// and carries the caller's file descriptors (SCM_RIGHTS) with its first
// byte. Every reply is one line. docs/api.md describes the operations.
package manager

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/mini-isolate/mini-isolate/interact"
	"github.com/mini-isolate/mini-isolate/policy"
	"github.com/mini-isolate/mini-isolate/runtime/meta"
)

// Limits on what one request may carry.
const (
	maxLine    = 16 << 20 // a request line, files included
	maxStrings = 1 << 16  // arguments plus environment of an invocation
	maxString  = 1 << 20  // one of them
	maxFDs     = 64       // descriptors passed with a request
)

// Request is one request line.
type Request struct {
	// Op is the operation: isolate, init, put, get, run, batch, interact,
	// cleanup, ping, shutdown.
	Op string `json:"op"`

	// An isolate invocation: the caller's identity, and how many
	// arguments and environment strings follow the line. The first four
	// descriptors passed are the caller's stdin, stdout, stderr and
	// working directory; the rest its fds from 3 up. Config is the path of
	// the configuration the caller read, which must be the manager's.
	UID           int    `json:"uid,omitempty"`
	GID           int    `json:"gid,omitempty"`
	Groups        []int  `json:"groups,omitempty"`
	NArgs         int    `json:"nargs,omitempty"`
	NEnv          int    `json:"nenv,omitempty"`
	Config        string `json:"config,omitempty"`
	ConfigVersion string `json:"configVersion,omitempty"`
	// Root is the runtime state root the caller uses ("" for the
	// default), which must be the manager's too.
	Root string `json:"root,omitempty"`

	// The native API: a box, and what the operation needs.
	Box  int    `json:"box"`
	Cg   bool   `json:"cg,omitempty"`
	Path string `json:"path,omitempty"`
	// Data is a file's content (put), or the program's stdin (run).
	Data []byte      `json:"data,omitempty"`
	Mode os.FileMode `json:"mode,omitempty"`
	// Max bounds what get returns.
	Max  int64      `json:"max,omitempty"`
	Run  *RunSpec   `json:"run,omitempty"`
	Runs []*RunSpec `json:"runs,omitempty"`

	// An interaction: the parties, the interactor (or manager) first,
	// each a run in a box of its own; how they are wired ("stdio" or
	// "fds", as `mini-isolate interact --channels`); the wall limit of
	// the whole; and, when positive, the size limit of a transcript,
	// which the reply's Data holds.
	Parties         []*PartySpec    `json:"parties,omitempty"`
	Channels        string          `json:"channels,omitempty"`
	WallTime        policy.Duration `json:"wallTime,omitempty"`
	TranscriptLimit int64           `json:"transcriptLimit,omitempty"`
}

// PartySpec is one party of an interaction: a run in its own box. Its
// stdin and stdout are the pipes; its stderr may go to a file.
type PartySpec struct {
	Box int  `json:"box"`
	Cg  bool `json:"cg,omitempty"`
	RunSpec
}

// RunSpec is one run of the native API: the program and its arguments,
// the limits, and the files of the box it reads and writes, as isolate's
// options give them.
type RunSpec struct {
	Args   []string      `json:"args"`
	Limits policy.Limits `json:"limits"`
	// Stdin, Stdout and Stderr are files in the box, relative to /box;
	// StdinData, when given instead of Stdin, is the program's stdin.
	// Without either, stdin is empty, and output without a file is
	// dropped.
	Stdin          string   `json:"stdin,omitempty"`
	Stdout         string   `json:"stdout,omitempty"`
	Stderr         string   `json:"stderr,omitempty"`
	StderrToStdout bool     `json:"stderrToStdout,omitempty"`
	StdinData      []byte   `json:"stdinData,omitempty"`
	Env            []string `json:"env,omitempty"`
	Dirs           []string `json:"dirs,omitempty"`
	Chdir          string   `json:"chdir,omitempty"`
	ShareNet       bool     `json:"shareNet,omitempty"`
}

// Reply is one reply line.
type Reply struct {
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
	// Refused says the manager declined an isolate invocation that the
	// client must then run itself (another configuration's).
	Refused bool `json:"refused,omitempty"`
	// Exit is an isolate invocation's exit status.
	Exit int `json:"exit,omitempty"`
	// Dir is the box directory of init.
	Dir string `json:"dir,omitempty"`
	// Data is the content of get.
	Data []byte `json:"data,omitempty"`
	// Report is a run's; Index its place in a batch.
	Report *meta.Result `json:"report,omitempty"`
	Index  int          `json:"index,omitempty"`
	// Done ends a batch.
	Done bool `json:"done,omitempty"`
	// Interaction is an interaction's verdict and reports.
	Interaction *interact.Result `json:"interaction,omitempty"`
}

// conn is one client connection: lines in, with descriptors, lines out.
type conn struct {
	c   *net.UnixConn
	in  *bufio.Reader
	oob []byte     // the control message buffer of fdReader
	fds []*os.File // received and not yet taken
	// mu orders replies: the reader answers a request it cannot read
	// while another is served. wrote is the longest reply line written
	// since it was last reset.
	mu    sync.Mutex
	wrote int
}

// readBuf is the size of a connection's read buffer: a request line
// longer than it, with a file in it, is read in several pieces.
const readBuf = 64 << 10

// newConn reads c through a buffer of readers, or a new one when nil or
// empty; release gives it back.
func newConn(c *net.UnixConn, readers *sync.Pool) *conn {
	cn := &conn{c: c, oob: make([]byte, unix.CmsgSpace(maxFDs*4))}
	if readers != nil {
		if r, ok := readers.Get().(*bufio.Reader); ok {
			r.Reset(fdReader{cn})
			cn.in = r
		}
	}
	if cn.in == nil {
		cn.in = bufio.NewReaderSize(fdReader{cn}, readBuf)
	}
	return cn
}

// release puts cn's reader into readers, once nothing reads cn any more.
func (cn *conn) release(readers *sync.Pool) {
	cn.in.Reset(nil)
	readers.Put(cn.in)
	cn.in = nil
}

// fdReader reads the connection and keeps the descriptors that come
// with the bytes.
type fdReader struct{ cn *conn }

func (r fdReader) Read(p []byte) (int, error) {
	oob := r.cn.oob
	n, oobn, _, _, err := r.cn.c.ReadMsgUnix(p, oob)
	n, oobn = max(n, 0), max(oobn, 0)
	if oobn > 0 {
		msgs, perr := unix.ParseSocketControlMessage(oob[:oobn])
		if perr == nil {
			for _, m := range msgs {
				fds, _ := unix.ParseUnixRights(&m)
				for _, fd := range fds {
					r.cn.fds = append(r.cn.fds, os.NewFile(uintptr(fd), "passed"))
				}
			}
		}
	}
	if n == 0 && err == nil {
		err = io.EOF
	}
	return n, err
}

// read reads one request line; size is its length.
func (cn *conn) read() (r *Request, size int, err error) {
	line, err := readBounded(cn.in, '\n', maxLine)
	if err != nil {
		return nil, 0, err
	}
	r = &Request{}
	if err := json.Unmarshal(line, r); err != nil {
		return nil, len(line), &badRequest{fmt.Errorf("request: %w", err)}
	}
	return r, len(line), nil
}

// badRequest is a request line that does not decode: it is answered with
// an error, and the connection goes on with the next line.
type badRequest struct{ err error }

func (e *badRequest) Error() string { return e.err.Error() }
func (e *badRequest) Unwrap() error { return e.err }

// incoming is a request with what came with it: an invocation's strings
// and the descriptors passed.
type incoming struct {
	*Request
	strs []string
	fds  []*os.File
	size int // bytes of the request line
}

func (in *incoming) close() {
	for _, f := range in.fds {
		if f != nil {
			f.Close()
		}
	}
}

// next reads the next request and what comes with it.
func (cn *conn) next() (*incoming, error) {
	req, size, err := cn.read()
	if err != nil {
		return nil, err
	}
	in := &incoming{Request: req, size: size}
	if req.Op == "isolate" {
		if req.NArgs < 0 || req.NEnv < 0 || req.NArgs+req.NEnv > maxStrings {
			return nil, errors.New("request: too many strings")
		}
		if in.strs, err = cn.strings(req.NArgs + req.NEnv); err != nil {
			return nil, err
		}
	}
	in.fds = cn.takeFDs()
	if len(in.fds) > maxFDs {
		in.close()
		return nil, errors.New("request: too many descriptors")
	}
	return in, nil
}

// strings reads n NUL-terminated strings.
func (cn *conn) strings(n int) ([]string, error) {
	out := make([]string, 0, n)
	for range n {
		s, err := readBounded(cn.in, 0, maxString)
		if err != nil {
			return nil, err
		}
		out = append(out, string(s))
	}
	return out, nil
}

// takeFDs returns the descriptors received so far.
func (cn *conn) takeFDs() []*os.File {
	fds := cn.fds
	cn.fds = nil
	return fds
}

func (cn *conn) write(r *Reply) error {
	data, err := json.Marshal(r)
	if err != nil {
		return err
	}
	cn.mu.Lock()
	defer cn.mu.Unlock()
	cn.wrote = max(cn.wrote, len(data))
	_, err = cn.c.Write(append(data, '\n'))
	return err
}

func (cn *conn) resetWrote() {
	cn.mu.Lock()
	cn.wrote = 0
	cn.mu.Unlock()
}

func (cn *conn) longestWrite() int {
	cn.mu.Lock()
	defer cn.mu.Unlock()
	return cn.wrote
}

func (cn *conn) close() {
	for _, f := range cn.takeFDs() {
		f.Close()
	}
	cn.c.Close()
}

var errTooLong = errors.New("request too long")

// readBounded reads up to and without delim, at most max bytes.
func readBounded(r *bufio.Reader, delim byte, max int) ([]byte, error) {
	var buf bytes.Buffer
	for {
		chunk, err := r.ReadSlice(delim)
		if buf.Len()+len(chunk) > max+1 {
			return nil, errTooLong
		}
		buf.Write(chunk)
		switch {
		case err == nil:
			return buf.Bytes()[:buf.Len()-1], nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF) && buf.Len() > 0:
			return nil, io.ErrUnexpectedEOF
		default:
			return nil, err
		}
	}
}
