package main_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/runtime-spec/specs-go"

	"github.com/mini-isolate/mini-isolate/internal/testutil"
)

// logHook is a host hook that appends "NAME STATUS PID" to log, with the
// status and pid taken from the state JSON on its stdin.
func logHook(log, name string, exit int) specs.Hook {
	script := fmt.Sprintf(`state=$(cat); st=$(echo "$state" | sed -n 's/.*"status":"\([a-z]*\)".*/\1/p'); `+
		`echo "%s $st" >> %s; exit %d`, name, log, exit)
	return specs.Hook{Path: "/bin/sh", Args: []string{"sh", "-c", script}}
}

func hookLog(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(data)), "\n")
}

func TestHookOrder(t *testing.T) {
	r := testutil.NewRunner(t)
	idHo := r.ID("ho")
	log := filepath.Join(t.TempDir(), "hooks.log")
	marker := "/started"
	bundle := testutil.Bundle(t, []string{"sh", "-c", "touch " + marker + "; sleep 1000"}, func(s *specs.Spec) {
		s.Root.Readonly = false
		s.Hooks = &specs.Hooks{
			//lint:ignore SA1019 prestart hooks are still part of the spec.
			Prestart:        []specs.Hook{logHook(log, "prestart", 0)},
			CreateRuntime:   []specs.Hook{logHook(log, "createRuntime", 0)},
			CreateContainer: []specs.Hook{logHook(log, "createContainer", 0)},
			Poststart:       []specs.Hook{logHook(log, "poststart-1", 0), logHook(log, "poststart-2", 0)},
			Poststop:        []specs.Hook{logHook(log, "poststop", 0)},
		}
	})
	createWithOutput(t, r, bundle, idHo)
	got := hookLog(t, log)
	want := []string{"prestart creating", "createRuntime creating", "createContainer creating"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("hooks after create: %q, want %q", got, want)
	}
	if _, err := os.Stat(filepath.Join(bundle, "rootfs", marker)); err == nil {
		t.Fatal("the process ran during create")
	}
	r.MustRun("start", idHo)
	got = hookLog(t, log)
	want = append(want, "poststart-1 running", "poststart-2 running")
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("hooks after start: %q, want %q", got, want)
	}
	r.MustRun("kill", idHo, "KILL")
	r.WaitStatus(idHo, specs.StateStopped, 30*time.Second)
	r.MustRun("delete", idHo)
	got = hookLog(t, log)
	want = append(want, "poststop stopped")
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("hooks after delete: %q, want %q", got, want)
	}
}

