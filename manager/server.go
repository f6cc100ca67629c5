package manager

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"

	"github.com/mini-isolate/mini-isolate/box"
	"github.com/mini-isolate/mini-isolate/runtime"
	"github.com/mini-isolate/mini-isolate/runtime/hostfile"
	"github.com/mini-isolate/mini-isolate/runtime/supervise"
)

// Server is the manager.
type Server struct {
	// Config is the configuration the manager serves: its boxes, its
	// socket and its pool.
	Config *box.Config
	// Root is the runtime's state root ("" for the default).
	Root string
	// Idle is how long the manager stays up without a request; 0 is for
	// ever.
	Idle time.Duration

	rt     *runtime.Runtime
	stop   context.CancelFunc
	mu     sync.Mutex
	open   map[*net.UnixConn]int // connections being served, to their descriptors
	pool   *pool
	reaper *reaper
	// cgroups keeps each box's next run cgroups made ahead of time.
	cgroups *supervise.RunCgroups
	// inits keeps each box init's connection between runs.
	inits *supervise.InitConns
	// runs keeps each box's container key and decoded state.
	runs *box.RunCache
	ln   *net.UnixListener
	lnFD int // ln's descriptor while it is open, else -1
	// quiet, made when holdBack waits, is closed when a request has been
	// served or a connection has ended: the work held back looks again.
	// pollFDs is holdBack's buffer.
	quiet   chan struct{}
	pollFDs []unix.PollFd
	// life is the socket's life lock (life.go), once this manager has it.
	life     *os.File
	sweeping sync.WaitGroup // sweep's wait for the life lock
	busy     atomic.Int64   // requests being served
	last     atomic.Int64   // unix nanoseconds of the last request's end
	conns    sync.WaitGroup
	// readers are connections' read buffers, reused: a new one for
	// each connection made the garbage collector run at about every
	// cycle of --init, --run and --cleanup.
	readers sync.Pool
}

// bigTransfer is the size of a request or reply after which the manager
// returns its free memory to the system.
const bigTransfer = 256 << 10

// ErrRunning is returned by Listen when another manager serves the socket.
var ErrRunning = errors.New("a manager already serves this socket")

// Listen takes the socket: a stale one, that nobody serves, is replaced.
func (s *Server) Listen() error {
	path := s.Config.Socket()
	if c, err := net.Dial("unix", path); err == nil {
		c.Close()
		return ErrRunning
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("manager socket: %w", err)
	}
	// Managers started at once take the socket in turn: the second finds
	// it served, instead of replacing it.
	unlock, err := lockStart(path)
	if err != nil {
		return err
	}
	defer unlock()
	if c, err := net.Dial("unix", path); err == nil {
		c.Close()
		return ErrRunning
	}
	_ = os.Remove(path)
	// Only root may connect: the socket runs anything as anyone.
	var ln *net.UnixListener
	err = hostfile.WithUmask(0o077, func() (err error) {
		ln, err = net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
		return err
	})
	if err != nil {
		return fmt.Errorf("manager socket: %w", err)
	}
	ln.SetUnlinkOnClose(true)
	s.ln = ln
	return nil
}

// Serve serves requests until ctx is cancelled or the manager has been
// idle for s.Idle, then discards its spares, finishes what the reaper has
// and returns.
func (s *Server) Serve(ctx context.Context) error {
	rt, err := runtime.New(s.Root, false)
	if err != nil {
		return err
	}
	s.rt = rt
	s.open = map[*net.UnixConn]int{}
	s.lnFD = fdOf(s.ln)
	s.cgroups = supervise.NewRunCgroups()
	s.cgroups.Yield = s.holdBack
	s.inits = supervise.NewInitConns()
	s.runs = box.NewRunCache()
	m := s.boxManager(0, 0)
	s.pool = newPool(m, s.Config.SpareBoxes)
	var recycle func(box.Leftover) (bool, string)
	if s.Config.RecycleBoxes && s.Config.SpareBoxes > 0 {
		recycle = s.pool.recycle
	}
	s.reaper = newReaper(m, recycle)
	if recycle != nil {
		s.pool.inRecycle = s.reaper.pending
	}
	s.last.Store(time.Now().UnixNano())
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s.stop = cancel
	s.sweep(ctx, m) // what a manager before this one left behind
	go s.pool.fill(ctx)
	go s.watchIdle(ctx, cancel)
	go func() {
		<-ctx.Done()
		s.mu.Lock()
		s.lnFD = -1
		s.mu.Unlock()
		s.ln.Close()
	}()
	idle := make(chan *net.UnixConn) // to a worker waiting for one
	for {
		c, err := s.ln.AcceptUnix()
		if err != nil {
			break
		}
		s.conns.Add(1)
		s.mu.Lock()
		s.open[c] = fdOf(c)
		s.mu.Unlock()
		select {
		case idle <- c:
		default:
			go s.worker(ctx, c, idle)
		}
	}
	// An accept that failed (EMFILE) ends the manager too: fill and the
	// sweep's wait stop on ctx.
	cancel()
	// Stop reading new requests; those being served finish.
	s.mu.Lock()
	for c := range s.open {
		_ = c.SetReadDeadline(time.Now())
	}
	s.mu.Unlock()
	s.conns.Wait()
	s.cgroups.Close()
	s.inits.Close()
	s.sweeping.Wait()
	s.holdLifeToEnd()
	s.pool.drain()
	s.reaper.stop()
	s.mu.Lock()
	if s.life != nil {
		s.life.Close()
	}
	s.mu.Unlock()
	return nil
}

