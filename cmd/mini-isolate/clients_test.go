package main_test

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mini-isolate/mini-isolate/internal/testutil"
)

// Graders built on isolate act on the meta file's keys, their order, and
// the status, exitcode and exitsig isolate derives from how the program
// itself ended (box_keeper in isolate.c): these tests replay the command
// lines CMS and Judge0 send, from their public sources, and compare the
// meta with what isolate 2.x writes. docs/isolate-compat.md lists the
// differences that remain.

// The keys isolate writes, in its order, for each ending (isolate 2.x with
// --cg).
var (
	stats    = []string{"time", "time-wall", "max-rss", "csw-voluntary", "csw-forced", "cg-mem"}
	okKeys   = append(append([]string{}, stats...), "exitcode")
	reKeys   = append(append([]string{}, stats...), "exitcode", "status", "message")
	sgKeys   = append(append([]string{}, stats...), "exitsig", "status", "message")
	toKeys   = append([]string{"status", "message", "killed"}, stats...)
	oomSG    = append(append([]string{}, stats...), "cg-oom-killed", "exitsig", "status", "message")
	oomOK    = append(append([]string{}, stats...), "cg-oom-killed", "exitcode")
	oomRE    = append(append([]string{}, stats...), "cg-oom-killed", "exitcode", "status", "message")
	wallTO   = "Time limit exceeded (wall clock)"
	cpuTO    = "Time limit exceeded"
	noOutput = "\x00" // the program's output is not checked
)

// clientCase is one program and the meta isolate writes for it.
type clientCase struct {
	name                      string
	prog                      []string // in the box
	keys                      []string
	status, exitcode, exitsig string
	message                   string
	out                       string // expected stdout (noOutput: not checked)
}

func clientCases(answer string) []clientCase {
	return []clientCase{
		{"OK", []string{"/bin/sh", "-c", "read a b; echo $((a+b))"}, okKeys, "", "0", "", "", answer},
		{"WA", []string{"/bin/sh", "-c", "echo 41"}, okKeys, "", "0", "", "", "41\n"},
		{"TLE", []string{"./spin"}, toKeys, "TO", "", "", cpuTO, noOutput},
		{"wall TLE", []string{"./sleeper"}, toKeys, "TO", "", "", wallTO, noOutput},
		{"MLE in the main process", []string{"./memhog", "512"}, oomSG, "SG", "", "9", "Caught fatal signal 9", noOutput},
		{"MLE in a child", []string{"./memchild", "512", "7"}, oomOK, "", "0", "", "", "7\n"},
		{"SIGSEGV", []string{"./crash", "segv"}, sgKeys, "SG", "", "11", "Caught fatal signal 11", noOutput},
		{"exit 3", []string{"./crash", "exit:3"}, reKeys, "RE", "3", "", "Exited with error status 3", noOutput},
	}
}

// metaKeys reads a meta file's keys in order, and its values.
func metaKeys(t *testing.T, path string) ([]string, map[string]string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var keys []string
	m := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), ":")
		keys = append(keys, k)
		m[k] = v
	}
	return keys, m
}

func checkMeta(t *testing.T, metaPath string, tc clientCase, stdout string) {
	t.Helper()
	keys, m := metaKeys(t, metaPath)
	if strings.Join(keys, ",") != strings.Join(tc.keys, ",") {
		t.Errorf("keys %v, isolate writes %v (meta %v)", keys, tc.keys, m)
	}
	if m["status"] != tc.status || m["exitcode"] != tc.exitcode || m["exitsig"] != tc.exitsig || m["message"] != tc.message {
		t.Errorf("status %q exitcode %q exitsig %q message %q; isolate: %q %q %q %q",
			m["status"], m["exitcode"], m["exitsig"], m["message"], tc.status, tc.exitcode, tc.exitsig, tc.message)
	}
	if tc.out != noOutput && stdout != tc.out {
		t.Errorf("output %q, want %q", stdout, tc.out)
	}
}

func installProgs(t *testing.T, boxDir string) {
	for _, p := range []string{"spin", "sleeper", "memhog", "memchild", "crash"} {
		copyProg(t, boxDir, p)
	}
}

