package runtime

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"sync"

	"github.com/containerd/console"
	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/configs"
	"golang.org/x/sys/unix"

	"github.com/mini-isolate/mini-isolate/runtime/hostfile"
)

// Stdio are the streams a container process is attached to.
type Stdio struct {
	In, Out, Err *os.File
}

// OSStdio is the calling process's own stdio.
func OSStdio() Stdio {
	return Stdio{In: os.Stdin, Out: os.Stdout, Err: os.Stderr}
}

// stdioSetup wires a process's stdio in one of four ways: a console socket
// owned by the caller (detached tty), a pty we relay (foreground tty), the
// caller's fds passed straight through (detached), or pipes we relay
// (foreground), which keeps the container from chowning the caller's
// terminal.
type stdioSetup struct {
	// closeAfterStart are our copies of fds the container now holds.
	closeAfterStart []io.Closer
	closers         []io.Closer

	consoleErr  chan error
	hostConsole console.Console
	pty         *console.EpollConsole
	epoller     *console.Epoller
	copies      sync.WaitGroup
}

// setupStdio connects a process to stdio, a terminal or a console socket,
// as runc does; cfg gives the container's root for pipes it creates.
func setupStdio(p *libcontainer.Process, cfg *configs.Config, stdio Stdio, terminal, detach bool, consoleSocket string) (_ *stdioSetup, retErr error) {
	s := &stdioSetup{}
	defer func() {
		if retErr != nil {
			s.close()
		}
	}()
	if terminal && detach && consoleSocket == "" {
		return nil, errors.New("cannot allocate tty if runc will detach without setting console socket")
	}
	if consoleSocket != "" && (!terminal || !detach) {
		return nil, errors.New("cannot use console socket if runc will not detach or allocate tty")
	}
	switch {
	case terminal && detach:
		conn, err := net.Dial("unix", consoleSocket)
		if err != nil {
			return nil, fmt.Errorf("console socket: %w", err)
		}
		s.closeAfterStart = append(s.closeAfterStart, conn)
		f, err := conn.(*net.UnixConn).File()
		if err != nil {
			return nil, fmt.Errorf("console socket: %w", err)
		}
		s.closeAfterStart = append(s.closeAfterStart, f)
		p.ConsoleSocket = f
	case terminal:
		host, err := hostConsole(stdio)
		if err != nil {
			return nil, err
		}
		s.hostConsole = host
		parent, child, err := socketPair("console")
		if err != nil {
			return nil, err
		}
		s.closeAfterStart = append(s.closeAfterStart, parent, child)
		p.ConsoleSocket = child
		s.consoleErr = make(chan error, 1)
		go func() { s.consoleErr <- s.relayPty(parent, stdio) }()
	case detach:
		p.Stdin, p.Stdout, p.Stderr = stdio.In, stdio.Out, stdio.Err
	default:
		rootUID, err := cfg.HostRootUID()
		if err != nil {
			return nil, err
		}
		rootGID, err := cfg.HostRootGID()
		if err != nil {
			return nil, err
		}
		pipes, err := p.InitializeIO(rootUID, rootGID)
		if err != nil {
			return nil, fmt.Errorf("stdio pipes: %w", err)
		}
		for _, c := range []any{p.Stdin, p.Stdout, p.Stderr} {
			if cl, ok := c.(io.Closer); ok {
				s.closeAfterStart = append(s.closeAfterStart, cl)
			}
		}
		s.closers = append(s.closers, pipes.Stdin, pipes.Stdout, pipes.Stderr)
		go func() {
			_, _ = io.Copy(pipes.Stdin, stdio.In)
			_ = pipes.Stdin.Close()
		}()
		s.copies.Add(2)
		go s.copy(stdio.Out, pipes.Stdout)
		go s.copy(stdio.Err, pipes.Stderr)
	}
	return s, nil
}

func (s *stdioSetup) copy(dst io.Writer, src io.Reader) {
	defer s.copies.Done()
	_, _ = io.Copy(dst, src)
	if c, ok := src.(io.Closer); ok {
		_ = c.Close()
	}
}

// hostConsole finds the terminal to relay a foreground tty to.
func hostConsole(stdio Stdio) (console.Console, error) {
	for _, f := range []*os.File{stdio.Err, stdio.Out, stdio.In} {
		if f == nil {
			continue
		}
		c, err := console.ConsoleFromFile(f)
		if err == nil {
			return c, nil
		}
		if !errors.Is(err, console.ErrNotAConsole) {
			return nil, fmt.Errorf("host console: %w", err)
		}
	}
	// All streams are redirected but there may still be a controlling tty.
	tty, err := os.Open("/dev/tty")
	if err != nil {
		return nil, fmt.Errorf("terminal requested but no host terminal is available: %w", err)
	}
	c, err := console.ConsoleFromFile(tty)
	if err != nil {
		_ = tty.Close()
		return nil, fmt.Errorf("host console: %w", err)
	}
	return c, nil
}

