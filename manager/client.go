package manager

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// Client is a connection to the manager. It serves one request at a time.
type Client struct {
	c  *net.UnixConn
	in *bufio.Reader
}

// Dial connects to the manager listening on socket.
func Dial(socket string) (*Client, error) {
	c, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: socket, Net: "unix"})
	if err != nil {
		return nil, err
	}
	return &Client{c: c, in: bufio.NewReaderSize(c, 64<<10)}, nil
}

// ServerPID is the pid of the manager at the other end, from the
// socket's peer credentials.
func (c *Client) ServerPID() (int, error) {
	raw, err := c.c.SyscallConn()
	if err != nil {
		return 0, err
	}
	var cred *unix.Ucred
	var credErr error
	if err := raw.Control(func(fd uintptr) {
		cred, credErr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return 0, err
	}
	if credErr != nil {
		return 0, fmt.Errorf("manager socket: %w", credErr)
	}
	return int(cred.Pid), nil
}

// Close ends the connection; a request still running is cancelled.
func (c *Client) Close() error { return c.c.Close() }

// Do sends a request and returns its reply. A reply with an error is
// returned as that error.
func (c *Client) Do(req *Request) (*Reply, error) {
	if err := c.send(req, nil, nil); err != nil {
		return nil, err
	}
	return c.reply()
}

// Batch sends a batch and calls each for every run's report as it comes.
func (c *Client) Batch(req *Request, each func(*Reply)) error {
	req.Op = "batch"
	if err := c.send(req, nil, nil); err != nil {
		return err
	}
	for {
		rep, err := c.reply()
		if rep != nil && rep.Done {
			return nil
		}
		if rep != nil {
			each(rep)
		}
		if err != nil {
			return err
		}
	}
}

// IsolateCall is an isolate invocation forwarded to the manager.
type IsolateCall struct {
	Args, Env   []string
	UID, GID    int
	Groups      []int
	Config      string
	Version     string
	Root        string
	Stdio       [3]*os.File
	Dir         *os.File
	Extra       []*os.File
	Interrupted <-chan os.Signal // a signal here cancels the run
}

// ErrRefused is returned by Isolate when the manager declined the
// invocation, which the caller must then run itself.
var ErrRefused = errors.New("the manager declined the invocation")

// Isolate forwards an invocation and returns isolate's exit status.
func (c *Client) Isolate(ctx context.Context, call *IsolateCall) (int, error) {
	req := &Request{Op: "isolate", UID: call.UID, GID: call.GID, Groups: call.Groups,
		NArgs: len(call.Args), NEnv: len(call.Env), Config: call.Config, ConfigVersion: call.Version, Root: call.Root}
	files := append([]*os.File{call.Stdio[0], call.Stdio[1], call.Stdio[2], call.Dir}, call.Extra...)
	if err := c.send(req, append(append([]string{}, call.Args...), call.Env...), files); err != nil {
		return 0, err
	}
	done := make(chan struct{})
	defer close(done)
	go func() {
		// Closing the connection is how a client cancels.
		select {
		case <-ctx.Done():
		case <-call.Interrupted:
		case <-done:
			return
		}
		c.c.Close()
	}()
	rep, err := c.reply()
	if rep != nil && rep.Refused {
		return 0, ErrRefused
	}
	if err != nil {
		return 0, err
	}
	return rep.Exit, nil
}

// send writes a request line, NUL-terminated strings after it, and the
// descriptors with its first byte.
func (c *Client) send(req *Request, strs []string, files []*os.File) error {
	data, err := json.Marshal(req)
	if err != nil {
		return err
	}
	data = append(data, '\n')
	for _, s := range strs {
		data = append(append(data, s...), 0)
	}
	var oob []byte
	if len(files) > 0 {
		fds := make([]int, len(files))
		for i, f := range files {
			if f == nil {
				return errors.New("manager: a descriptor to pass is missing")
			}
			fds[i] = int(f.Fd())
		}
		oob = unix.UnixRights(fds...)
	}
	n, _, err := c.c.WriteMsgUnix(data, oob, nil)
	if err != nil {
		return err
	}
	if n < len(data) {
		_, err = c.c.Write(data[n:])
	}
	return err
}

func (c *Client) reply() (*Reply, error) {
	line, err := readBounded(c.in, '\n', maxLine)
	if err != nil {
		return nil, fmt.Errorf("manager: %w", err)
	}
	var rep Reply
	if err := json.Unmarshal(line, &rep); err != nil {
		return nil, fmt.Errorf("manager: reply: %w", err)
	}
	if rep.Error != "" {
		return &rep, errors.New(rep.Error)
	}
	return &rep, nil
}

// Running says whether a manager answers on socket within timeout.
func Running(socket string, timeout time.Duration) bool {
	c, err := net.DialTimeout("unix", socket, timeout)
	if err != nil {
		return false
	}
	c.Close()
	return true
}
