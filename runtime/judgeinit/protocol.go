// Package judgeinit is the judge init, PID 1 of a judged sandbox, and the
// supervisor's side of the socket it talks over. The init itself is C in
// judgeinit.c: it runs from a constructor of the mini-isolate binary,
// before the Go runtime starts, when the binary is executed with Arg.
package judgeinit

// #include "judgeinit.h"
import "C"

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mini-isolate/mini-isolate/runtime/hostfile"
)

// Arg is the argument that makes the binary run the judge init: it is
// executed as "<path> judge-init <socket fd>".
const Arg = "judge-init"

// Message types; judgeinit.h has the layouts.
const (
	msgRun    = C.JI_RUN
	msgGo     = C.JI_GO
	msgQuit   = C.JI_QUIT
	msgReady  = C.JI_READY
	msgForked = C.JI_FORKED
	msgExec   = C.JI_EXEC
	msgFail   = C.JI_FAIL
	msgExit   = C.JI_EXIT

	flagStderrToStdout = C.JI_STDERR_TO_STDOUT
	flagPersist        = C.JI_PERSIST
	flagNoPathSearch   = C.JI_NO_PATH_SEARCH
	flagSetID          = C.JI_SET_ID
	flagCleanIPC       = C.JI_CLEAN_IPC
	flagJoin           = C.JI_JOIN
	flagQuiet          = C.JI_QUIET
	maxGroups          = C.JI_MAX_GROUPS
	maxJoin            = C.JI_MAX_JOIN
	maxFDs             = C.JI_MAX_FDS
	flagFdStdin        = C.JI_FD_STDIN
	flagFdStdout       = C.JI_FD_STDOUT
	flagFdStderr       = C.JI_FD_STDERR

	maxMsg     = C.JI_MAX_MSG
	maxRlimits = C.JI_MAX_RLIMITS
)

// Fail stages, as the init reports them.
const (
	StageStdin  = C.JI_STAGE_STDIN
	StageStdout = C.JI_STAGE_STDOUT
	StageStderr = C.JI_STAGE_STDERR
	StageRlimit = C.JI_STAGE_RLIMIT
	StageChdir  = C.JI_STAGE_CHDIR
	StageExec   = C.JI_STAGE_EXEC
	StageSetup  = C.JI_STAGE_SETUP
	// StageIdentity: the child could not become the run's user.
	StageIdentity = C.JI_STAGE_IDENTITY
)

type hdr struct {
	Type uint32
	Len  uint32
}

type runHdr struct {
	Flags    uint32
	KeepFDs  uint32
	NRlimits uint32
	NArgs    uint32
	NEnv     uint32
	NGroups  uint32
	UID      uint32
	GID      uint32
	Bounding uint64
	NJoin    uint32
	Pad      uint32
}

type wireRlimit struct {
	Resource uint32
	Pad      uint32
	Soft     uint64
	Hard     uint64
}

type wireFail struct {
	Stage  uint32
	Err    int32
	Detail [256]byte
}

type wireExec struct {
	MonoNs  uint64
	StartNs uint64
}

type wireExit struct {
	Status   int32
	Pad      uint32
	UtimeUs  uint64
	StimeUs  uint64
	MaxRSSKB uint64
	Nvcsw    uint64
	Nivcsw   uint64
	MonoNs   uint64
	StartNs  uint64
}

// Rlimit is a resource limit the init sets on the program just before exec.
type Rlimit struct {
	Resource int    `json:"resource"`
	Soft     uint64 `json:"soft"`
	Hard     uint64 `json:"hard"`
}