func TestHookFailures(t *testing.T) {
	r := testutil.NewRunner(t)
	timeout := 1
	for _, tc := range []struct {
		name        string
		hooks       func(log string) *specs.Hooks
		createFails bool
		startFails  bool
		wantLog     []string
	}{
		{
			name: "prestart fails",
			hooks: func(log string) *specs.Hooks {
				//lint:ignore SA1019 prestart hooks are still part of the spec.
				return &specs.Hooks{Prestart: []specs.Hook{logHook(log, "prestart-1", 1), logHook(log, "prestart-2", 0)}}
			},
			createFails: true,
			wantLog:     []string{"prestart-1 creating"},
		},
		{
			name: "prestart times out",
			hooks: func(log string) *specs.Hooks {
				h := specs.Hook{Path: "/bin/sh", Args: []string{"sh", "-c", "sleep 30"}, Timeout: &timeout}
				//lint:ignore SA1019 prestart hooks are still part of the spec.
				return &specs.Hooks{Prestart: []specs.Hook{h}}
			},
			createFails: true,
		},
		{
			// runtime-spec 1.3 (and runc): start fails, the container
			// stops, and the later hooks do not run.
			name: "poststart fails",
			hooks: func(log string) *specs.Hooks {
				return &specs.Hooks{
					Poststart: []specs.Hook{logHook(log, "poststart-1", 1), logHook(log, "poststart-2", 0)},
					Poststop:  []specs.Hook{logHook(log, "poststop", 0)},
				}
			},
			startFails: true,
			wantLog:    []string{"poststart-1 running", "poststop stopped"},
		},
		{
			name: "poststop fails",
			hooks: func(log string) *specs.Hooks {
				return &specs.Hooks{Poststop: []specs.Hook{logHook(log, "poststop-1", 1), logHook(log, "poststop-2", 0)}}
			},
			wantLog: []string{"poststop-1 stopped", "poststop-2 stopped"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := r.For(t)
			log := filepath.Join(t.TempDir(), "hooks.log")
			marker := "/started"
			bundle := testutil.Bundle(t, []string{"touch", marker}, func(s *specs.Spec) {
				s.Root.Readonly = false
				s.Hooks = tc.hooks(log)
			})
			id := r.ID("hf-" + strings.ReplaceAll(tc.name, " ", "-"))
			began := time.Now()
			if tc.createFails {
				res := r.Run("create", "--bundle", bundle, id)
				if res.Code == 0 {
					t.Fatal("create succeeded despite the failing prestart hook")
				}
				// The hook sleeps 30 s: anything under that honoured its
				// timeout, however slow the machine.
				if d := time.Since(began); d > 25*time.Second {
					t.Errorf("create took %v: the hook timeout was not honoured", d)
				}
				if res := r.Run("state", id); res.Code == 0 {
					t.Error("a failed create left the container behind")
				}
				if dirs := testutil.CgroupDirs(id); len(dirs) > 0 {
					t.Errorf("a failed create left cgroups: %v", dirs)
				}
			} else {
				createWithOutput(t, r, bundle, id)
				if res := r.Run("start", id); (res.Code != 0) != tc.startFails {
					t.Fatalf("start: exit %d, want failure %v: %s", res.Code, tc.startFails, res.Stderr)
				} else if tc.startFails && !strings.Contains(res.Stderr, "poststart hook #0") {
					t.Errorf("start's error does not name the hook: %q", res.Stderr)
				}
				r.WaitStatus(id, specs.StateStopped, 30*time.Second)
				r.MustRun("delete", id)
				if res := r.Run("state", id); res.Code == 0 {
					t.Error("the container survived delete")
				}
			}
			// A failed poststart hook stops the container at once, so its
			// process, though started, may be killed before it touches the
			// marker: there, the hook's "running" in the log shows the start.
			_, err := os.Stat(filepath.Join(bundle, "rootfs", marker))
			switch ran := err == nil; {
			case tc.createFails && ran:
				t.Error("the process ran though create failed")
			case !tc.createFails && !tc.startFails && !ran:
				t.Error("the process did not run")
			}
			if got := hookLog(t, log); strings.Join(got, "|") != strings.Join(tc.wantLog, "|") {
				t.Errorf("hook log %q, want %q", got, tc.wantLog)
			}
		})
	}
}

func TestHookStdinState(t *testing.T) {
	r := testutil.NewRunner(t)
	idHs := r.ID("hs")
	dir := t.TempDir()
	save := func(name string) specs.Hook {
		return specs.Hook{Path: "/bin/sh", Args: []string{"sh", "-c", "cat > " + filepath.Join(dir, name)}}
	}
	bundle := testutil.Bundle(t, []string{"true"}, func(s *specs.Spec) {
		s.Annotations = map[string]string{"org.example.a": "b"}
		//lint:ignore SA1019 prestart hooks are still part of the spec.
		s.Hooks = &specs.Hooks{Prestart: []specs.Hook{save("prestart")}, Poststop: []specs.Hook{save("poststop")}}
	})
	createWithOutput(t, r, bundle, idHs)
	pid := r.State(idHs).Pid
	r.MustRun("start", idHs)
	r.WaitStatus(idHs, specs.StateStopped, 30*time.Second)
	r.MustRun("delete", idHs)
	for _, name := range []string{"prestart", "poststop"} {
		var s specs.State
		if err := json.Unmarshal([]byte(readFile(t, filepath.Join(dir, name))), &s); err != nil {
			t.Fatalf("%s hook stdin is not state JSON: %v", name, err)
		}
		if s.ID != idHs || s.Bundle != bundle || s.Annotations["org.example.a"] != "b" || s.Version == "" {
			t.Errorf("%s hook state: %+v", name, s)
		}
		if name == "prestart" && s.Pid != pid {
			t.Errorf("prestart hook pid %d, want %d", s.Pid, pid)
		}
	}
}
