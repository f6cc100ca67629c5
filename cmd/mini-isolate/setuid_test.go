package main_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mini-isolate/mini-isolate/internal/testutil"
	"github.com/mini-isolate/mini-isolate/manager"
)

// The users the setuid tests run as: two judge users in the binary's group,
// as CMS's cmsuser in group isolate, and the box range of the system
// configuration the test's build reads.
const (
	suidGroup  = 61990
	suidUserA  = 61991
	suidUserB  = 61992
	suidBoxUID = 62200
	suidBoxes  = 10
)

// setuidEnv is a setuid-root copy of mini-isolate, built to read its
// system configuration from a file of the test's, mode 4750 and group
// suidGroup, as CMS and Judge0 deploy isolate (docs/install.md).
type setuidEnv struct {
	bin, conf, boxRoot string
	dir                string
}

func newSetuidEnv(t *testing.T) *setuidEnv {
	t.Helper()
	testutil.RequireRoot(t)
	// Not below t.TempDir, whose parent only root may enter.
	dir, err := os.MkdirTemp("", "mini-isolate-setuid-")
	if err != nil {
		t.Fatal(err)
	}
	e := &setuidEnv{dir: dir, bin: filepath.Join(dir, "bin", "mini-isolate"), conf: filepath.Join(dir, "isolate.conf"), boxRoot: filepath.Join(dir, "boxes")}
	t.Cleanup(func() {
		for id := 0; id < suidBoxes; id++ {
			_ = exec.Command(e.bin, "isolate", "-b", fmt.Sprint(id), "--cleanup").Run()
		}
		os.RemoveAll(dir)
	})
	for _, d := range []string{dir, filepath.Dir(e.bin)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	testutil.BuildBinary(t, e.bin, "-X github.com/mini-isolate/mini-isolate/box.SystemConfigPath="+e.conf)
	if err := os.Chown(e.bin, 0, suidGroup); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(e.bin, 0o4750|os.ModeSetuid); err != nil {
		t.Fatal(err)
	}
	e.config(t, "")
	return e
}

// config writes the system configuration, with extra lines.
func (e *setuidEnv) config(t *testing.T, extra string) {
	t.Helper()
	conf := fmt.Sprintf("box_root = %s\nlock_root = %s\ncg_parent = mini-isolate-setuid-test\nfirst_uid = %d\nfirst_gid = %d\nnum_boxes = %d\n%s",
		e.boxRoot, filepath.Join(e.dir, "locks"), suidBoxUID, suidBoxUID, suidBoxes, extra)
	if err := os.WriteFile(e.conf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
}

// as runs the setuid binary as uid, in group suidGroup, with env added to
// a plain environment.
func (e *setuidEnv) as(t *testing.T, uid int, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(e.bin, args...)
	cmd.Dir = e.dir
	cmd.Env = append([]string{"PATH=/usr/bin:/bin"}, env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: suidGroup}}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	return out.String(), errb.String(), code
}

// TestSetuid runs a setuid-root mini-isolate as unprivileged users and
// checks that each escalation isolate's model refuses is refused.
func TestSetuid(t *testing.T) {
	e := newSetuidEnv(t)
	t.Run("OCI commands refused", func(t *testing.T) {
		bundle := testutil.Bundle(t, []string{"true"}, nil)
		for _, args := range [][]string{
			{"list"}, {"run", "--bundle", bundle, "x"}, {"spec"}, {"state", "box-0"}, {"delete", "--force", "box-0"},
			{"--root", e.dir, "isolate", "--version"}, {"--version"},
		} {
			_, stderr, code := e.as(t, suidUserA, nil, args...)
			if code == 0 || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, "only the isolate front end") {
				t.Errorf("%v as a user: exit %d, stderr %q; want one line refusing it", args, code, stderr)
			}
		}
	})
	t.Run("no re-executed role", func(t *testing.T) {
		// Each would run the caller's choice as root: a hook's command,
		// libcontainer's init on a pipe of the caller's.
		proof := filepath.Join(e.dir, "proof")
		// touch keeps the root it is given (a shell would drop it); the
		// directory is root's.
		hook := fmt.Sprintf(`{"path":"/usr/bin/touch","args":["touch",%q]}`, proof)
		for _, c := range []struct {
			env  []string
			args []string
		}{
			{nil, []string{"run-hook", hook}},
			{[]string{"_LIBCONTAINER_INITPIPE=0", "_LIBCONTAINER_STATEDIR=/tmp"}, []string{"init"}},
			{[]string{"_LIBCONTAINER_INITPIPE=0"}, []string{"isolate", "--version"}},
			{nil, []string{"judge-init", "0"}},
		} {
			_, stderr, code := e.as(t, suidUserA, c.env, c.args...)
			if code != 1 || !strings.Contains(stderr, "refusing to run as a container's init or a hook") {
				t.Errorf("%v %v as a user: exit %d, stderr %q; want a refusal", c.env, c.args, code, stderr)
			}
		}
		if _, err := os.Stat(proof); err == nil {
			t.Errorf("the hook ran as root: %s exists", proof)
		}
	})
	t.Run("the system configuration only", func(t *testing.T) {
		evil := filepath.Join(e.dir, "evil.conf")
		if err := os.WriteFile(evil, []byte("box_root = /tmp\nlock_root = /tmp\nfirst_uid = 1\nfirst_gid = 1\nnum_boxes = 100\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		env := []string{"MINI_ISOLATE_CONFIG=" + evil}
		out, stderr, code := e.as(t, suidUserA, env, "isolate", "-b", "1", "--init")
		if code != 0 || strings.TrimSpace(out) != filepath.Join(e.boxRoot, "1") {
			t.Fatalf("--init with MINI_ISOLATE_CONFIG set: exit %d %q %q; want the system box root", code, out, stderr)
		}
		out, stderr, code = e.as(t, suidUserA, env, "isolate", "-b", "1", "--run", "--", "/usr/bin/id", "-u")
		if code != 0 || strings.TrimSpace(out) != fmt.Sprint(suidBoxUID+1) {
			t.Errorf("the box's uid: exit %d %q %q; want %d", code, out, stderr, suidBoxUID+1)
		}
	})
	t.Run("meta file with the caller's rights", func(t *testing.T) {
		private := filepath.Join(e.dir, "root-only")
		if err := os.Mkdir(private, 0o700); err != nil {
			t.Fatal(err)
		}
		target := filepath.Join(private, "file")
		if err := os.WriteFile(target, []byte("keep me"), 0o644); err != nil {
			t.Fatal(err)
		}
		_, stderr, code := e.as(t, suidUserA, nil, "isolate", "-b", "1", "-M", target, "--run", "--", "/bin/true")
		if code != 2 || !strings.Contains(stderr, "Failed to open metafile") {
			t.Errorf("-M in a root-only directory: exit %d %q", code, stderr)
		}
		if data, _ := os.ReadFile(target); string(data) != "keep me" {
			t.Errorf("the root-only file became %q", data)
		}
		// One the caller may write is written, and is the caller's.
		mine := filepath.Join(e.dir, "mine")
		if err := os.Mkdir(mine, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(mine, suidUserA, suidGroup); err != nil {
			t.Fatal(err)
		}
		metaPath := filepath.Join(mine, "run.meta")
		if _, stderr, code := e.as(t, suidUserA, nil, "isolate", "-b", "1", "-M", metaPath, "--run", "--", "/bin/true"); code != 0 {
			t.Fatalf("a run as the user: exit %d %q", code, stderr)
		}
		var st syscall.Stat_t
		if err := syscall.Stat(metaPath, &st); err != nil || st.Uid != suidUserA {
			t.Errorf("the meta file: uid %d, %v; want the caller's", st.Uid, err)
		}
	})
	t.Run("a box is its initialiser's", func(t *testing.T) {
		_, stderr, code := e.as(t, suidUserB, nil, "isolate", "-b", "1", "--run", "--", "/bin/true")
		if code != 2 || !strings.Contains(stderr, "This box belongs to a different user") {
			t.Errorf("another user's run: exit %d %q", code, stderr)
		}
		if _, stderr, code := e.as(t, suidUserB, nil, "isolate", "-b", "1", "--cleanup"); code != 2 || !strings.Contains(stderr, "different user") {
			t.Errorf("another user's cleanup: exit %d %q", code, stderr)
		}
	})
	t.Run("--as-uid is root's", func(t *testing.T) {
		_, stderr, code := e.as(t, suidUserA, nil, "isolate", "-b", "2", "--as-uid=0", "--as-gid=0", "--init")
		if code != 2 || !strings.Contains(stderr, "root") {
			t.Errorf("--as-uid as a user: exit %d %q", code, stderr)
		}
	})
	t.Run("the environment only through -E", func(t *testing.T) {
		env := []string{"JUDGE_SECRET=s3cr3t"}
		out, _, _ := e.as(t, suidUserA, env, "isolate", "-b", "1", "-p", "--run", "--", "/usr/bin/env")
		if strings.Contains(out, "s3cr3t") {
			t.Errorf("the caller's environment reached the program: %q", out)
		}
		out, _, _ = e.as(t, suidUserA, env, "isolate", "-b", "1", "-E", "JUDGE_SECRET", "-p", "--run", "--", "/usr/bin/env")
		if !strings.Contains(out, "JUDGE_SECRET=s3cr3t") {
			t.Errorf("-E JUDGE_SECRET did not pass it: %q", out)
		}
	})
	t.Run("a manager started on demand", func(t *testing.T) {
		e.config(t, "spare_boxes = 1\nmanager_idle = 600\n")
		defer e.config(t, "")
		// The user starts it with a umask of their own, which would
		// loosen the modes of the files it makes.
		cmd := exec.Command("/bin/sh", "-c", `umask 0; exec "$@"`, "sh", e.bin, "isolate", "-b", "4", "--init")
		cmd.Env = []string{"PATH=/usr/bin:/bin", "JUDGE_SECRET=s3cr3t"}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: suidUserA, Gid: suidGroup}}
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("--init: %v %q", err, out)
		}
		c, err := manager.Dial(filepath.Join(e.dir, "locks", "manager.sock"))
		if err != nil {
			t.Fatalf("no manager after --init with spare_boxes set: %v", err)
		}
		defer c.Close()
		pid, err := c.ServerPID()
		if err != nil {
			t.Fatal(err)
		}
		exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
		status, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		environ, _ := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
		if filepath.Base(exe) != "mini-isolate-manager" || !strings.Contains(string(status), "\nUid:\t0\t0\t0\t0\n") ||
			strings.Contains(string(environ), "s3cr3t") {
			t.Errorf("the manager runs %s, %q, with environment %q; want the manager's binary, wholly root, without the caller's environment",
				exe, regexp.MustCompile(`Uid:.*`).FindString(string(status)), environ)
		}
		if !strings.Contains(string(status), "\nUmask:\t0022\n") {
			t.Errorf("the manager's umask: %q", regexp.MustCompile(`Umask:.*`).FindString(string(status)))
		}
		for _, name := range []string{"Max cpu time", "Max file size"} {
			if got, want := hardLimit(t, pid, name), hardLimit(t, 1, name); got != want {
				t.Errorf("the manager's hard limit of %s: %q, want PID 1's %q", name, got, want)
			}
		}
		out, stderr, code := e.as(t, suidUserA, nil, "isolate", "-b", "4", "--run", "--", "/usr/bin/id", "-u")
		if code != 0 || strings.TrimSpace(out) != fmt.Sprint(suidBoxUID+4) {
			t.Errorf("a run through the manager: exit %d %q %q", code, out, stderr)
		}
		// The manager, root, checks the box's owner against its caller.
		if _, stderr, code := e.as(t, suidUserB, nil, "isolate", "-b", "4", "--run", "--", "/bin/true"); code != 2 || !strings.Contains(stderr, "different user") {
			t.Errorf("another user's run through the manager: exit %d %q", code, stderr)
		}
		if _, stderr, code := e.as(t, suidUserB, nil, "isolate", "-b", "4", "--cleanup"); code != 2 || !strings.Contains(stderr, "different user") {
			t.Errorf("another user's cleanup through the manager: exit %d %q", code, stderr)
		}
		if _, stderr, code := e.as(t, suidUserA, nil, "isolate", "-b", "4", "--cleanup"); code != 0 {
			t.Errorf("--cleanup: exit %d %q", code, stderr)
		}
		_, _ = c.Do(&manager.Request{Op: "shutdown"})
		testutil.Eventually(t, 30*time.Second, "the manager to exit", func() bool { return syscall.Kill(pid, 0) != nil })
	})
	t.Run("a caller's limits do not reach the manager", func(t *testing.T) {
		e.config(t, "spare_boxes = 1\nmanager_idle = 600\n")
		defer e.config(t, "")
		cmd := exec.Command("prlimit", "--fsize=100000", "--cpu=100", "--nofile=64", "--", e.bin, "isolate", "-b", "5", "--init")
		cmd.Env = []string{"PATH=/usr/bin:/bin"}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: suidUserA, Gid: suidGroup}}
		if out, err := cmd.CombinedOutput(); err != nil || strings.TrimSpace(string(out)) != filepath.Join(e.boxRoot, "5") {
			t.Fatalf("--init under low limits: %v %q", err, out)
		}
		defer e.as(t, suidUserA, nil, "isolate", "-b", "5", "--cleanup")
		// Raising a hard limit back takes CAP_SYS_RESOURCE, which some
		// hosts' root lacks: then the caller runs without a manager.
		c, err := manager.Dial(filepath.Join(e.dir, "locks", "manager.sock"))
		if !canRaiseLimits(t) {
			if err == nil {
				c.Close()
				t.Fatal("a manager was started with the caller's limits, which this host cannot raise")
			}
			return
		}
		if err != nil {
			t.Fatalf("no manager: %v", err)
		}
		defer c.Close()
		pid, _ := c.ServerPID()
		for _, name := range []string{"Max cpu time", "Max file size", "Max open files"} {
			if got, want := hardLimit(t, pid, name), hardLimit(t, 1, name); got != want {
				t.Errorf("the manager's hard limit of %s: %q, want PID 1's %q", name, got, want)
			}
		}
		e.as(t, suidUserA, nil, "isolate", "-b", "5", "--cleanup")
		_, _ = c.Do(&manager.Request{Op: "shutdown"})
		testutil.Eventually(t, 30*time.Second, "the manager to exit", func() bool { return syscall.Kill(pid, 0) != nil })
	})
	t.Run("restricted_init", func(t *testing.T) {
		e.config(t, "restricted_init = 1\n")
		defer e.config(t, "")
		_, stderr, code := e.as(t, suidUserA, nil, "isolate", "-b", "3", "--init")
		if code != 2 || !strings.Contains(stderr, "New sandboxes can be created only by root") {
			t.Errorf("--init under restricted_init: exit %d %q", code, stderr)
		}
	})
}

// hardLimit is the hard limit called name in /proc/PID/limits.
func hardLimit(t *testing.T, pid int, name string) string {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", pid))
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(strings.TrimPrefix(regexp.MustCompile(name+`.*`).FindString(string(data)), name))
	if len(f) < 2 {
		t.Fatalf("no %q in /proc/%d/limits", name, pid)
	}
	return f[1]
}

// canRaiseLimits says whether root here may raise a hard limit: whether
// CAP_SYS_RESOURCE is in this process's bounding set, which bounds what a
// setuid-root binary it starts gets.
func canRaiseLimits(t *testing.T) bool {
	t.Helper()
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`CapBnd:\s*([0-9a-f]+)`).FindSubmatch(status)
	if m == nil {
		t.Fatal("no CapBnd in /proc/self/status")
	}
	bnd, err := strconv.ParseUint(string(m[1]), 16, 64)
	if err != nil {
		t.Fatal(err)
	}
	return bnd&(1<<unix.CAP_SYS_RESOURCE) != 0
}