// Run describes one program for the init to start.
type Run struct {
	Args []string `json:"args"`
	Env  []string `json:"env,omitempty"`
	// Cwd is changed into after the redirections are opened ("" keeps the
	// init's directory).
	Cwd string `json:"cwd,omitempty"`
	// Stdin, Stdout and Stderr are paths opened inside the sandbox, as the
	// sandbox user, without following symlinks ("" inherits the init's).
	Stdin          string `json:"stdin,omitempty"`
	Stdout         string `json:"stdout,omitempty"`
	Stderr         string `json:"stderr,omitempty"`
	StderrToStdout bool   `json:"stderrToStdout,omitempty"`
	// Files are sent with the request and become the program's stdin,
	// stdout and stderr when not nil (before the path redirections).
	Files [3]*os.File `json:"-"`
	// KeepFDs passes fds 3 .. 3+KeepFDs-1 of the init to the program.
	KeepFDs int `json:"keepFDs,omitempty"`
	// ExtraFiles are sent with the request and become the program's fds
	// 3, 4, ... (instead of KeepFDs).
	ExtraFiles []*os.File `json:"-"`
	// NoPathSearch execs Args[0] as a path, without looking it up in PATH,
	// as isolate does.
	NoPathSearch bool     `json:"noPathSearch,omitempty"`
	Rlimits      []Rlimit `json:"rlimits,omitempty"`
	// Persist keeps the init serving further runs after this one.
	Persist bool `json:"persist,omitempty"`
	// User, when set, is who the program runs as; the init then runs as
	// root with only CAP_SETUID, CAP_SETGID, CAP_SETPCAP and CAP_KILL.
	User *User `json:"user,omitempty"`
	// CleanIPC first removes what earlier runs left in SysV IPC, /dev/shm
	// and /dev/mqueue (with User only: it runs as that user).
	CleanIPC bool `json:"cleanIPC,omitempty"`
	// Join are cgroup v1 tasks files sent with the request: the child
	// writes "0" to each, joining those cgroups, before anything else.
	// Then it neither says Ready nor waits for Go, and its Exec goes to
	// RecvQuiet; a child started by fork (a FIFO redirection) is
	// announced with Forked, and its Exec comes to Recv.
	Join []*os.File `json:"-"`
}

// User is the identity the init's child takes before it opens anything.
type User struct {
	UID    uint32   `json:"uid"`
	GID    uint32   `json:"gid"`
	Groups []uint32 `json:"groups,omitempty"`
	// Bounding is the program's capability bounding set, as a bit mask.
	Bounding uint64 `json:"bounding"`
}

// InitCapabilities are what a judge init that changes to Run.User needs.
var InitCapabilities = []string{"CAP_SETUID", "CAP_SETGID", "CAP_SETPCAP", "CAP_KILL"}

// encode makes the request and the fds to send with it; quiet, when not
// -1, is the socket for the child's Exec.
func (r *Run) encode(quiet int) ([]byte, []int, error) {
	if len(r.Args) == 0 || r.Args[0] == "" {
		return nil, nil, errors.New("judge init: no program to run")
	}
	if len(r.Rlimits) > maxRlimits {
		return nil, nil, fmt.Errorf("judge init: %d rlimits, at most %d", len(r.Rlimits), maxRlimits)
	}
	h := runHdr{KeepFDs: uint32(r.KeepFDs), NRlimits: uint32(len(r.Rlimits)), NArgs: uint32(len(r.Args)), NEnv: uint32(len(r.Env))}
	if r.StderrToStdout {
		h.Flags |= flagStderrToStdout
	}
	if r.Persist {
		h.Flags |= flagPersist
	}
	if r.NoPathSearch {
		h.Flags |= flagNoPathSearch
	}
	if u := r.User; u != nil {
		if len(u.Groups) > maxGroups {
			return nil, nil, fmt.Errorf("judge init: %d supplementary groups, at most %d", len(u.Groups), maxGroups)
		}
		h.Flags |= flagSetID
		h.UID, h.GID, h.NGroups, h.Bounding = u.UID, u.GID, uint32(len(u.Groups)), u.Bounding
		if r.CleanIPC {
			h.Flags |= flagCleanIPC
		}
	}
	var fds []int
	for i, f := range r.Files {
		if f != nil {
			h.Flags |= flagFdStdin << i
			fds = append(fds, int(f.Fd()))
		}
	}
	if len(r.ExtraFiles) > 0 {
		if len(r.ExtraFiles) > maxFDs {
			return nil, nil, fmt.Errorf("judge init: %d extra files, at most %d", len(r.ExtraFiles), maxFDs)
		}
		h.KeepFDs = uint32(len(r.ExtraFiles))
		for _, f := range r.ExtraFiles {
			fds = append(fds, int(f.Fd()))
		}
	}
	if len(r.Join) > 0 {
		if len(r.Join) > maxJoin {
			return nil, nil, fmt.Errorf("judge init: %d cgroup files, at most %d", len(r.Join), maxJoin)
		}
		h.Flags |= flagJoin
		h.NJoin = uint32(len(r.Join))
		for _, f := range r.Join {
			fds = append(fds, int(f.Fd()))
		}
	}
	if quiet >= 0 {
		h.Flags |= flagQuiet
		fds = append(fds, quiet)
	}
	var body bytes.Buffer
	_ = binary.Write(&body, binary.NativeEndian, h)
	for _, rl := range r.Rlimits {
		_ = binary.Write(&body, binary.NativeEndian, wireRlimit{Resource: uint32(rl.Resource), Soft: rl.Soft, Hard: rl.Hard})
	}
	if r.User != nil {
		_ = binary.Write(&body, binary.NativeEndian, r.User.Groups)
	}
	strs := append([]string{r.Stdin, r.Stdout, r.Stderr, r.Cwd}, r.Args...)
	strs = append(strs, r.Env...)
	for _, s := range strs {
		if bytes.IndexByte([]byte(s), 0) >= 0 {
			return nil, nil, fmt.Errorf("judge init: %q contains a NUL byte", s)
		}
		body.WriteString(s)
		body.WriteByte(0)
	}
	msg := frame(msgRun, body.Bytes())
	if len(msg) > maxMsg {
		return nil, nil, fmt.Errorf("judge init: request of %d bytes is over the %d byte limit", len(msg), maxMsg)
	}
	return msg, fds, nil
}

