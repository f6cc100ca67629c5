package main_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/runtime-spec/specs-go"

	"github.com/mini-isolate/mini-isolate/internal/testutil"
)

// The guessing game: the interactor knows a number from 1 to 100, which
// only its box holds, and answers each guess with higher, lower or
// correct; eight wrong guesses are a wrong answer, and a solution that
// stops talking is a presentation error.
const guessInteractor = `read secret < secret.txt; echo start; n=0
while read g; do
	n=$((n+1))
	if [ "$g" = "$secret" ]; then echo correct; exit 0; fi
	if [ $n -ge 8 ]; then exit 1; fi
	if [ "$g" -lt "$secret" ] 2>/dev/null; then echo higher; else echo lower; fi
done
exit 2`

// guessSolution searches; before it, a solution may run a prologue.
const guessSolution = `read s; lo=1; hi=100
while :; do
	m=$(((lo+hi)/2)); echo $m; read r || exit 4
	case $r in correct) exit 0;; higher) lo=$((m+1));; lower) hi=$((m-1));; esac
done`

// interactEnv is an isolate environment with an interactor box and a
// solution box.
type interactEnv struct {
	*isoEnv
	ibox, sbox int
	idir, sdir string
}

func newInteractEnv(t *testing.T) *interactEnv {
	e := &interactEnv{isoEnv: newIsoEnv(t), ibox: 30, sbox: 31}
	e.idir = e.init(t, e.ibox)
	e.sdir = e.init(t, e.sbox)
	writeFile(t, filepath.Join(e.idir, "secret.txt"), "42\n", 0o644)
	return e
}

func writeFile(t *testing.T, path, data string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), mode); err != nil {
		t.Fatal(err)
	}
}

// interact runs an interaction of two sh scripts with flags before --
// and returns the result and the report.
func (e *interactEnv) interact(t *testing.T, flags []string, interactor, solution string, iopts, sopts []string) (testutil.Result, map[string]string) {
	t.Helper()
	writeFile(t, filepath.Join(e.idir, "i.sh"), interactor, 0o755)
	writeFile(t, filepath.Join(e.sdir, "s.sh"), solution, 0o755)
	metaPath := filepath.Join(t.TempDir(), "meta")
	if !slices.Contains(flags, "--wall-time") {
		flags = append(flags, "--wall-time", "20")
	}
	args := append([]string{"interact", "--meta", metaPath}, flags...)
	args = append(args, "--", "-b", strconv.Itoa(e.ibox), "--processes=8")
	args = append(append(args, iopts...), "--", "/bin/sh", "i.sh", ":::", "-b", strconv.Itoa(e.sbox), "--processes=8")
	args = append(append(args, sopts...), "--", "/bin/sh", "s.sh")
	res := e.r.Run(args...)
	var m map[string]string
	if _, err := os.Stat(metaPath); err == nil {
		m = testutil.ParseMeta(t, metaPath)
	}
	return res, m
}

