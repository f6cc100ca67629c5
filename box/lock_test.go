package box

import (
	"os"
	"path/filepath"
	"testing"
)

// TestLockRecord writes records of different lengths over each other, and
// reads a file as a writer killed before its final cut leaves it. (The
// write's point, that no moment leaves the file empty, shows only when a
// process is killed inside it: TestManagerKilledDuringInit.)
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
		{name: "killed before the cut", raw: `{"owner":0,"cg":false,"initialized":false}      `, want: short},
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
			for _, r := range tt.writes {
				if err := l.write(r); err != nil {
					t.Fatal(err)
				}
			}
			got, err := l.read()
			if err != nil {
				t.Fatal(err)
			}
			if (got == nil) != (tt.want == nil) || got != nil && *got != *tt.want {
				t.Errorf("read %+v, want %+v", got, tt.want)
			}
			if tt.writes != nil {
				data, _ := os.ReadFile(filepath.Join(root, "0"))
				if len(data) > 0 && data[len(data)-1] == ' ' {
					t.Errorf("a completed write left padding: %q", data)
				}
			}
		})
	}
}