func frame(typ uint32, body []byte) []byte {
	var b bytes.Buffer
	_ = binary.Write(&b, binary.NativeEndian, hdr{Type: typ, Len: uint32(len(body))})
	b.Write(body)
	return b.Bytes()
}

// EventType says what an Event reports.
type EventType int

// Events from the init, in the order a run produces them.
const (
	// Ready: the child is forked and waits for Go; Pid is its host pid.
	Ready EventType = iota + 1
	// Exec: the child is about to exec the program at Mono; Start is
	// when the init started it.
	Exec
	// Failed: the child could not start the program.
	Failed
	// Exited: the program and all it started are gone.
	Exited
	// Forked: the init forked, at Start, a child that joins its cgroups
	// itself (see Run.Join), and whose set-up may block; Pidfd, when not
	// -1, is the child's pidfd.
	Forked
)

// Event is one message from the init or its child.
type Event struct {
	Type EventType
	// Pid is the sender's pid in our PID namespace, from the kernel.
	Pid int
	// Pidfd is the child's pidfd (Forked), or -1; the receiver closes
	// it.
	Pidfd int
	// Mono is CLOCK_MONOTONIC when the event happened (Exec, Exited).
	Mono time.Duration
	// Start is when the init started the child (Exec, Forked, Exited),
	// or 0.
	Start time.Duration
	// Failed.
	Stage  int
	Errno  syscall.Errno
	Detail string
	// Exited.
	Status        unix.WaitStatus
	User, System  time.Duration
	MaxRSSKB      int64
	Nvcsw, Nivcsw int64
}

// Conn is the supervisor's end of the init's socket.
type Conn struct {
	c *net.UnixConn
	// in and oob are Recv's buffers, kept: a run receives several
	// messages, and Recv has one caller at a time.
	in  [1024]byte
	oob [64]byte
	// quiet is the socket pair a joined child's Exec goes to (read,
	// write), made at the first such run; -1 until then.
	quiet [2]int
}

// NewPair makes the socket: Conn for the supervisor, and the file to pass
// to the sandbox (its fd number inside becomes the init's argument).
func NewPair() (*Conn, *os.File, error) {
	fds, err := credPair()
	if err != nil {
		return nil, nil, fmt.Errorf("judge init socket: %w", err)
	}
	sup := os.NewFile(uintptr(fds[0]), "judge-supervisor")
	conn, err := FileConn(sup)
	sup.Close()
	if err != nil {
		unix.Close(fds[1])
		return nil, nil, err
	}
	return conn, os.NewFile(uintptr(fds[1]), "judge-init"), nil
}

