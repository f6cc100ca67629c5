package box

import (
	"os"
	"path/filepath"
	"strings"
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