// TestClientCMSBatch: CMS's Batch task type (cms/grading/Sandbox.py):
// --cleanup then --init, evaluation with its options and files in a
// /tmp bound from the sandbox's home, then its chmod clean-up run.
func TestClientCMSBatch(t *testing.T) {
	e := newIsoEnv(t)
	home := t.TempDir()
	if err := os.Chmod(home, 0o777); err != nil {
		t.Fatal(err)
	}
	for _, tc := range clientCases("7\n") {
		t.Run(tc.name, func(t *testing.T) {
			e := e.forT(t)
			if res := e.iso("--box-id=22", "--cg", "--cleanup"); res.Code != 0 {
				t.Fatalf("cleanup: %s", res.Stderr)
			}
			installProgs(t, e.init(t, 22, "--cg"))
			if err := os.WriteFile(filepath.Join(home, "input.txt"), []byte("3 4\n"), 0o666); err != nil {
				t.Fatal(err)
			}
			metaPath := filepath.Join(t.TempDir(), "run.meta.0")
			res := e.iso(append([]string{"--cg", "--box-id=22", "--chdir=/box", "--dir=/tmp=" + home + ":rw", "--dir=/dev/shm:tmp",
				"--dir=/etc/alternatives=/etc/alternatives:maybe", "--env=HOME=/tmp", "--fsize=1048576",
				"--stdin=/tmp/input.txt", "--cg-mem=65536", "--stdout=/tmp/output.txt", "--processes=1000",
				"--stderr=/tmp/stderr.txt", "--time=1", "--wall-time=3", "--meta=" + metaPath, "--run", "--"}, tc.prog...)...)
			out, _ := os.ReadFile(filepath.Join(home, "output.txt"))
			checkMeta(t, metaPath, tc, string(out))
			if want := map[string]int{"": 0}[tc.status]; tc.status != "" && res.Code != 1 || tc.status == "" && res.Code != want {
				t.Errorf("exit %d (%s)", res.Code, res.Stderr)
			}
			// CMS's clean-up run, which opens up the files the program made
			// in /tmp (not /tmp itself, which the box user does not own:
			// chmod exits 1 there, under isolate too).
			if res := e.iso("--cg", "--box-id=22", "--dir=/tmp="+home+":rw", "-p", "--run", "--", "/bin/chmod", "777", "-R", "/tmp"); res.Code > 1 {
				t.Errorf("chmod clean-up run: exit %d %s", res.Code, res.Stderr)
			}
			if fi, err := os.Stat(filepath.Join(home, "output.txt")); err != nil || fi.Mode().Perm() != 0o777 {
				t.Errorf("output.txt after the clean-up run: %v %v", fi.Mode(), err)
			}
		})
	}
}

// TestClientJudge0: Judge0's run command (app/jobs/isolate_job.rb): every
// program under /bin/bash run.sh, stdio redirected by the shell outside
// the box, -x 0.5, -k, -p60, --cg-timing, -E without a value, -d
// /etc:noexec. A shell whose child is OOM-killed exits 137: RE, never SG.
func TestClientJudge0(t *testing.T) {
	e := newIsoEnv(t)
	dir := strings.TrimSuffix(e.init(t, 23, "--cg"), "/box")
	installProgs(t, filepath.Join(dir, "box"))
	for _, tc := range clientCases("7\n") {
		t.Run(tc.name, func(t *testing.T) {
			// Under bash, what kills the program is bash's child's death:
			// bash reports it as an exit status.
			switch tc.name {
			case "MLE in the main process":
				tc.keys, tc.status, tc.exitcode, tc.exitsig, tc.message = oomRE, "RE", "137", "", "Exited with error status 137"
			case "SIGSEGV":
				tc.keys, tc.status, tc.exitcode, tc.exitsig, tc.message = reKeys, "RE", "139", "", "Exited with error status 139"
			}
			script := strings.Join(quoteAll(tc.prog), " ") + "\n"
			if err := os.WriteFile(filepath.Join(dir, "box", "run.sh"), []byte(script), 0o755); err != nil {
				t.Fatal(err)
			}
			metaPath := filepath.Join(dir, "metadata.txt")
			cmd := e.r.Command(t.Context(), "isolate", "--cg", "-s", "-b", "23", "-M", metaPath, "-t", "1", "-x", "0.5", "-w", "3",
				"-k", "64000", "-p60", "--cg-timing", "--cg-mem=65536", "-f", "1024",
				"-E", "HOME=/tmp", "-E", "PATH=/usr/local/bin:/usr/bin:/bin", "-E", "LANG", "-E", "LANGUAGE", "-E", "LC_ALL",
				"-d", "/etc:noexec", "--run", "--", "/bin/bash", "run.sh")
			cmd.Stdin = strings.NewReader("3 4\n")
			var out strings.Builder
			cmd.Stdout = &out
			_ = cmd.Run()
			checkMeta(t, metaPath, tc, out.String())
		})
	}
}

