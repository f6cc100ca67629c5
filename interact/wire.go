package interact

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"time"
)

// network is the pipes of an interaction: which end each party gets, the
// ends this process holds until the party's sandbox has its own, and the
// relays that copy through the transcript.
type network struct {
	wiring []Wiring // 0 is the interactor, i the user i-1

	mu     sync.Mutex
	own    [][]*os.File // per party, the ends held until release
	relay  []*os.File   // ends the relays hold
	relays sync.WaitGroup

	transcript *transcript
}

// wire makes the pipes for o.Channels.
func wire(users []Party, o Options) (n *network, err error) {
	n = &network{wiring: make([]Wiring, len(users)+1), own: make([][]*os.File, len(users)+1)}
	defer func() {
		if err != nil {
			n.closeAll()
		}
	}()
	if o.Transcript != nil {
		limit := o.TranscriptLimit
		if limit <= 0 {
			limit = 1 << 20
		}
		n.transcript = &transcript{w: o.Transcript, limit: limit, start: time.Now()}
	}
	for i := range n.wiring {
		n.wiring[i].WallTime = o.WallTime
	}
	if o.Channels == Stdio {
		// solution -> interactor, and interactor -> solution.
		if n.wiring[0].Stdin, n.wiring[1].Stdout, err = n.pipe(0, 1, "solution -> interactor"); err != nil {
			return n, err
		}
		n.wiring[1].Stdin, n.wiring[0].Stdout, err = n.pipe(1, 0, "interactor -> solution")
		return n, err
	}
	for _, f := range []**os.File{&n.wiring[0].Stdin, &n.wiring[0].Stdout} {
		if *f, err = os.OpenFile(os.DevNull, os.O_RDWR, 0); err != nil {
			return n, err
		}
		n.own[0] = append(n.own[0], *f)
	}
	if o.Stdin != nil {
		n.wiring[0].Stdin = o.Stdin
	}
	if o.Stdout != nil {
		n.wiring[0].Stdout = o.Stdout
	}
	for i := range users {
		u := i + 1
		from, w, err := n.pipe(0, u, fmt.Sprintf("user %d -> manager", u))
		if err != nil {
			return n, err
		}
		r, to, err := n.pipe(u, 0, fmt.Sprintf("manager -> user %d", u))
		if err != nil {
			return n, err
		}
		n.wiring[0].Extra = append(n.wiring[0].Extra, from, to)
		n.wiring[u].Stdin, n.wiring[u].Stdout = r, w
	}
	return n, nil
}

// pipe makes a channel from party writer to party reader and returns the
// reader's end and the writer's. With a transcript, it is two pipes and a
// relay between them.
func (n *network) pipe(reader, writer int, name string) (r, w *os.File, err error) {
	r, w, err = os.Pipe()
	if err != nil {
		return nil, nil, err
	}
	if n.transcript == nil {
		n.own[reader] = append(n.own[reader], r)
		n.own[writer] = append(n.own[writer], w)
		return r, w, nil
	}
	r2, w2, err := os.Pipe()
	if err != nil {
		r.Close()
		w.Close()
		return nil, nil, err
	}
	// writer -> w ... r -> relay -> w2 ... r2 -> reader
	n.own[writer] = append(n.own[writer], w)
	n.own[reader] = append(n.own[reader], r2)
	n.relay = append(n.relay, r, w2)
	n.relays.Add(1)
	go func(dst, src *os.File) { // not r itself: the return below reassigns it
		defer n.relays.Done()
		n.copy(dst, src, name)
	}(w2, r)
	return r2, w, nil
}

// copy relays src to dst and records what passes. When the reader goes
// away, the source is closed too, so that the writer learns it (EPIPE),
// as with one pipe.
func (n *network) copy(dst, src *os.File, name string) {
	buf := make([]byte, 64<<10)
	for {
		k, err := src.Read(buf)
		if k > 0 {
			n.transcript.add(name, buf[:k])
			if _, werr := dst.Write(buf[:k]); werr != nil {
				break
			}
		}
		if err != nil {
			break
		}
	}
	dst.Close()
	src.Close()
}

// release closes the ends held for party i: its sandbox has its own.
func (n *network) release(i int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, f := range n.own[i] {
		f.Close()
	}
	n.own[i] = nil
}

// closeAll closes every end still held, the relays' included.
func (n *network) closeAll() {
	for i := range n.own {
		n.release(i)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, f := range n.relay {
		f.Close()
	}
	n.relay = nil
	if n.transcript != nil {
		n.transcript.flush()
	}
}

// transcript records both directions, in at most limit bytes of memory
// (then it stops), and writes them out at the end: it never waits on its
// writer while the exchange runs.
type transcript struct {
	mu      sync.Mutex
	w       io.Writer
	limit   int64
	written int64
	cut     bool
	start   time.Time
	buf     bytes.Buffer
	flushed bool
}

func (t *transcript) add(dir string, data []byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.written += int64(len(data))
	if t.cut {
		return
	}
	at := float64(time.Since(t.start).Microseconds()) / 1000
	for len(data) > 0 {
		line := fmt.Sprintf("[%9.3f ms] %s: %s\n", at, dir, strconv.Quote(string(data)))
		room := t.limit - int64(t.buf.Len())
		if int64(len(line)) <= room {
			t.buf.WriteString(line)
			return
		}
		// Quoting makes lines longer than their data: shrink the data
		// until its line fits.
		t.cut = true
		data = data[:int64(len(data))*max(room-64, 0)/int64(len(line))]
	}
}

func (t *transcript) flush() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.flushed {
		return
	}
	t.flushed = true
	if t.cut {
		fmt.Fprintf(&t.buf, "(transcript cut at its limit of %d bytes; the exchange was %d bytes)\n", t.limit, t.written)
	}
	_, _ = t.w.Write(t.buf.Bytes())
}