func TestInteractVerdicts(t *testing.T) {
	e := newInteractEnv(t)
	for _, tc := range []struct {
		name, interactor, solution string
		flags, sopts               []string
		verdict                    string
		code                       int
		meta                       map[string]string // keys the report must have
		// oneOf: the report has all the keys of one of these (what a
		// race between the parties' own timers leaves open).
		oneOf []map[string]string
	}{
		{name: "accepted", interactor: guessInteractor, solution: guessSolution,
			verdict: "OK", code: 0, meta: map[string]string{"exitcode": "0", "interactor.exitcode": "0"}},
		{name: "the solution cannot reach the interactor's files",
			interactor: guessInteractor, solution: "cat /box/secret.txt " + e.idir + "/secret.txt && exit 9\n" + guessSolution,
			verdict: "OK", code: 0},
		{name: "wrong answer", interactor: guessInteractor, solution: "read s; while :; do echo 1; read r || exit 0; done",
			verdict: "WA", code: 1, meta: map[string]string{"interactor.exitcode": "1"}},
		{name: "presentation error: the solution stops talking", interactor: guessInteractor, solution: "read s; exit 0",
			verdict: "PE", code: 1, meta: map[string]string{"interactor.exitcode": "2"}},
		{name: "SIGPIPE after the interactor said WA is WA", interactor: guessInteractor,
			solution: "read s; while :; do echo 1; done",
			verdict:  "WA", code: 1, meta: map[string]string{"status": "SG", "exitsig": "13", "interactor.exitcode": "1"}},
		{name: "a solution that fails first gets RE, the interactor's SIGPIPE after it is no judge error",
			interactor: guessInteractor, solution: "read s; echo 50; exit 7",
			verdict: "RE", code: 1, meta: map[string]string{"exitcode": "7"}},
		{name: "the interactor fails: exit 3", interactor: "echo start; exit 3", solution: guessSolution,
			verdict: "XX", code: 2, meta: map[string]string{"interactor.exitcode": "3"}},
		{name: "the interactor crashes", interactor: "echo start; kill -SEGV $$", solution: guessSolution,
			verdict: "XX", code: 2, meta: map[string]string{"interactor.status": "SG"}},
		{name: "the interactor's exit status 5 is no verdict", interactor: "exit 5", solution: guessSolution,
			verdict: "XX", code: 2},
		{name: "a deadlock ends at the wall limit, TO for the solution", flags: []string{"--wall-time", "1"},
			interactor: "read g; exit 0", solution: "read s; exit 0",
			// Each party's clock starts when it does: the solution's limit
			// may end the deadlock, or the interactor's, and then the
			// solution reads EOF and exits 0 (verdict rule 3).
			verdict: "TO", code: 1, oneOf: []map[string]string{
				{"status": "TO", "limit": "wall-time"},
				{"interactor.status": "TO", "interactor.limit": "wall-time", "exitcode": "0"},
			}},
		{name: "CPU time is the solution's own", interactor: guessInteractor, sopts: []string{"-t", "0.3"},
			solution: "read s; while :; do :; done",
			verdict:  "TO", code: 1, meta: map[string]string{"status": "TO", "limit": "time"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			res, m := e.interact(t, tc.flags, tc.interactor, tc.solution, nil, tc.sopts)
			if res.Code != tc.code || m["verdict"] != tc.verdict {
				t.Fatalf("exit %d verdict %q, want %d %s\nstderr: %s\nmeta: %v", res.Code, m["verdict"], tc.code, tc.verdict, res.Stderr, m)
			}
			for k, v := range tc.meta {
				if m[k] != v {
					t.Errorf("meta %s = %q, want %q (%v)", k, m[k], v, m)
				}
			}
			if len(tc.oneOf) > 0 && !slices.ContainsFunc(tc.oneOf, func(want map[string]string) bool { return hasAll(m, want) }) {
				t.Errorf("meta %v has all the keys of none of %v", m, tc.oneOf)
			}
			if tc.verdict == "TO" {
				if took := time.Since(start); took > testutil.Slack(5*time.Second) {
					t.Errorf("a timed-out interaction took %v", took)
				}
			}
			for _, p := range []string{"i.sh", "s.sh"} {
				if out, err := exec.Command("pgrep", "-f", "/bin/sh "+p).Output(); err == nil {
					t.Errorf("%s left running: %s", p, out)
				}
			}
		})
	}
}

// TestInteractWallTime: the interaction's wall limit covers both sides
// and ends a deadlock within the usual precision.
func TestInteractWallTime(t *testing.T) {
	e := newInteractEnv(t)
	res, m := e.interact(t, []string{"--wall-time", "0.5"}, "read g; exit 0", "read s; exit 0", nil, nil)
	if m["verdict"] != "TO" {
		t.Fatalf("verdict %q: %s", m["verdict"], res.Stderr)
	}
	// The first to reach the limit is killed at it; the other ends with
	// it, or at its own limit.
	longest := 0.0
	for _, k := range []string{"time-wall", "interactor.time-wall"} {
		w, err := strconv.ParseFloat(m[k], 64)
		if err != nil || w > 0.5+testutil.Slack(100*time.Millisecond).Seconds() {
			t.Errorf("%s = %q, want at most 0.5 s and a little", k, m[k])
		}
		longest = max(longest, w)
	}
	if longest < 0.5 {
		t.Errorf("neither side reached the wall limit of 0.5 s: %v", m)
	}
}

