package main

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

const miCPUReport = `time:0.502
time-wall:0.503
max-rss:652
exitsig:9
killed:1
status:TO
message:Time limit exceeded
time-us:502139
time-wall-us:502422
limit:time
`

func TestParseMeta(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    map[string]string
		wantErr bool
	}{
		{"mini-isolate", miCPUReport, map[string]string{
			"time": "0.502", "time-wall": "0.503", "max-rss": "652", "exitsig": "9", "killed": "1",
			"status": "TO", "message": "Time limit exceeded", "time-us": "502139", "time-wall-us": "502422", "limit": "time",
		}, false},
		{"no trailing newline, blank lines", "a:1\n\nb:2", map[string]string{"a": "1", "b": "2"}, false},
		{"value with colon", "message:execve(\"/x\"): no such file", map[string]string{"message": "execve(\"/x\"): no such file"}, false},
		{"empty value", "status:", map[string]string{"status": ""}, false},
		{"empty", "", nil, true},
		{"not key:value", "time 0.5\n", nil, true},
		{"empty key", ":1\n", nil, true},
		{"duplicate", "time:1\ntime:2\n", nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseMeta([]byte(tc.in))
			if tc.wantErr {
				if err == nil {
					t.Errorf("parseMeta = %v, want an error", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("parseMeta = %v, want %v", got, tc.want)
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("key %s = %q, want %q", k, got[k], v)
				}
			}
		})
	}
}