func quoteAll(args []string) []string {
	var q []string
	for _, a := range args {
		q = append(q, "'"+strings.ReplaceAll(a, "'", `'\''`)+"'")
	}
	return q
}

// mkfifos makes FIFOs of mode 0666 in dir, whatever the umask.
func mkfifos(t *testing.T, dir string, names ...string) {
	t.Helper()
	for _, f := range names {
		if err := syscall.Mkfifo(filepath.Join(dir, f), 0o666); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(filepath.Join(dir, f), 0o666); err != nil {
			t.Fatal(err)
		}
	}
}

// TestClientCMSCommunication: CMS's Communication task type: a manager box
// and a user box run at once, linked by FIFOs (mode 0666) in a host
// directory (mode 0755) bound into both with --dir=/fifo0=<dir>:rw; the
// user's stdin and stdout are redirected to them.
func TestClientCMSCommunication(t *testing.T) {
	e := newIsoEnv(t)
	fifos := filepath.Join(t.TempDir(), "fifo0")
	if err := os.Mkdir(fifos, 0o755); err != nil {
		t.Fatal(err)
	}
	mkfifos(t, fifos, "m_to_u0", "u0_to_m")
	e.init(t, 24, "--cg")
	e.init(t, 25, "--cg")
	rule := "--dir=/fifo0=" + fifos + ":rw"
	managerMeta, userMeta := filepath.Join(t.TempDir(), "manager.meta"), filepath.Join(t.TempDir(), "user.meta")
	manager := e.r.Command(t.Context(), "isolate", "--cg", "--box-id=24", rule, "--processes=1000", "--time=2", "--wall-time=10",
		"--meta="+managerMeta, "--run", "--", "/bin/sh", "-c", "echo 20 > /fifo0/m_to_u0; read x < /fifo0/u0_to_m; echo got $x")
	var managerOut strings.Builder
	manager.Stdout = &managerOut
	if err := manager.Start(); err != nil {
		t.Fatal(err)
	}
	user := e.iso("--cg", "--box-id=25", rule, "--stdin=/fifo0/m_to_u0", "--stdout=/fifo0/u0_to_m", "--processes=1000",
		"--time=1", "--wall-time=5", "--meta="+userMeta, "--run", "--", "/bin/sh", "-c", "read a; echo $((a*2))")
	done := make(chan error, 1)
	go func() { done <- manager.Wait() }()
	select {
	case <-done:
	case <-time.After(testutil.Slack(20 * time.Second)):
		_ = manager.Process.Kill()
		t.Fatal("the manager did not end")
	}
	if user.Code != 0 || managerOut.String() != "got 40\n" {
		t.Errorf("user exit %d (%s); manager said %q", user.Code, user.Stderr, managerOut.String())
	}
	for _, p := range []string{managerMeta, userMeta} {
		keys, m := metaKeys(t, p)
		if strings.Join(keys, ",") != strings.Join(okKeys, ",") || m["exitcode"] != "0" {
			t.Errorf("%s: keys %v meta %v, isolate writes an OK run's", filepath.Base(p), keys, m)
		}
	}
}