// TestInteractTranscript records both directions, and a limit cuts the
// record, not the exchange.
func TestInteractTranscript(t *testing.T) {
	e := newInteractEnv(t)
	path := filepath.Join(t.TempDir(), "transcript")
	res, m := e.interact(t, []string{"--transcript", path}, guessInteractor, guessSolution, nil, nil)
	if m["verdict"] != "OK" {
		t.Fatalf("verdict %q: %s", m["verdict"], res.Stderr)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`interactor -> solution: "start\n"`, `solution -> interactor: "50\n"`, `interactor -> solution: "correct\n"`} {
		if !strings.Contains(string(data), want) {
			t.Errorf("the transcript has no %s:\n%s", want, data)
		}
	}

	// 64 MiB through a 4 KiB record: the exchange is whole, the record cut.
	flood := "head -c 67108864 /dev/zero; exit 0"
	count := "n=$(wc -c); [ $n = 67108864 ] && exit 0; echo got $n >&2; exit 1"
	res, m = e.interact(t, []string{"--transcript", path, "--transcript-limit", "4096"}, count, flood, nil, nil)
	if m["verdict"] != "OK" {
		t.Fatalf("flood: verdict %q: %s %v", m["verdict"], res.Stderr, m)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	data, _ = os.ReadFile(path)
	if fi.Size() > 4096+100 || !strings.Contains(string(data), "(transcript cut at its limit of 4096 bytes; the exchange was 67108864 bytes)") {
		t.Errorf("transcript of %d bytes, ending %q", fi.Size(), data[max(0, len(data)-100):])
	}
}

// TestInteractRoundTrips exchanges 10,000 lines each way.
func TestInteractRoundTrips(t *testing.T) {
	e := newInteractEnv(t)
	interactor := `i=0; while [ $i -lt 10000 ]; do echo $i; read r; [ "$r" = "$i" ] || exit 1; i=$((i+1)); done; echo end; exit 0`
	solution := `while read x; do [ "$x" = end ] && exit 0; echo $x; done; exit 1`
	res, m := e.interact(t, nil, interactor, solution, []string{"-w", "60"}, []string{"-w", "60"})
	if res.Code != 0 || m["verdict"] != "OK" {
		t.Fatalf("exit %d verdict %q: %s", res.Code, m["verdict"], res.Stderr)
	}
}

// TestInteractManagerAndUsers is CMS's Communication: a manager and two
// users, each user on its own pair of pipes (fds 3+2i and 4+2i of the
// manager).
func TestInteractManagerAndUsers(t *testing.T) {
	e := newInteractEnv(t)
	u2 := e.init(t, 32)
	manager := `echo 20 >&4; read a <&3; echo 30 >&6; read b <&5; echo "$a $b"; [ "$a $b" = "40 60" ] && exit 0; exit 1`
	user := `read x; echo $((x*2))`
	writeFile(t, filepath.Join(e.idir, "m.sh"), manager, 0o755)
	writeFile(t, filepath.Join(e.sdir, "u.sh"), user, 0o755)
	writeFile(t, filepath.Join(u2, "u.sh"), user, 0o755)
	metaPath := filepath.Join(t.TempDir(), "meta")
	res := e.r.Run("interact", "--wall-time", "20", "--meta", metaPath, "--",
		"-b", "30", "--", "/bin/sh", "m.sh", ":::", "-b", "31", "--", "/bin/sh", "u.sh", ":::", "-b", "32", "--", "/bin/sh", "u.sh")
	m := testutil.ParseMeta(t, metaPath)
	if res.Code != 0 || m["verdict"] != "OK" || res.Stdout != "40 60\n" {
		t.Fatalf("exit %d verdict %q stdout %q: %s", res.Code, m["verdict"], res.Stdout, res.Stderr)
	}
	for _, k := range []string{"user1.exitcode", "user2.exitcode", "interactor.exitcode"} {
		if m[k] != "0" {
			t.Errorf("%s = %q: %v", k, m[k], m)
		}
	}
}

// TestInteractJSON writes the report as JSON: the verdict and both runs.
func TestInteractJSON(t *testing.T) {
	e := newInteractEnv(t)
	writeFile(t, filepath.Join(e.idir, "i.sh"), guessInteractor, 0o755)
	writeFile(t, filepath.Join(e.sdir, "s.sh"), guessSolution, 0o755)
	res := e.r.Run("interact", "--wall-time", "20", "--meta", "-", "--meta-format", "json", "--",
		"-b", "30", "--", "/bin/sh", "i.sh", ":::", "-b", "31", "--", "/bin/sh", "s.sh")
	for _, want := range []string{`"verdict": "OK"`, `"interactor": {`, `"users": [`, `"exitcode": 0`} {
		if !strings.Contains(res.Stdout, want) {
			t.Errorf("no %s in\n%s", want, res.Stdout)
		}
	}
}

func TestInteractBadInput(t *testing.T) {
	e := newInteractEnv(t)
	run := []string{"--", "/bin/true"}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no solution", append([]string{"-b", "30"}, run...), "want an interactor and at least one solution"},
		{"one box twice", append(append([]string{"-b", "30"}, run...), append([]string{":::", "-b", "30"}, run...)...), "box 30 is given twice"},
		{"a box not initialised", append(append([]string{"-b", "30"}, run...), append([]string{":::", "-b", "33"}, run...)...), "not found, did you run `isolate --init'?"},
		{"a redirected wired stdin", append(append([]string{"-b", "30"}, run...), append([]string{":::", "-b", "31", "-i", "in"}, run...)...), "stdin and stdout are the pipes"},
		{"an unknown isolate option", append(append([]string{"-b", "30", "--bogus"}, run...), append([]string{":::", "-b", "31"}, run...)...), "bogus"},
		{"two solutions on stdio", append(append(append([]string{"-b", "30"}, run...), append([]string{":::", "-b", "31"}, run...)...), append([]string{":::", "-b", "32"}, run...)...), "fd channels"},
		{"no wall limit", append(append([]string{"-b", "30"}, run...), append([]string{":::", "-b", "31"}, run...)...), "needs a wall-time limit"},
		{"a wall limit of 0", append(append([]string{"-b", "30"}, run...), append([]string{":::", "-b", "31"}, run...)...), "want a positive number"},
		{"an absurd transcript limit", append(append([]string{"-b", "30"}, run...), append([]string{":::", "-b", "31"}, run...)...), "want 1 byte to 256 MiB"},
		{"a bundle manager on fd channels", append(append([]string{"--bundle", "/nonexistent"}, ":::", "-b", "31"), run...), "no fd channels"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"interact"}
			switch tc.name {
			case "two solutions on stdio":
				args = append(args, "--channels", "stdio")
			case "a wall limit of 0":
				args = append(args, "--wall-time", "0")
			case "an absurd transcript limit":
				args = append(args, "--transcript-limit", "1099511627776")
			case "a bundle manager on fd channels":
				args = append(args, "--channels", "fds")
			}
			if tc.name != "no wall limit" && tc.name != "a wall limit of 0" {
				args = append(args, "--wall-time", "5")
			}
			res := e.r.Run(append(append(args, "--"), tc.args...)...)
			lines := strings.Split(strings.TrimSpace(res.Stderr), "\n")
			if res.Code != 2 || len(lines) != 1 || !strings.Contains(res.Stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want exit 2 and one line with %q", res.Code, res.Stderr, tc.want)
			}
		})
	}
}

