package meta

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestFormatIsolate(t *testing.T) {
	sig := 9
	r := &Result{
		Status: TimedOut, Message: "Time limit exceeded", Killed: true, Limit: LimitTime, ExitSig: &sig,
		Time: 1234567 * time.Microsecond, TimeWall: 2*time.Second + 999999*time.Microsecond,
		TimeUser: time.Second, TimeSystem: 234567 * time.Microsecond,
		MaxRSSKB: 1024, CgMemKB: 2048, MemPeak: 2 << 20, OOMKilled: true, PidsPeak: 3, CswVoluntary: 4, CswForced: 5,
	}
	got := string(r.FormatIsolate())
	// isolate's keys, in isolate's order, times truncated to milliseconds.
	want := "time:1.234\ntime-wall:2.999\nmax-rss:1024\ncsw-voluntary:4\ncsw-forced:5\ncg-mem:2048\ncg-oom-killed:1\n" +
		"exitsig:9\nkilled:1\nstatus:TO\nmessage:Time limit exceeded\n"
	if !strings.HasPrefix(got, want) {
		t.Errorf("isolate keys:\n%s\nwant prefix:\n%s", got, want)
	}
	for _, line := range []string{"time-user:1.000", "time-system:0.234", "time-us:1234567", "time-wall-us:2999999", "mem-peak:2097152", "pids-peak:3", "limit:time"} {
		if !strings.Contains(got, "\n"+line+"\n") {
			t.Errorf("missing %q in\n%s", line, got)
		}
	}
	ok := &Result{Status: OK}
	if s := string(ok.FormatIsolate()); strings.Contains(s, "status:") || strings.Contains(s, "killed:") {
		t.Errorf("an OK run has no status or killed line:\n%s", s)
	}
}

func TestJSONRoundTrip(t *testing.T) {
	code := 3
	r := &Result{Status: RuntimeError, Message: "Exited with error status 3", ExitCode: &code,
		Time: 1500 * time.Microsecond, TimeWall: 2 * time.Millisecond, TimeUser: time.Millisecond, TimeSystem: 500 * time.Microsecond, PidsPeak: 1}
	data, err := r.Format(FormatJSON)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	if m["time"] != 0.0015 || m["time-us"] != 1500.0 || m["status"] != "RE" || m["exitcode"] != 3.0 {
		t.Errorf("json %s", data)
	}
	var back Result
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if back.Time != r.Time || back.TimeWall != r.TimeWall || back.TimeSystem != r.TimeSystem || *back.ExitCode != 3 || back.Status != RuntimeError {
		t.Errorf("round trip: %+v", back)
	}
	if _, err := r.Format("xml"); err == nil {
		t.Error("unknown format accepted")
	}
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "meta")
	// A symlink someone other than root made at the target (a sandbox's
	// user, say) is replaced, not followed.
	victim := filepath.Join(dir, "victim")
	if err := os.WriteFile(victim, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, path); err != nil {
		t.Fatal(err)
	}
	if err := os.Lchown(path, 12345, 12345); err != nil {
		t.Skipf("needs root to give the link another owner: %v", err)
	}
	if err := Failure("boom").WriteFile(path, FormatIsolate); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(victim); string(data) != "keep" {
		t.Error("the report was written through a symlink")
	}
	data, _ := os.ReadFile(path)
	if !strings.Contains(string(data), "status:XX\nmessage:boom\n") {
		t.Errorf("report %q", data)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("temporary files left: %v", entries)
	}
}

// TestFormatsAgree: the isolate-format writer and the JSON fields are two
// lists of keys; a report with every key set has the same keys in both,
// but for the microsecond forms of user and system time, which only JSON
// has (docs/meta.md).
func TestFormatsAgree(t *testing.T) {
	code, sig := 1, 9
	r := &Result{
		Status: TimedOut, Message: "m", Killed: true, Limit: LimitTime, ExitCode: &code, ExitSig: &sig,
		Time: time.Second, TimeWall: time.Second, TimeUser: time.Second, TimeSystem: time.Second,
		MaxRSSKB: 1, CgMemKB: 1, MemPeak: 1, OOMKilled: true, PidsPeak: 1, CswVoluntary: 1, CswForced: 1, OutputBytes: 1,
	}
	iso := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(r.FormatIsolate())), "\n") {
		k, _, _ := strings.Cut(line, ":")
		iso[k] = true
	}
	data, err := r.Format(FormatJSON)
	if err != nil {
		t.Fatal(err)
	}
	var js map[string]any
	if err := json.Unmarshal(data, &js); err != nil {
		t.Fatal(err)
	}
	jsonOnly := map[string]bool{"time-user-us": true, "time-system-us": true}
	for k := range js {
		if !iso[k] && !jsonOnly[k] {
			t.Errorf("JSON key %s is not in isolate's format", k)
		}
	}
	for k := range iso {
		if _, ok := js[k]; !ok {
			t.Errorf("isolate-format key %s is not in the JSON", k)
		}
	}
}
