package runtime

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// TestSetStateRootfs: only the configuration's rootfs changes; every
// other field of libcontainer's state, known to this code or not, stays.
func TestSetStateRootfs(t *testing.T) {
	for _, tc := range []struct {
		name, state string
		wantErr     bool
	}{
		{"a state", `{"id":"c","init_process_pid":7,"config":{"rootfs":"/old","hostname":"box-3","labels":["a"]},"future":{"x":1}}`, false},
		{"no configuration", `{"id":"c"}`, true},
		{"a null configuration", `{"id":"c","config":null}`, true},
		{"not JSON", `{"id":`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, stateFile)
			if err := os.WriteFile(path, []byte(tc.state), 0o600); err != nil {
				t.Fatal(err)
			}
			err := setStateRootfs(dir, "/proc/7/root")
			if (err != nil) != tc.wantErr {
				t.Fatalf("setStateRootfs: %v, want an error: %v", err, tc.wantErr)
			}
			if tc.wantErr {
				return
			}
			var got, want map[string]any
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(data, &got); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal([]byte(tc.state), &want); err != nil {
				t.Fatal(err)
			}
			want["config"].(map[string]any)["rootfs"] = "/proc/7/root"
			if !reflect.DeepEqual(got, want) {
				t.Errorf("state %s, want %v", data, want)
			}
		})
	}
}