// TestInteractBundles runs parties from judged OCI bundles, alone and
// with a box, and caps their wall limits by the interaction's.
func TestInteractBundles(t *testing.T) {
	e := newInteractEnv(t)
	judge := map[string]string{"judge": "true", "time": "2", "wall-time": "10"}
	square := func(answer string) string {
		b, _ := testutil.JudgeBundle(t, []string{"sh", "-c", "read a; echo " + answer}, judge, nil)
		return b
	}
	asker, _ := testutil.JudgeBundle(t, []string{"sh", "-c", `echo 6; read x; [ "$x" = 36 ] && exit 0; exit 1`}, judge, nil)
	reader, _ := testutil.JudgeBundle(t, []string{"sh", "-c", "read a; read b"}, judge, nil)
	counted, _ := testutil.JudgeBundle(t, []string{"sh", "-c", "read a; echo $((a*a))"},
		map[string]string{"judge": "true", "time": "2", "wall-time": "10", "output-limit": "1000"}, nil)
	writeFile(t, filepath.Join(e.idir, "i.sh"), `echo 6; read x; [ "$x" = 36 ] && exit 0; exit 1`, 0o755)
	for _, tc := range []struct {
		name    string
		args    []string
		verdict string
		took    time.Duration // at most, when set
	}{
		{"two bundles", []string{"--bundle", asker, ":::", "--bundle", square("$((a*a))")}, "OK", 0},
		{"two bundles, a wrong answer", []string{"--bundle", asker, ":::", "--bundle=" + square("$((a+a))")}, "WA", 0},
		{"a box and a bundle", []string{"-b", "30", "--", "/bin/sh", "i.sh", ":::", "--bundle", square("$((a*a))")}, "OK", 0},
		{"the interaction's wall limit caps a bundle's", []string{"--bundle", reader, ":::", "--bundle", reader}, "TO", 3 * time.Second},
		{"a bundle whose output the supervisor counts", []string{"--bundle", asker, ":::", "--bundle", counted}, "OK", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			metaPath := filepath.Join(t.TempDir(), "meta")
			start := time.Now()
			res := e.r.Run(append([]string{"interact", "--wall-time", "0.5", "--meta", metaPath, "--"}, tc.args...)...)
			took := time.Since(start)
			if _, err := os.Stat(metaPath); err != nil {
				t.Fatalf("no report: exit %d %s", res.Code, res.Stderr)
			}
			m := testutil.ParseMeta(t, metaPath)
			if m["verdict"] != tc.verdict {
				t.Errorf("verdict %q, want %s: %s %v", m["verdict"], tc.verdict, res.Stderr, m)
			}
			if tc.took > 0 && took > testutil.Slack(tc.took) {
				t.Errorf("took %v", took)
			}
			if out := e.r.Run("list", "-q").Stdout; strings.Contains(out, "interact-") {
				t.Errorf("a party's container is left: %q", out)
			}
		})
	}
}