func TestCheckVerdict(t *testing.T) {
	cpu := &task{kind: limitCPU, limit: precisionLimit, killed: true}
	wall := &task{kind: limitWall, limit: precisionLimit, killed: true}
	clean := &task{kind: limitCPU, limit: accuracyLimit}
	tests := []struct {
		name    string
		m       map[string]string
		t       *task
		wantErr string // substring; "" for no error
	}{
		{"cpu kill", map[string]string{"status": "TO", "killed": "1", "limit": "time", "message": "Time limit exceeded"}, cpu, ""},
		{"wall kill", map[string]string{"status": "TO", "killed": "1", "limit": "wall-time", "message": "Time limit exceeded (wall clock)"}, wall, ""},
		{"isolate cpu kill, no limit key", map[string]string{"status": "TO", "killed": "1", "message": "Time limit exceeded"}, cpu, ""},
		{"isolate wall kill, no limit key", map[string]string{"status": "TO", "killed": "1", "message": "Time limit exceeded (wall clock)"}, wall, ""},
		{"isolate wall kill for cpu task", map[string]string{"status": "TO", "killed": "1", "message": "Time limit exceeded (wall clock)"}, cpu, "message"},
		{"wrong limit", map[string]string{"status": "TO", "killed": "1", "limit": "wall-time"}, cpu, `limit "wall-time"`},
		{"not killed", map[string]string{"status": "TO", "limit": "time"}, cpu, "killed"},
		{"runtime error", map[string]string{"status": "RE", "message": "Exited with error status 1", "exitcode": "1"}, cpu, `status "RE"`},
		{"sandbox error", map[string]string{"status": "XX", "message": "boom"}, wall, `status "XX"`},
		{"clean exit", map[string]string{"exitcode": "0"}, clean, ""},
		{"clean exit, json-style OK", map[string]string{"status": "OK", "exitcode": "0"}, clean, ""},
		{"clean task timed out", map[string]string{"status": "TO", "killed": "1", "limit": "time"}, clean, `status "TO"`},
		{"clean task exit 3", map[string]string{"status": "RE", "exitcode": "3"}, clean, `status "RE"`},
		{"cpu task ran clean", map[string]string{"exitcode": "0"}, cpu, "status none (OK), want TO"},
		{"clean task no exitcode", map[string]string{"exitsig": "9"}, clean, "exitcode"},
		{"clean task killed", map[string]string{"exitcode": "0", "killed": "1"}, clean, "killed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := checkVerdict(tc.m, tc.t)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("checkVerdict: %v, want nil", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("checkVerdict: %v, want an error containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestReportedTimes(t *testing.T) {
	tests := []struct {
		name      string
		m         map[string]string
		cpu, wall time.Duration
		wantErr   bool
	}{
		{"microseconds win", map[string]string{"time": "0.502", "time-us": "502139", "time-wall": "0.503", "time-wall-us": "502422"},
			502139 * time.Microsecond, 502422 * time.Microsecond, false},
		{"isolate seconds", map[string]string{"time": "0.590", "time-wall": "0.600"}, 590 * time.Millisecond, 600 * time.Millisecond, false},
		{"seconds rounding", map[string]string{"time": "0.1", "time-wall": "1.000001"}, 100 * time.Millisecond, 1000001 * time.Microsecond, false},
		{"no cpu", map[string]string{"time-wall": "0.6"}, 0, 0, true},
		{"no wall", map[string]string{"time": "0.6"}, 0, 0, true},
		{"bad us", map[string]string{"time-us": "5.5", "time-wall": "0.6"}, 0, 0, true},
		{"negative us", map[string]string{"time-us": "-1", "time-wall": "0.6"}, 0, 0, true},
		{"bad seconds", map[string]string{"time": "fast", "time-wall": "0.6"}, 0, 0, true},
		{"NaN seconds", map[string]string{"time": "NaN", "time-wall": "0.6"}, 0, 0, true},
		{"negative seconds", map[string]string{"time": "0.5", "time-wall": "-0.6"}, 0, 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cpu, wall, err := reportedTimes(tc.m)
			if tc.wantErr {
				if err == nil {
					t.Errorf("reportedTimes = %v, %v, want an error", cpu, wall)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cpu != tc.cpu || wall != tc.wall {
				t.Errorf("reportedTimes = %v, %v, want %v, %v", cpu, wall, tc.cpu, tc.wall)
			}
		})
	}
}

func TestMeasurement(t *testing.T) {
	cpu := &task{kind: limitCPU, limit: 500 * time.Millisecond, killed: true}
	wall := &task{kind: limitWall, limit: 500 * time.Millisecond, killed: true}
	clean := &task{kind: limitCPU, limit: 2 * time.Second}
	tests := []struct {
		name      string
		t         *task
		cpu, wall time.Duration
		want      float64
		wantErr   bool
	}{
		{"cpu overshoot", cpu, 502139 * time.Microsecond, 600 * time.Millisecond, 2.139, false},
		{"cpu exactly at limit", cpu, 500 * time.Millisecond, 0, 0, false},
		{"wall overshoot ignores cpu", wall, 0, 500250 * time.Microsecond, 0.25, false},
		{"killed before the cpu limit", cpu, 499 * time.Millisecond, time.Second, 0, true},
		{"killed before the wall limit", wall, time.Second, 400 * time.Millisecond, 0, true},
		{"clean run is its cpu time", clean, 200500 * time.Microsecond, 300 * time.Millisecond, 200.5, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := measurement(tc.t, tc.cpu, tc.wall)
			if tc.wantErr {
				if err == nil || !math.IsNaN(got) {
					t.Errorf("measurement = %v, %v; want NaN and an error", got, err)
				}
				return
			}
			if err != nil || math.Abs(got-tc.want) > 1e-9 {
				t.Errorf("measurement = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

func TestMetaTimes(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cpu := &task{kind: limitCPU, limit: precisionLimit, killed: true}
	killed := runResult{exit: 137, err: errors.New("exit status 137")}
	tests := []struct {
		name    string
		meta    string
		out     runResult
		want    time.Duration
		wantErr string
	}{
		{"good", write("good", miCPUReport), killed, 502139 * time.Microsecond, ""},
		{"missing report", filepath.Join(dir, "none"), killed, 0, "reading the report"},
		{"timed out", write("late", miCPUReport), runResult{exit: -1, err: errors.New("timed out after 30s")}, 0, "no verdict: timed out"},
		{"wrong verdict", write("re", "status:RE\nexitcode:1\ntime-us:1\ntime-wall-us:1\n"), runResult{exit: 1, err: errors.New("exit status 1")}, 0, "wrong verdict"},
		{"garbage", write("garbage", "hello\n"), killed, 0, "not key:value"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, _, err := metaTimes(cpu, tc.meta, tc.out)
			switch {
			case tc.wantErr == "" && (err != nil || got != tc.want):
				t.Errorf("metaTimes = %v, %v; want %v", got, err, tc.want)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("metaTimes error = %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestHostSandboxTimes(t *testing.T) {
	clean := &task{prog: "burn", args: []string{"200"}}
	h := hostSandbox{dir: "/x"}
	if got := h.argv(clean, "id", "meta"); !slices.Equal(got, []string{"/x/burn", "200"}) {
		t.Errorf("argv = %v", got)
	}
	cpu, wall, err := h.times(clean, "", runResult{cpu: 201 * time.Millisecond, elapsed: 203 * time.Millisecond})
	if err != nil || cpu != 201*time.Millisecond || wall != 203*time.Millisecond {
		t.Errorf("times = %v, %v, %v", cpu, wall, err)
	}
	if _, _, err := h.times(clean, "", runResult{exit: 1, err: errors.New("exit status 1")}); err == nil {
		t.Error("failed host run: want an error")
	}
	if _, _, err := h.times(&task{killed: true}, "", runResult{}); err == nil {
		t.Error("host run of a task that must be killed: want an error")
	}
}

func TestIsolateArgv(t *testing.T) {
	tests := []struct {
		name string
		b    isolateSandbox
		t    task
		want []string
	}{
		{"cg cpu", isolateSandbox{path: "/usr/bin/isolate", box: 90, cg: true}, task{prog: "spin", kind: limitCPU, limit: 500 * time.Millisecond},
			[]string{"/usr/bin/isolate", "--cg", "-b", "90", "-M", "/m", "-t", "0.5", "--run", "--", "./spin"}},
		{"no cg wall", isolateSandbox{path: "isolate", box: 3}, task{prog: "sleeper", kind: limitWall, limit: 1500 * time.Millisecond},
			[]string{"isolate", "-b", "3", "-M", "/m", "-w", "1.5", "--run", "--", "./sleeper"}},
		{"args", isolateSandbox{path: "isolate"}, task{prog: "burn", args: []string{"200"}, kind: limitCPU, limit: 2 * time.Second},
			[]string{"isolate", "-b", "0", "-M", "/m", "-t", "2", "--run", "--", "./burn", "200"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.b.argv(&tc.t, "id", "/m"); !slices.Equal(got, tc.want) {
				t.Errorf("argv = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestCompareCPU(t *testing.T) {
	tests := []struct {
		name                 string
		host                 []float64
		hostRounds           []int
		judged               []float64
		judgedRounds         []int
		want                 cpuComparison
		wantPct, wantMADPct  float64
		wantErr, wantNaNDiff bool
	}{
		{
			name: "paired", host: []float64{200, 201, 202}, hostRounds: []int{1, 2, 3},
			judged: []float64{200.5, 201, 203}, judgedRounds: []int{1, 2, 3},
			want:    cpuComparison{Host: 201, Judged: 201, Pairs: 3, MedianAbsDiff: 0.5, DiffOfMedians: 0},
			wantPct: 0, wantMADPct: 100 * 0.5 / 201,
		},
		{
			name: "a failed round is unpaired", host: []float64{100, 110}, hostRounds: []int{1, 3},
			judged: []float64{101, 105, 112}, judgedRounds: []int{1, 2, 3},
			want:    cpuComparison{Host: 105, Judged: 105, Pairs: 2, MedianAbsDiff: 1.5, DiffOfMedians: 0},
			wantPct: 0, wantMADPct: 100 * 1.5 / 105,
		},
		{
			name: "judged lower", host: []float64{200, 200}, hostRounds: []int{1, 2},
			judged: []float64{198, 198}, judgedRounds: []int{1, 2},
			want:    cpuComparison{Host: 200, Judged: 198, Pairs: 2, MedianAbsDiff: 2, DiffOfMedians: -2},
			wantPct: -1, wantMADPct: 1,
		},
		{
			name: "no common round", host: []float64{200}, hostRounds: []int{1},
			judged: []float64{201}, judgedRounds: []int{2},
			want:    cpuComparison{Host: 200, Judged: 201, DiffOfMedians: 1},
			wantPct: 0.5, wantNaNDiff: true,
		},
		{name: "no host runs", judged: []float64{1}, judgedRounds: []int{1}, wantErr: true},
		{name: "no judged runs", host: []float64{1}, hostRounds: []int{1}, wantErr: true},
		{name: "rounds missing", host: []float64{1}, judged: []float64{1}, judgedRounds: []int{1}, wantErr: true},
	}
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-9 }
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := compareCPU(tc.host, tc.hostRounds, tc.judged, tc.judgedRounds)
			if tc.wantErr {
				if err == nil {
					t.Errorf("compareCPU = %+v, want an error", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !near(got.Host, tc.want.Host) || !near(got.Judged, tc.want.Judged) || got.Pairs != tc.want.Pairs ||
				!near(got.DiffOfMedians, tc.want.DiffOfMedians) || !near(got.percent(got.DiffOfMedians), tc.wantPct) {
				t.Errorf("compareCPU = %+v, want %+v (diff %v%%)", got, tc.want, tc.wantPct)
			}
			if tc.wantNaNDiff {
				if !math.IsNaN(got.MedianAbsDiff) {
					t.Errorf("MedianAbsDiff = %v, want NaN", got.MedianAbsDiff)
				}
			} else if !near(got.MedianAbsDiff, tc.want.MedianAbsDiff) || !near(got.percent(got.MedianAbsDiff), tc.wantMADPct) {
				t.Errorf("MedianAbsDiff = %v (%v%%), want %v (%v%%)", got.MedianAbsDiff, got.percent(got.MedianAbsDiff), tc.want.MedianAbsDiff, tc.wantMADPct)
			}
		})
	}
}

func TestFormatAccuracyHeadline(t *testing.T) {
	tests := []struct {
		name   string
		c      cpuComparison
		err    error
		failed int
		want   string
	}{
		{"met", cpuComparison{Host: 200, Judged: 200.4, DiffOfMedians: 0.4}, nil, 0,
			"bench: reported CPU time vs host rusage: median diff +0.40 ms (+0.20%) (target: within 1 ms + 1%): met"},
		{"at the edge", cpuComparison{Host: 200, Judged: 197, DiffOfMedians: -3}, nil, 0,
			"bench: reported CPU time vs host rusage: median diff -3.00 ms (-1.50%) (target: within 1 ms + 1%): met"},
		{"missed", cpuComparison{Host: 200, Judged: 203.5, DiffOfMedians: 3.5}, nil, 2,
			"bench: reported CPU time vs host rusage: median diff +3.50 ms (+1.75%) (target: within 1 ms + 1%): missed; 2 failed runs left out"},
		{"no data", cpuComparison{}, errNoSamples, 3,
			"bench: reported CPU time vs host rusage: median diff n/a (target: within 1 ms + 1%): n/a (no samples); 3 failed runs left out"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := formatAccuracyHeadline(tc.c, tc.err, tc.failed); got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestOvershootHeadline(t *testing.T) {
	small := &summary{Median: 1.5, Max: 4}
	wall := &summary{Median: 0.25, Max: 0.5}
	big := &summary{Median: 90, Max: 99}
	tests := []struct {
		name      string
		cpu, wall *summary
		failed    int
		want      string
	}{
		{"met", small, wall, 0, "bench: kill overshoot cpu median 1.50 ms max 4.00 ms; wall median 0.25 ms max 0.50 ms (target: median <= 5 ms): met"},
		{"missed", big, wall, 0, "bench: kill overshoot cpu median 90.00 ms max 99.00 ms; wall median 0.25 ms max 0.50 ms (target: median <= 5 ms): missed"},
		{"no wall", small, nil, 3, "bench: kill overshoot cpu median 1.50 ms max 4.00 ms; wall n/a (target: median <= 5 ms): n/a; 3 failed runs (wrong verdict or no report) left out"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := overshootHeadline(tc.cpu, tc.wall, tc.failed); got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestParseScenarios(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr bool
	}{
		{"startup,precision,accuracy", []string{"accuracy", "precision", "startup"}, false},
		{"precision", []string{"precision"}, false},
		{" accuracy , precision,", []string{"accuracy", "precision"}, false},
		{"precision,precision", []string{"precision"}, false},
		{"", nil, true},
		{",", nil, true},
		{"startup,warm", nil, true},
	}
	for _, tc := range tests {
		got, err := parseScenarios(tc.in)
		if tc.wantErr {
			if err == nil {
				t.Errorf("parseScenarios(%q) = %v, want an error", tc.in, got)
			}
			continue
		}
		if err != nil {
			t.Errorf("parseScenarios(%q): %v", tc.in, err)
			continue
		}
		var names []string
		for n := range got {
			names = append(names, n)
		}
		slices.Sort(names)
		if !slices.Equal(names, tc.want) {
			t.Errorf("parseScenarios(%q) = %v, want %v", tc.in, names, tc.want)
		}
	}
}

func TestFindProgs(t *testing.T) {
	repo := t.TempDir()
	progs := filepath.Join(repo, "internal", "testutil", "progs")
	if err := os.MkdirAll(progs, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(progs, "spin.c"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	runtimePath := filepath.Join(repo, "bin", "mini-isolate")
	if got, err := findProgs("", runtimePath); err != nil || got != progs {
		t.Errorf("findProgs next to the runtime = %q, %v; want %q", got, err, progs)
	}
	if got, err := findProgs(progs, "/nowhere/bin/mini-isolate"); err != nil || got != progs {
		t.Errorf("findProgs(-progs) = %q, %v; want %q", got, err, progs)
	}
	if _, err := findProgs(filepath.Join(repo, "bin"), runtimePath); err == nil {
		t.Error("findProgs of a directory without the sources: want an error")
	}
}