// watchIdle ends the manager once nothing has happened for s.Idle.
func (s *Server) watchIdle(ctx context.Context, stop func()) {
	if s.Idle <= 0 {
		return
	}
	t := time.NewTicker(min(s.Idle/4, time.Second))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		idleSince := time.Unix(0, s.last.Load())
		if s.busy.Load() == 0 && time.Since(idleSince) >= s.Idle {
			logrus.Debugf("manager: idle for %v, exiting", s.Idle)
			stop()
			return
		}
	}
}

// boxManager is a box manager acting for the given caller.
func (s *Server) boxManager(uid, gid int) *box.Manager {
	m := &box.Manager{Config: s.Config, Runtime: s.rt, CallerUID: uid, CallerGID: gid, RunCgroups: s.cgroups, InitConns: s.inits, Cache: s.runs}
	if s.pool != nil {
		m.Pool = s.pool
	}
	if s.reaper != nil {
		m.Reaper = s.reaper
	}
	return m
}

// workerLinger is how long a worker waits for another connection.
const workerLinger = 10 * time.Second

// worker serves c, then the connections it takes from idle until none
// comes for workerLinger or the manager stops accepting. A goroutine
// that served a request has grown its stack to what serving takes: a new
// one for each connection grew it again, copying it each time (5 % of
// the manager's CPU in throughput).
func (s *Server) worker(ctx context.Context, c *net.UnixConn, idle <-chan *net.UnixConn) {
	linger := time.NewTimer(workerLinger)
	defer linger.Stop()
	for {
		// Requests are not cancelled by a shutdown: they finish first.
		s.serveConn(context.WithoutCancel(ctx), c)
		linger.Reset(workerLinger)
		select {
		case c = <-idle:
		case <-linger.C:
			return
		case <-ctx.Done():
			return
		}
	}
}

// serveConn serves one connection: its requests in order. A reader
// takes them off the connection as they come, so that a client that goes
// away cancels what it asked for.
func (s *Server) serveConn(ctx context.Context, c *net.UnixConn) {
	defer s.conns.Done()
	defer s.served()
	cn := newConn(c, &s.readers)
	if err := checkPeer(c); err != nil {
		_ = cn.write(&Reply{Error: err.Error()})
		s.forget(c)
		cn.close()
		cn.release(&s.readers)
		return
	}
	ctx, cancel := context.WithCancel(ctx)
	reqs := make(chan *incoming, 16)
	read := make(chan struct{})
	defer func() {
		// The reader stops once the connection is closed and the
		// context cancelled; only then are its buffer and the
		// descriptors it received free.
		cancel()
		s.forget(c)
		_ = c.Close()
		<-read
		for in := range reqs {
			in.close() // read, never served
		}
		cn.close()
		cn.release(&s.readers)
	}()
	go func() {
		defer close(read)
		defer close(reqs)
		readRequests(ctx, cancel, cn, reqs)
	}()
	for in := range reqs {
		s.busy.Add(1)
		cn.resetWrote()
		err := s.dispatch(ctx, cn, in)
		in.close()
		if max(in.size, cn.longestWrite()) > bigTransfer {
			// Files put or got travel in the request or the reply, and
			// leave the heap that much larger: give it back now rather
			// than over minutes.
			debug.FreeOSMemory()
		}
		s.busy.Add(-1)
		s.last.Store(time.Now().UnixNano())
		s.served()
		if err != nil {
			return
		}
	}
}

// forget takes c out of the connections served, before it is closed:
// holdBack polls their descriptors, and a closed one's number can be
// reused.
func (s *Server) forget(c *net.UnixConn) {
	s.mu.Lock()
	delete(s.open, c)
	s.mu.Unlock()
}

// readRequests takes requests off cn into reqs until the client goes
// away, speaks nonsense (answered, and what it asked for cancelled) or
// the manager stops reading.
func readRequests(ctx context.Context, cancel context.CancelFunc, cn *conn, reqs chan<- *incoming) {
	for {
		in, err := cn.next()
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return // the manager is stopping: finish what runs
		}
		var bad *badRequest
		if errors.As(err, &bad) {
			in = &incoming{Request: &Request{Op: "bad", Path: bad.Error()}}
			err = nil
		}
		if err != nil {
			if !errors.Is(err, io.EOF) && ctx.Err() == nil {
				_ = cn.write(&Reply{Error: err.Error()})
			}
			cancel()
			return
		}
		select {
		case reqs <- in:
		case <-ctx.Done():
			in.close()
			return
		}
	}
}

// checkPeer refuses a client that is not root: the socket's mode already
// does, unless someone changed it.
func checkPeer(c *net.UnixConn) error {
	raw, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var cred *unix.Ucred
	var cerr error
	if err := raw.Control(func(fd uintptr) {
		cred, cerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return err
	}
	if cerr != nil {
		return cerr
	}
	if cred.Uid != 0 {
		return errors.New("the manager serves root only")
	}
	return nil
}
