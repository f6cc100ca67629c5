package manager

import (
	"net"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// held runs holdBack for at most limit and reports on the channel when
// it returns.
func held(s *Server, limit time.Duration) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		s.holdBack(limit)
		close(done)
	}()
	return done
}

// heldServer is a Server with what holdBack looks at: no listener, no
// connection, nothing served.
func heldServer() *Server {
	return &Server{open: map[*net.UnixConn]int{}, lnFD: -1}
}

// socketPair is two connected Unix stream sockets, closed at the end.
func socketPair(t *testing.T) (ours, theirs int) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		unix.Close(fds[0])
		unix.Close(fds[1])
	})
	return fds[0], fds[1]
}

// Background work waits while a request is served or waits to be read,
// and goes on once it has been served.
func TestHoldBack(t *testing.T) {
	for _, tc := range []struct {
		name string
		// hold makes the manager busy and returns what ends that and
		// reports it, as serving a request does.
		hold func(t *testing.T, s *Server) (release func())
	}{
		{"a request being served", func(t *testing.T, s *Server) func() {
			s.busy.Add(1)
			return func() {
				s.busy.Add(-1)
				s.served()
			}
		}},
		{"a request not read yet", func(t *testing.T, s *Server) func() {
			ours, theirs := socketPair(t)
			s.mu.Lock()
			s.open[&net.UnixConn{}] = ours
			s.mu.Unlock()
			if _, err := unix.Write(theirs, []byte("{\"op\":\"ping\"}\n")); err != nil {
				t.Fatal(err)
			}
			return func() {
				if _, err := unix.Read(ours, make([]byte, 64)); err != nil {
					t.Error(err)
				}
				s.served()
			}
		}},
		{"a client waiting to be accepted", func(t *testing.T, s *Server) func() {
			ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: t.TempDir() + "/s", Net: "unix"})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { ln.Close() })
			s.ln, s.lnFD = ln, fdOf(ln)
			c, err := net.Dial("unix", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })
			return func() {
				a, err := ln.AcceptUnix()
				if err != nil {
					t.Error(err)
					return
				}
				a.Close()
				s.served()
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := heldServer()
			select {
			case <-held(s, time.Hour):
			case <-time.After(10 * time.Second):
				t.Fatal("held back with nothing to serve")
			}
			release := tc.hold(t, s)
			done := held(s, time.Hour)
			select {
			case <-done:
				t.Fatal("not held back")
			case <-time.After(50 * time.Millisecond):
			}
			release()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("still held back after the request was served")
			}
		})
	}
}

// A request that takes long holds the work back for the limit at most.
func TestHoldBackBounded(t *testing.T) {
	const hold = 30 * time.Millisecond
	s := heldServer()
	s.busy.Add(1)
	t0 := time.Now()
	select {
	case <-held(s, hold):
	case <-time.After(10 * time.Second):
		t.Fatal("held back for good")
	}
	if d := time.Since(t0); d < hold {
		t.Errorf("held back %v, want %v", d, hold)
	}
}
