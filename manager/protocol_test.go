package manager

import (
	"bufio"
	"context"
	"errors"
	"net"
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestReadBounded(t *testing.T) {
	for _, tc := range []struct {
		in    string
		max   int
		want  string
		error error
	}{
		{"abc\n", 10, "abc", nil},
		{"\n", 10, "", nil},
		{"abcdef\n", 3, "", errTooLong},
		{"abc", 10, "", errors.New("unexpected EOF")},
		{strings.Repeat("x", 100000) + "\n", 200000, strings.Repeat("x", 100000), nil},
	} {
		got, err := readBounded(bufio.NewReaderSize(strings.NewReader(tc.in), 16), '\n', tc.max)
		if (err == nil) != (tc.error == nil) || string(got) != tc.want {
			t.Errorf("%.20q (max %d): %.20q %v, want %.20q %v", tc.in, tc.max, got, err, tc.want, tc.error)
		}
	}
}

// TestConnNext sends an isolate invocation with its strings and a
// descriptor through a socket pair, then a line that does not decode.
func TestConnNext(t *testing.T) {
	ca, cb := connPair(t)
	client := &Client{c: ca, in: bufio.NewReader(ca)}
	server := newConn(cb, nil)
	defer client.Close()
	defer server.close()
	devnull, _ := os.Open(os.DevNull)
	defer devnull.Close()
	req := &Request{Op: "isolate", NArgs: 2, NEnv: 1}
	if err := client.send(req, []string{"--run", "a b", "X=1"}, []*os.File{devnull}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.c.Write([]byte("{not json\n")); err != nil {
		t.Fatal(err)
	}
	in, err := server.next()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(in.strs, "|") != "--run|a b|X=1" || len(in.fds) != 1 {
		t.Errorf("strings %q, %d descriptors", in.strs, len(in.fds))
	}
	in.close()
	var bad *badRequest
	if _, err := server.next(); !errors.As(err, &bad) {
		t.Errorf("a line that is not JSON: %v, want a bad request", err)
	}
}

// TestServeConnClosesFDs: a client sends requests with a descriptor each
// and goes away at once. Once its connection is served, every descriptor
// the manager received is closed, of requests served and of those read
// but never served alike, not left to the garbage collector.
func TestServeConnClosesFDs(t *testing.T) {
	for round := range 20 {
		ca, cb := connPair(t)
		devnull, err := os.Open(os.DevNull)
		if err != nil {
			t.Fatal(err)
		}
		before := openFDs(t)
		s := &Server{}
		s.conns.Add(1)
		served := make(chan struct{})
		go func() {
			s.serveConn(context.Background(), cb)
			close(served)
		}()
		client := &Client{c: ca, in: bufio.NewReader(ca)}
		for range 50 {
			if err := client.send(&Request{Op: "ping"}, nil, []*os.File{devnull}); err != nil {
				t.Fatal(err)
			}
		}
		client.Close()
		<-served
		// Both ends of the pair were open before, and are closed.
		if after := openFDs(t); after != before-2 {
			t.Fatalf("round %d: %d descriptors open after the connection was served, want %d", round, after, before-2)
		}
		devnull.Close()
	}
}

// connPair is the two ends of a connected Unix stream socket pair.
func connPair(t *testing.T) (*net.UnixConn, *net.UnixConn) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	var conns [2]*net.UnixConn
	for i, fd := range fds {
		f := os.NewFile(uintptr(fd), "pair")
		c, err := net.FileConn(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		conns[i] = c.(*net.UnixConn)
	}
	return conns[0], conns[1]
}

// openFDs counts this process's open descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(entries) - 1 // the directory's own
}