// relayPty receives the pty master from the container's init and copies it
// to and from the host terminal.
func (s *stdioSetup) relayPty(sock *os.File, stdio Stdio) error {
	master, err := recvFd(sock)
	if err != nil {
		return fmt.Errorf("receive pty: %w", err)
	}
	c, err := console.ConsoleFromFile(master)
	if err != nil {
		return err
	}
	if err := console.ClearONLCR(c.Fd()); err != nil {
		return err
	}
	ep, err := console.NewEpoller()
	if err != nil {
		return err
	}
	pty, err := ep.Add(c)
	if err != nil {
		return err
	}
	s.epoller, s.pty = ep, pty
	s.closers = append(s.closers, pty)
	go func() { _ = ep.Wait() }()
	go func() { _, _ = io.Copy(pty, stdio.In) }()
	s.copies.Add(1)
	go s.copy(stdio.Out, pty)
	if s.hostConsole != nil {
		_ = pty.ResizeFrom(s.hostConsole)
		if err := s.hostConsole.SetRaw(); err != nil {
			return fmt.Errorf("set host terminal raw: %w", err)
		}
	}
	return nil
}

// started is called once the process runs: it drops our copies of the
// container's fds and, for a relayed tty, waits until the pty arrived.
func (s *stdioSetup) started() error {
	var err error
	if s.consoleErr != nil {
		err = <-s.consoleErr
		s.consoleErr = nil
	}
	for _, c := range s.closeAfterStart {
		_ = c.Close()
	}
	s.closeAfterStart = nil
	return err
}

// resize copies the host terminal's size to a relayed pty.
func (s *stdioSetup) resize() {
	if s.pty != nil && s.hostConsole != nil {
		_ = s.pty.ResizeFrom(s.hostConsole)
	}
}

// close waits for relayed output to drain and restores the host terminal.
func (s *stdioSetup) close() {
	for _, c := range s.closeAfterStart {
		_ = c.Close()
	}
	if s.pty != nil && s.epoller != nil {
		_ = s.pty.Shutdown(s.epoller.CloseConsole)
	}
	s.copies.Wait()
	for _, c := range s.closers {
		_ = c.Close()
	}
	if s.hostConsole != nil {
		_ = s.hostConsole.Reset()
	}
}

func socketPair(name string) (parent, child *os.File, err error) {
	fds, err := unix.Socketpair(unix.AF_LOCAL, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("socketpair: %w", err)
	}
	return os.NewFile(uintptr(fds[1]), name+"-p"), os.NewFile(uintptr(fds[0]), name+"-c"), nil
}

// recvFd reads one SCM_RIGHTS message carrying a single fd; the payload is
// the fd's name, as libcontainer sends it.
func recvFd(sock *os.File) (*os.File, error) {
	name := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(4))
	n, oobn, _, _, err := unix.Recvmsg(int(sock.Fd()), name, oob, unix.MSG_CMSG_CLOEXEC)
	if err != nil {
		return nil, err
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil {
		return nil, err
	}
	if len(msgs) != 1 {
		return nil, fmt.Errorf("got %d control messages, want 1", len(msgs))
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil {
		return nil, err
	}
	if len(fds) != 1 {
		for _, fd := range fds {
			_ = unix.Close(fd)
		}
		return nil, fmt.Errorf("got %d fds, want 1", len(fds))
	}
	return os.NewFile(uintptr(fds[0]), string(name[:n])), nil
}

// writePidFile writes the pid as bare digits, atomically: callers read it
// with Atoi as soon as we exit.
func writePidFile(path string, pid int) error {
	if path == "" {
		return nil
	}
	if err := hostfile.Write(path, []byte(strconv.Itoa(pid)), 0o644); err != nil {
		return fmt.Errorf("pid file: %w", err)
	}
	return nil
}

// dialPidfdSocket connects to a caller's socket that receives the process's
// pidfd from libcontainer.
func dialPidfdSocket(p *libcontainer.Process, path string) (func(), error) {
	conn, err := net.Dial("unix", path)
	if err != nil {
		return nil, fmt.Errorf("pidfd socket: %w", err)
	}
	f, err := conn.(*net.UnixConn).File()
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("pidfd socket: %w", err)
	}
	p.PidfdSocket = f
	return func() {
		f.Close()
		conn.Close()
	}, nil
}