// TestInteractOrchestratorFIFOs links two judged containers the way
// docs/interactive.md tells an orchestrator to: FIFOs in a directory both
// mount, and the judge annotations' stdin and stdout. Each run's report is
// its own, and interact.Decide-style rules need both.
func TestInteractOrchestratorFIFOs(t *testing.T) {
	r := testutil.NewRunner(t)
	chans := t.TempDir()
	if err := os.Chmod(chans, 0o777); err != nil {
		t.Fatal(err)
	}
	mkfifos(t, chans, "to-solution", "to-interactor")
	share := func(s *specs.Spec) {
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/chan", Type: "bind", Source: chans, Options: []string{"rbind", "rw"}})
	}
	// The solution's sandbox opens its stdin, then its stdout; the
	// interactor opens the other ends in the same order (its write end
	// first), or both would wait for ever in open.
	interactor, _ := testutil.JudgeBundle(t, []string{"sh", "-c",
		`exec 4>/chan/to-solution 3</chan/to-interactor; echo 6 >&4; read x <&3; [ "$x" = 36 ]`},
		map[string]string{"judge": "true", "wall-time": "10"}, share)
	solution, _ := testutil.JudgeBundle(t, []string{"sh", "-c", "read a; echo $((a*a))"},
		map[string]string{"judge": "true", "wall-time": "10", "stdin": "/chan/to-solution", "stdout": "/chan/to-interactor"}, share)
	metas := []string{filepath.Join(t.TempDir(), "i.meta"), filepath.Join(t.TempDir(), "s.meta")}
	ic := r.Command(t.Context(), "run", "--bundle", interactor, "--meta", metas[0], r.ID("interactor"))
	if err := ic.Start(); err != nil {
		t.Fatal(err)
	}
	res := r.Run("run", "--bundle", solution, "--meta", metas[1], r.ID("solution"))
	if err := ic.Wait(); err != nil || res.Code != 0 {
		t.Fatalf("interactor: %v; solution: exit %d %s", err, res.Code, res.Stderr)
	}
	for _, p := range metas {
		if m := testutil.ParseMeta(t, p); m["status"] != "" || m["exitcode"] != "0" {
			t.Errorf("%s: %v", filepath.Base(p), m)
		}
	}
}

// hasAll says whether m has every key of want with its value.
func hasAll(m, want map[string]string) bool {
	for k, v := range want {
		if m[k] != v {
			return false
		}
	}
	return true
}
