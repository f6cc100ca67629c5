package main

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mini-isolate/mini-isolate/box"
)

func TestBoxFrontEndCommand(t *testing.T) {
	mi := boxFrontEnd{label: labelMI, argv: []string{"/bin/mini-isolate", "--root", "/r", "isolate"}, box: 90, cg: true}
	iso := boxFrontEnd{label: labelIsolate, argv: []string{"/usr/bin/isolate"}, box: 3}
	tests := []struct {
		name string
		got  []string
		want []string
	}{
		{"mini-isolate init --cg", mi.command("--init"),
			[]string{"/bin/mini-isolate", "--root", "/r", "isolate", "--cg", "-b", "90", "--init"}},
		{"mini-isolate run", mi.runCommand("/bin/true"),
			[]string{"/bin/mini-isolate", "--root", "/r", "isolate", "--cg", "-b", "90", "-s", "--run", "--", "/bin/true"}},
		{"isolate without --cg", iso.runCommand("/bin/sh", "-c", "exit 7"),
			[]string{"/usr/bin/isolate", "-b", "3", "-s", "--run", "--", "/bin/sh", "-c", "exit 7"}},
		{"isolate cleanup", iso.command("--cleanup"), []string{"/usr/bin/isolate", "-b", "3", "--cleanup"}},
	}
	for _, tc := range tests {
		if !slices.Equal(tc.got, tc.want) {
			t.Errorf("%s: argv = %q, want %q", tc.name, tc.got, tc.want)
		}
	}
	// command must not grow the shared prefix.
	_ = mi.command("--init")
	if len(mi.argv) != 4 {
		t.Errorf("command changed the front end's argv to %q", mi.argv)
	}
}

func TestBoxMode(t *testing.T) {
	tests := []struct {
		flag                    string
		measured, isolateCg     bool
		wantCg, wantWithIsolate bool
		wantWhyHas              string
	}{
		{boxCgAuto, false, false, true, false, "not measured"},
		{boxCgAuto, true, true, true, true, "--cg for both"},
		{boxCgAuto, true, false, false, true, "without --cg for both"},
		{boxCgOn, false, false, true, false, "-box-cg on"},
		{boxCgOn, true, true, true, true, "-box-cg on"},
		{boxCgOn, true, false, true, false, "isolate left out"},
		{boxCgOff, true, true, false, true, "-box-cg off"},
		{boxCgOff, false, false, false, false, "-box-cg off"},
	}
	for _, tc := range tests {
		cg, with, why := boxMode(tc.flag, tc.measured, tc.isolateCg)
		if cg != tc.wantCg || with != tc.wantWithIsolate || !strings.Contains(why, tc.wantWhyHas) {
			t.Errorf("boxMode(%s, measured %v, cg %v) = %v, %v, %q; want %v, %v, containing %q",
				tc.flag, tc.measured, tc.isolateCg, cg, with, why, tc.wantCg, tc.wantWithIsolate, tc.wantWhyHas)
		}
	}
}

// TestBoxConfig parses the bench's configuration with mini-isolate's own
// parser.
func TestBoxConfig(t *testing.T) {
	tests := []struct {
		box       int
		wantBoxes int
	}{
		{0, 1},
		{90, 91},
	}
	for _, tc := range tests {
		text := boxConfig("/tmp/b", "mib1-boxes", tc.box)
		c, err := box.ParseConfig(strings.NewReader(text))
		if err != nil {
			t.Fatalf("box %d: %v\n%s", tc.box, err, text)
		}
		if c.BoxRoot != "/tmp/b/boxes" || c.LockRoot != "/tmp/b/locks" || c.CgParent != "mib1-boxes" ||
			c.FirstUID != boxFirstID || c.FirstGID != boxFirstID || c.NumBoxes != tc.wantBoxes {
			t.Errorf("box %d: parsed %+v", tc.box, c)
		}
	}
}