// credPair makes a socket pair whose first end gets every message
// stamped with the sender's pid, as seen from here: that is how the
// child's host pid reaches us.
func credPair() ([2]int, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return [2]int{}, err
	}
	if err := unix.SetsockoptInt(fds[0], unix.SOL_SOCKET, unix.SO_PASSCRED, 1); err != nil {
		unix.Close(fds[0])
		unix.Close(fds[1])
		return [2]int{}, err
	}
	return [2]int{fds[0], fds[1]}, nil
}

// MaxExtraFiles is how many fds from 3 up a run may be given.
const MaxExtraFiles = maxFDs

// Listen makes the listening socket of a box at path (mode 0600, so only
// root reaches it): its file goes to the init, started with ListenArgs.
func Listen(path string) (*os.File, error) {
	_ = os.Remove(path)
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("box socket: %w", err)
	}
	f := os.NewFile(uintptr(fd), path)
	err = withAddr(path, func(sa *unix.SockaddrUnix) error {
		return hostfile.WithUmask(0o177, func() error { return unix.Bind(fd, sa) })
	})
	if err == nil {
		err = unix.Listen(fd, 4)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("box socket %s: %w", path, err)
	}
	return f, nil
}

// withAddr calls f with the address of the socket at path. A path too
// long for an address (108 bytes, a long box_root) is reached through a
// descriptor of its directory: /proc/self/fd/N/name.
func withAddr(path string, f func(*unix.SockaddrUnix) error) error {
	if len(path) < len(unix.RawSockaddrUnix{}.Path) {
		return f(&unix.SockaddrUnix{Name: path})
	}
	dir, err := unix.Open(filepath.Dir(path), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: filepath.Dir(path), Err: err}
	}
	defer unix.Close(dir)
	return f(&unix.SockaddrUnix{Name: fmt.Sprintf("/proc/self/fd/%d/%s", dir, filepath.Base(path))})
}

// Dial connects to a box's init through its listening socket.
func Dial(path string) (*Conn, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("box socket: %w", err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_PASSCRED, 1); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("box socket: %w", err)
	}
	if err := withAddr(path, func(sa *unix.SockaddrUnix) error { return unix.Connect(fd, sa) }); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("box socket %s: %w", path, err)
	}
	f := os.NewFile(uintptr(fd), path)
	defer f.Close()
	return FileConn(f)
}

// FileConn wraps an inherited supervisor end (a detached supervisor gets
// it as an extra file). f may be closed afterwards.
func FileConn(f *os.File) (*Conn, error) {
	c, err := net.FileConn(f)
	if err != nil {
		return nil, fmt.Errorf("judge init socket: %w", err)
	}
	uc, ok := c.(*net.UnixConn)
	if !ok {
		c.Close()
		return nil, errors.New("judge init socket: not a unix socket")
	}
	return &Conn{c: uc, quiet: [2]int{-1, -1}}, nil
}

// File returns a duplicate of the socket, to hand to another process.
func (c *Conn) File() (*os.File, error) {
	return c.c.File()
}

// Idle reports whether the connection can carry another run: its peer is
// still there, with nothing unread from it. A connection kept between
// runs (Run.Persist) is checked so before reuse: the init hangs up on it
// when another supervisor connects.
func (c *Conn) Idle() bool {
	rc, err := c.c.SyscallConn()
	if err != nil {
		return false
	}
	idle := false
	_ = rc.Control(func(fd uintptr) {
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN | unix.POLLRDHUP}}
		n, err := unix.Poll(pfd, 0)
		idle = err == nil && n == 0
	})
	return idle
}

// Close closes the supervisor's end.
func (c *Conn) Close() error {
	for i, fd := range c.quiet {
		if fd >= 0 {
			unix.Close(fd)
			c.quiet[i] = -1
		}
	}
	return c.c.Close()
}

// SendRun asks the init to start a program. With Run.Join, the child's
// Exec does not come to Recv: RecvQuiet reads it.
func (c *Conn) SendRun(r *Run) error {
	quiet := -1
	if len(r.Join) > 0 {
		if err := c.makeQuiet(); err != nil {
			return err
		}
		quiet = c.quiet[1]
	}
	msg, fds, err := r.encode(quiet)
	if err != nil {
		return err
	}
	var oob []byte
	if len(fds) > 0 {
		oob = unix.UnixRights(fds...)
	}
	if _, _, err := c.c.WriteMsgUnix(msg, oob, nil); err != nil {
		return fmt.Errorf("judge init: send run: %w", err)
	}
	return nil
}

