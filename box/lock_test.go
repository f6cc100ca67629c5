package box

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mini-isolate/mini-isolate/runtime/hostfile"
)

// TestLockRecord writes records of different lengths over each other, and
// reads files as older writers left them. A write never cuts the file,
// so it never shrinks; that no moment leaves it empty shows only when a
// process is killed inside a write: TestManagerKilledDuringInit.
func TestLockRecord(t *testing.T) {
	long := &record{Owner: 12345, Cg: true, Initialized: true, Container: "sbx-0123456789ab"}
	short := &record{Owner: 0}
	tests := []struct {
		name   string
		writes []*record
		raw    string // written by hand instead, when set
		want   *record
	}{
		{name: "long then short", writes: []*record{long, short}, want: short},
		{name: "short then long", writes: []*record{short, long}, want: long},
		{name: "record then none", writes: []*record{long, nil}, want: nil},
		{name: "none then record", writes: []*record{nil, short}, want: short},
		{name: "padded", raw: `{"owner":0,"cg":false,"initialized":false}      `, want: short},
		{name: "blank", raw: "      ", want: nil},
		{name: "blank then record", raw: "  ", writes: []*record{long}, want: long},
		{name: "empty", raw: "", want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			if err := os.WriteFile(filepath.Join(root, "0"), []byte(tt.raw), 0o644); err != nil {
				t.Fatal(err)
			}
			l, err := lockBox(root, 0, false, false)
			if err != nil {
				t.Fatal(err)
			}
			defer l.close()
			size := int64(len(tt.raw))
			for _, r := range tt.writes {
				if err := l.write(r); err != nil {
					t.Fatal(err)
				}
				st, err := l.f.Stat()
				if err != nil {
					t.Fatal(err)
				}
				if st.Size() < size {
					t.Errorf("writing %+v cut the file from %d bytes to %d", r, size, st.Size())
				}
				size = st.Size()
			}
			got, err := l.read()
			if err != nil {
				t.Fatal(err)
			}
			if (got == nil) != (tt.want == nil) || got != nil && *got != *tt.want {
				t.Errorf("read %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestLockBusy takes a box's lock without waiting while another open file
// holds it: for a moment, as a forked process's copy of a just-released
// lock does until it execs, the lock is taken once the holder lets go;
// for longer than busyGrace, the box is busy.
func TestLockBusy(t *testing.T) {
	tests := []struct {
		name string
		hold time.Duration // 0: until lockBox returns
		want error
	}{
		{"released within the grace", busyGrace / 20, nil},
		{"held past the grace", 0, ErrBusy},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			holder, err := os.Create(filepath.Join(root, "7"))
			if err != nil {
				t.Fatal(err)
			}
			if err := hostfile.Lock(holder, false); err != nil {
				t.Fatal(err)
			}
			if tt.hold > 0 {
				time.AfterFunc(tt.hold, func() { holder.Close() })
			} else {
				defer holder.Close()
			}
			l, err := lockBox(root, 7, false, false)
			if !errors.Is(err, tt.want) {
				t.Fatalf("lockBox: %v, want %v", err, tt.want)
			}
			l.close()
		})
	}
}
