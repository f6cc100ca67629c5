package box

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestCheckRootOnly(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: the directories must belong to root")
	}
	base := t.TempDir()
	for _, tc := range []struct {
		name    string
		mode    os.FileMode // of base/<name>, which holds the root checked
		chown   int         // owner of base/<name>
		wantErr string
	}{
		{"private", 0o755, 0, ""},
		{"sticky like tmp", os.ModeSticky | 0o777, 0, ""},
		{"world-writable", 0o777, 0, "writable by others"},
		{"group-writable", 0o775, 0, "writable by others"},
		{"another user's", 0o755, 12345, "belongs to uid 12345"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			parent := filepath.Join(base, strings.ReplaceAll(tc.name, " ", "-"))
			root := filepath.Join(parent, "boxes")
			if err := os.MkdirAll(root, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(parent, tc.mode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chown(parent, tc.chown, 0); err != nil {
				t.Fatal(err)
			}
			err := checkRootOnly(root)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("error %v, want one saying %q", err, tc.wantErr)
			}
		})
	}
}

// TestChownTreeHardLinks: a second name of another owner's file keeps its
// owner; the box user's own hard links change hands.
func TestChownTreeHardLinks(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: chown")
	}
	const boxUID, caller = 4444, 5555
	outside, dir := t.TempDir(), t.TempDir()
	secret := filepath.Join(outside, "secret")
	mine := filepath.Join(dir, "mine")
	for _, f := range []struct {
		path string
		uid  int
	}{{secret, 0}, {mine, boxUID}} {
		if err := os.WriteFile(f.path, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(f.path, f.uid, f.uid); err != nil {
			t.Fatal(err)
		}
	}
	for _, l := range [][2]string{{secret, "link"}, {mine, "mine2"}} {
		if err := os.Link(l[0], filepath.Join(dir, l[1])); err != nil {
			t.Fatal(err)
		}
	}
	if err := chownTree(dir, caller, caller, false, boxUID); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]int{secret: 0, mine: caller} {
		var st syscall.Stat_t
		if err := syscall.Stat(path, &st); err != nil || int(st.Uid) != want {
			t.Errorf("%s: uid %d (%v), want %d", path, st.Uid, err, want)
		}
	}
}