func (c *Conn) makeQuiet() error {
	if c.quiet[0] >= 0 {
		return nil
	}
	fds, err := credPair()
	if err != nil {
		return fmt.Errorf("judge init: exec socket: %w", err)
	}
	c.quiet = fds
	return nil
}

// RecvQuiet reads, without waiting, what a joined child sent to the
// socket read only on demand: its Exec, or nil when nothing came. It may
// run beside Recv.
func (c *Conn) RecvQuiet() (*Event, error) {
	if c.quiet[0] < 0 {
		return nil, nil
	}
	var buf [64]byte
	oob := make([]byte, unix.CmsgSpace(unix.SizeofUcred))
	n, oobn, _, _, err := unix.Recvmsg(c.quiet[0], buf[:], oob, unix.MSG_DONTWAIT)
	if errors.Is(err, unix.EAGAIN) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("judge init: exec socket: %w", err)
	}
	ev := newEvent(oob[:oobn])
	ev.closeFDs() // none is sent here
	if err := ev.parse(buf[:n]); err != nil {
		return nil, err
	}
	if ev.Type != Exec {
		return nil, fmt.Errorf("judge init: exec socket: unexpected message type %d", ev.Type)
	}
	return ev, nil
}

// NotSent says whether err, from SendRun, means that the init's end was
// already closed: the request never reached it, and can go on another
// connection.
func NotSent(err error) bool {
	return errors.Is(err, unix.EPIPE) || errors.Is(err, unix.ECONNRESET) || errors.Is(err, unix.ENOTCONN)
}

// SendGo releases a Ready child to exec the program. Before it does, the
// child writes "0" to each of join, cgroup v1 tasks files, which moves it
// into those cgroups; it fails the run if one refuses.
func (c *Conn) SendGo(join ...*os.File) error {
	if len(join) > maxJoin {
		return fmt.Errorf("judge init: %d cgroup files, at most %d", len(join), maxJoin)
	}
	var oob []byte
	if len(join) > 0 {
		fds := make([]int, len(join))
		for i, f := range join {
			fds[i] = int(f.Fd())
		}
		oob = unix.UnixRights(fds...)
	}
	_, _, err := c.c.WriteMsgUnix(frame(msgGo, nil), oob, nil)
	return err
}

// SendQuit tells a persistent init to exit.
func (c *Conn) SendQuit() error {
	_, err := c.c.Write(frame(msgQuit, nil))
	return err
}

// SetDeadline bounds the next Recv.
func (c *Conn) SetDeadline(t time.Time) error {
	return c.c.SetReadDeadline(t)
}

// Recv reads the next event. It returns io.EOF once the init is gone and
// no one else holds the other end. It reads into the Conn's own buffers:
// one goroutine at a time may call it (the supervisor's event reader).
func (c *Conn) Recv() (*Event, error) {
	buf, oob := c.in[:], c.oob[:unix.CmsgSpace(unix.SizeofUcred)+unix.CmsgSpace(4)]
	n, oobn, _, _, err := c.c.ReadMsgUnix(buf, oob)
	if err != nil {
		return nil, err
	}
	ev := newEvent(oob[:oobn])
	if n == 0 {
		ev.closeFDs()
		return nil, io.EOF
	}
	if err := ev.parse(buf[:n]); err != nil {
		ev.closeFDs()
		return nil, err
	}
	if ev.Type != Forked {
		ev.closeFDs()
	}
	return ev, nil
}

// newEvent starts an event from a message's control data: the sender's
// pid, and the first fd sent with it (any more are closed).
func newEvent(oob []byte) *Event {
	ev := &Event{Pidfd: -1}
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return ev
	}
	for _, m := range msgs {
		if cred, err := unix.ParseUnixCredentials(&m); err == nil {
			ev.Pid = int(cred.Pid)
		}
		if fds, err := unix.ParseUnixRights(&m); err == nil {
			for _, fd := range fds {
				if ev.Pidfd < 0 {
					ev.Pidfd = fd
				} else {
					unix.Close(fd)
				}
			}
		}
	}
	return ev
}