// TestManagerConf: -manager-conf's lines reach the manager subjects'
// configuration, and one mini-isolate refuses fails the set-up.
func TestManagerConf(t *testing.T) {
	for _, tc := range []struct {
		conf    string
		wantCPU int
		wantErr bool
	}{
		{"", box.ManagerCPUAuto, false},
		{"manager_cpu = none", box.ManagerCPUNone, false},
		{" manager_cpu = 1 ; recycle_boxes = 0 ;", 1, false},
		{"manager_cpu = sometimes", 0, true},
	} {
		cfg := &config{client: "/bin/true", spares: 2, isolateBox: 90, managerConf: tc.conf}
		dir := t.TempDir()
		f, err := managerFront(cfg, dir, "/bin/mini-isolate", "mib1", true)
		if tc.wantErr {
			if err == nil || !strings.Contains(err.Error(), "-manager-conf") {
				t.Errorf("%q: error %v, want one naming -manager-conf", tc.conf, err)
			}
			continue
		}
		if err != nil || f == nil {
			t.Fatalf("%q: %v", tc.conf, err)
		}
		data, err := os.ReadFile(filepath.Join(dir, "managed", "isolate.conf"))
		if err != nil {
			t.Fatal(err)
		}
		c, err := box.ParseConfig(strings.NewReader(string(data)))
		if err != nil || c.ManagerCPU != tc.wantCPU || c.SpareBoxes != 2 {
			t.Errorf("%q: parsed %+v, %v; want manager_cpu %d and 2 spares", tc.conf, c, err, tc.wantCPU)
		}
	}
}

func TestBoxHeadline(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name string
		b    boxMedians
		want string
	}{
		{"all", boxMedians{mi: 2, isolate: 4, bare: 1, isolateMeasured: true, bareMeasured: true},
			"bench: w: mini-isolate 2.00 ms, isolate 4.00 ms, ratio 0.50; bare fork+exec 1.00 ms, mini-isolate/bare 2.00, isolate/bare 4.00"},
		{"no isolate", boxMedians{mi: 3, isolate: nan, bare: 1.5, bareMeasured: true},
			"bench: w: mini-isolate 3.00 ms, isolate not measured; bare fork+exec 1.50 ms, mini-isolate/bare 2.00"},
		{"cold", boxMedians{mi: 80, isolate: 20, bare: nan, isolateMeasured: true},
			"bench: w: mini-isolate 80.00 ms, isolate 20.00 ms, ratio 4.00"},
		{"cold alone", boxMedians{mi: 80, isolate: nan, bare: nan},
			"bench: w: mini-isolate 80.00 ms, isolate not measured"},
		{"isolate all failed", boxMedians{mi: 2, isolate: nan, bare: nan, isolateMeasured: true, failed: 3},
			"bench: w: mini-isolate 2.00 ms, isolate n/a, ratio n/a; 3 failed runs left out"},
		{"zero baseline", boxMedians{mi: nan, isolate: 0, bare: nan, isolateMeasured: true},
			"bench: w: mini-isolate n/a, isolate 0.00 ms, ratio n/a"},
	}
	for _, tc := range tests {
		if got := tc.b.headline("w"); got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, got, tc.want)
		}
	}
}

func TestBoxResultMedians(t *testing.T) {
	bare := &subject{label: labelBare}
	mi := &subject{label: labelMI}
	res := &result{
		sc:       &scenario{subjects: []*subject{bare, mi}},
		ms:       map[string][]float64{labelBare: {1, 2, 3}, labelMI: {5, 7}},
		failures: map[string]int{labelMI: 2},
	}
	got := boxResultMedians(res, false)
	if got.bare != 2 || got.mi != 6 || !math.IsNaN(got.isolate) || !got.bareMeasured || got.isolateMeasured || got.failed != 2 {
		t.Errorf("boxResultMedians = %+v", got)
	}
	if line := warmOverhead(res, false); line != "over a bare fork+exec (median): mini-isolate +4.00 ms (x3.00)" {
		t.Errorf("warmOverhead = %q", line)
	}
}