func (ev *Event) closeFDs() {
	if ev.Pidfd >= 0 {
		unix.Close(ev.Pidfd)
		ev.Pidfd = -1
	}
}

// parse reads one message into ev.
func (ev *Event) parse(msg []byte) error {
	n := len(msg)
	r := bytes.NewReader(msg)
	var h hdr
	if err := binary.Read(r, binary.NativeEndian, &h); err != nil || int(h.Len) != r.Len() {
		return fmt.Errorf("judge init: malformed message of %d bytes", n)
	}
	switch h.Type {
	case msgReady:
		ev.Type = Ready
	case msgForked:
		var f wireExec
		if err := binary.Read(r, binary.NativeEndian, &f); err != nil {
			return fmt.Errorf("judge init: forked message: %w", err)
		}
		ev.Type, ev.Start = Forked, time.Duration(f.StartNs)
	case msgExec:
		var f wireExec
		if err := binary.Read(r, binary.NativeEndian, &f); err != nil {
			return fmt.Errorf("judge init: exec message: %w", err)
		}
		ev.Type, ev.Mono, ev.Start = Exec, time.Duration(f.MonoNs), time.Duration(f.StartNs)
	case msgFail:
		var f wireFail
		if err := binary.Read(r, binary.NativeEndian, &f); err != nil {
			return fmt.Errorf("judge init: fail message: %w", err)
		}
		ev.Type, ev.Stage, ev.Errno = Failed, int(f.Stage), syscall.Errno(f.Err)
		ev.Detail = string(bytes.TrimRight(f.Detail[:], "\x00"))
	case msgExit:
		var x wireExit
		if err := binary.Read(r, binary.NativeEndian, &x); err != nil {
			return fmt.Errorf("judge init: exit message: %w", err)
		}
		ev.Type = Exited
		ev.Status = unix.WaitStatus(x.Status)
		ev.User = time.Duration(x.UtimeUs) * time.Microsecond
		ev.System = time.Duration(x.StimeUs) * time.Microsecond
		ev.MaxRSSKB = int64(x.MaxRSSKB)
		ev.Nvcsw, ev.Nivcsw = int64(x.Nvcsw), int64(x.Nivcsw)
		ev.Mono, ev.Start = time.Duration(x.MonoNs), time.Duration(x.StartNs)
	default:
		return fmt.Errorf("judge init: unknown message type %d", h.Type)
	}
	return nil
}

// Monotonic is CLOCK_MONOTONIC, the clock the init's timestamps use.
func Monotonic() time.Duration {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return time.Duration(ts.Nano())
}

// StartError is why the child could not start the program: the stage
// that failed (StageStdin, StageExec, ...), the error, and the path or
// resource it concerned. Callers tell stages apart by Stage, never by the
// message.
type StartError struct {
	Stage  int
	Errno  syscall.Errno
	Detail string
}

// StartError returns a Failed event's error.
func (e *Event) StartError() *StartError {
	return &StartError{Stage: e.Stage, Errno: e.Errno, Detail: e.Detail}
}

// Error is the message a report shows.
func (e *StartError) Error() string {
	switch e.Stage {
	case StageStdin:
		return fmt.Sprintf("open stdin %q: %v", e.Detail, e.Errno)
	case StageStdout:
		return fmt.Sprintf("open stdout %q: %v", e.Detail, e.Errno)
	case StageStderr:
		return fmt.Sprintf("open stderr %q: %v", e.Detail, e.Errno)
	case StageRlimit:
		return fmt.Sprintf("set %s: %v", e.Detail, e.Errno)
	case StageChdir:
		return fmt.Sprintf("chdir %q: %v", e.Detail, e.Errno)
	case StageExec:
		return fmt.Sprintf("execve(%q): %v", e.Detail, e.Errno)
	case StageIdentity:
		return fmt.Sprintf("become the sandbox user: %s: %v", e.Detail, e.Errno)
	}
	return fmt.Sprintf("%s: %v", e.Detail, e.Errno)
}

// Unwrap is the errno.
func (e *StartError) Unwrap() error { return e.Errno }