func TestRunSequence(t *testing.T) {
	truePath, err1 := resolveExecutable("true")
	falsePath, err2 := resolveExecutable("false")
	shPath, err3 := resolveExecutable("sh")
	if err := errors.Join(err1, err2, err3); err != nil {
		t.Skip(err)
	}
	r, err := newRunner(t.TempDir(), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer r.close()
	marker := filepath.Join(t.TempDir(), "ran")
	tests := []struct {
		name     string
		steps    [][]string
		env      []string
		wantExit int
		wantErr  string // "" for success
	}{
		{"all succeed", [][]string{{truePath}, {truePath}, {truePath}}, nil, 0, ""},
		{"stops at the failure", [][]string{{truePath}, {falsePath}, {shPath, "-c", "touch " + marker}}, nil, 1, "step 2 of 3 (false)"},
		{"env reaches every step", [][]string{{shPath, "-c", `test "$BENCH_X" = y`}, {shPath, "-c", `test "$BENCH_X" = y`}},
			[]string{"BENCH_X=y"}, 0, ""},
		{"stderr of the failing step", [][]string{{shPath, "-c", "echo oops >&2; exit 3"}}, nil, 3, "step 1 of 1 (sh)"},
		{"no steps", nil, nil, -1, "no command"},
	}
	for _, tc := range tests {
		out := r.runSequence(context.Background(), tc.steps, tc.env)
		if out.exit != tc.wantExit {
			t.Errorf("%s: exit %d, want %d (%v)", tc.name, out.exit, tc.wantExit, out.err)
		}
		switch {
		case tc.wantErr == "" && out.err != nil:
			t.Errorf("%s: %v", tc.name, out.err)
		case tc.wantErr != "" && (out.err == nil || !strings.Contains(out.err.Error(), tc.wantErr)):
			t.Errorf("%s: error %v, want one containing %q", tc.name, out.err, tc.wantErr)
		}
		if len(tc.steps) > 0 && out.elapsed <= 0 {
			t.Errorf("%s: elapsed %v, want the sum of the steps", tc.name, out.elapsed)
		}
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("a step after the failing one ran")
	}
	out := r.runSequence(context.Background(), [][]string{{shPath, "-c", "echo oops >&2; exit 3"}}, nil)
	if out.stderr != "oops" {
		t.Errorf("stderr = %q, want the failing step's", out.stderr)
	}
}

// TestRunScenarioStartFinish checks that start runs before the first run,
// finish after the last, and that a failed start runs nothing but finish.
func TestRunScenarioStartFinish(t *testing.T) {
	truePath, r := trueRunner(t)
	for _, startErr := range []error{nil, errors.New("no box")} {
		var events []string
		a := &subject{label: "a", path: truePath}
		sc := &scenario{
			name:     "hooks",
			subjects: []*subject{a},
			rounds:   2,
			command: func(s *subject, _ string) []string {
				events = append(events, "run")
				return []string{s.path}
			},
			start: func(context.Context, *runner) error {
				events = append(events, "start")
				return startErr
			},
			finish: func(context.Context, *runner) { events = append(events, "finish") },
		}
		rec, err := openCSV(filepath.Join(t.TempDir(), "out.csv"))
		if err != nil {
			t.Fatal(err)
		}
		res, err := runScenario(context.Background(), r, sc, options{warmup: 1, order: orderRotate, idPrefix: "t"}, rec)
		if cerr := rec.close(); cerr != nil {
			t.Fatal(cerr)
		}
		want := []string{"start", "run", "run", "run", "finish"}
		if startErr != nil {
			want = []string{"start", "finish"}
			if err == nil || !strings.Contains(err.Error(), "no box") {
				t.Errorf("failed start: error %v, want it to say why", err)
			}
		} else if err != nil || len(res.ms["a"]) != 2 {
			t.Errorf("runScenario: %v, %d measured runs, want 2", err, len(res.ms["a"]))
		}
		if !slices.Equal(events, want) {
			t.Errorf("start error %v: events %v, want %v", startErr, events, want)
		}
	}
}

func TestParseFlagsIsolate(t *testing.T) {
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == "ISOLATE" {
				return v
			}
			return ""
		}
	}
	tests := []struct {
		name    string
		args    []string
		env     string
		want    string
		wantSet bool
		wantCg  string
		wantErr bool
	}{
		{"default", nil, "", "isolate", false, boxCgAuto, false},
		{"from the environment", nil, "/opt/isolate", "/opt/isolate", true, boxCgAuto, false},
		{"flag over the environment", []string{"-isolate", "/x/isolate"}, "/opt/isolate", "/x/isolate", true, boxCgAuto, false},
		{"isolate-bin", []string{"-isolate-bin", "/y/isolate"}, "", "/y/isolate", true, boxCgAuto, false},
		{"disabled", []string{"-isolate", ""}, "/opt/isolate", "", false, boxCgAuto, false},
		{"box-cg off", []string{"-box-cg", "off"}, "", "isolate", false, boxCgOff, false},
		{"bad box-cg", []string{"-box-cg", "maybe"}, "", "", false, "", true},
	}
	for _, tc := range tests {
		c, err := parseFlags(append([]string{"-runtime", "/bin/mini-isolate", "-csv", "/dev/null"}, tc.args...), env(tc.env))
		if tc.wantErr {
			if err == nil {
				t.Errorf("%s: want an error", tc.name)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if c.isolate != tc.want || c.isolateSet != tc.wantSet || c.boxCg != tc.wantCg {
			t.Errorf("%s: isolate %q set %v box-cg %q, want %q %v %q", tc.name, c.isolate, c.isolateSet, c.boxCg, tc.want, tc.wantSet, tc.wantCg)
		}
		if len(c.scenarios) != len(allScenarios) {
			t.Errorf("%s: default scenarios %v, want all of %v", tc.name, c.scenarios, allScenarios)
		}
	}
}
