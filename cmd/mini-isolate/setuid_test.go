package main_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

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
	cmd := userCommand(uid, e.bin, args...)
	cmd.Dir = e.dir
	cmd.Env = append(cmd.Env, env...)
	return runUser(t, cmd)
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
		if _, stderr, code := e.as(t, suidUserB, nil, "isolate", "-b", "1", "--init"); code != 2 || !strings.Contains(stderr, "different user") {
			t.Errorf("another user's --init: exit %d %q", code, stderr)
		}
		if _, stderr, code := e.as(t, suidUserA, nil, "isolate", "-b", "1", "--run", "--", "/bin/true"); code != 0 {
			t.Errorf("the owner's run after another user's attempts: exit %d %q", code, stderr)
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
	t.Run("a user starts no manager", func(t *testing.T) {
		// It would carry the user's limits, nice value, affinity, cgroup
		// and OOM score to every user's runs.
		e.config(t, "spare_boxes = 1\nmanager_idle = 600\n")
		defer e.config(t, "")
		cmd := exec.Command("prlimit", "--nofile=64", "--", e.bin, "isolate", "-b", "5", "--init")
		cmd.Env = []string{"PATH=/usr/bin:/bin"}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: suidUserA, Gid: suidGroup}}
		if out, err := cmd.CombinedOutput(); err != nil || strings.TrimSpace(string(out)) != filepath.Join(e.boxRoot, "5") {
			t.Fatalf("--init: %v %q", err, out)
		}
		if c, err := manager.Dial(filepath.Join(e.dir, "locks", "manager.sock")); err == nil {
			c.Close()
			t.Error("a user's --init started a manager")
		}
		if _, stderr, code := e.as(t, suidUserA, nil, "isolate", "-b", "5", "--cleanup"); code != 0 {
			t.Errorf("--cleanup: exit %d %q", code, stderr)
		}
	})
	t.Run("a manager root started", func(t *testing.T) {
		e.config(t, "spare_boxes = 1\nmanager_idle = 600\n")
		defer e.config(t, "")
		// As a service runs it (docs/api.md).
		svc := exec.Command(e.bin, "--log", filepath.Join(e.dir, "manager.log"), "manager", "--idle", "0")
		if err := svc.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- svc.Wait() }()
		var c *manager.Client
		testutil.Eventually(t, 10*time.Second, "the manager to listen", func() bool {
			var err error
			c, err = manager.Dial(filepath.Join(e.dir, "locks", "manager.sock"))
			return err == nil
		})
		defer func() {
			_, _ = c.Do(&manager.Request{Op: "shutdown"})
			c.Close()
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				t.Error("the manager did not exit")
			}
		}()
		if exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", svc.Process.Pid)); filepath.Base(exe) != "mini-isolate-manager" {
			t.Errorf("the manager runs %s, want its own binary", exe)
		}
		if _, stderr, code := e.as(t, suidUserA, nil, "isolate", "-b", "4", "--init"); code != 0 {
			t.Fatalf("--init: exit %d %q", code, stderr)
		}
		// Through the manager: the box is one of its spares.
		if record, _ := os.ReadFile(filepath.Join(e.dir, "locks", "4")); !strings.Contains(string(record), `"container":"sbx-`) {
			t.Errorf("box 4 did not come from the manager: record %s", record)
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
		if _, stderr, code := e.as(t, suidUserB, nil, "isolate", "-b", "4", "--init"); code != 2 || !strings.Contains(stderr, "different user") {
			t.Errorf("another user's --init through the manager: exit %d %q", code, stderr)
		}
		if _, stderr, code := e.as(t, suidUserA, nil, "isolate", "-b", "4", "--cleanup"); code != 0 {
			t.Errorf("--cleanup: exit %d %q", code, stderr)
		}
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

// raisedCopy is a copy of a binary that raises privileges when a user runs
// it, as an install other than setuid root might.
type raisedCopy struct {
	name string
	// raise gives the copy at path its privileges.
	raise func(path string) error
	// raised says, from a process's /proc/self/status, whether it runs
	// with them.
	raised func(status string) bool
}

// vfsCapEffective is a security.capability value (vfs_cap_data, revision
// 2) with CAP_DAC_OVERRIDE and CAP_KILL permitted and effective: enough to
// reach root's state and signal its containers.
var vfsCapEffective = []byte{
	0x01, 0x00, 0x00, 0x02, // VFS_CAP_REVISION_2 | VFS_CAP_FLAGS_EFFECTIVE
	1<<1 | 1<<5, 0, 0, 0, 0, 0, 0, 0, // permitted, inheritable: caps 0-31
	0, 0, 0, 0, 0, 0, 0, 0, // caps 32-63
}

var raisedCopies = []raisedCopy{
	{
		name:   "file capabilities",
		raise:  func(p string) error { return syscall.Setxattr(p, "security.capability", vfsCapEffective, 0) },
		raised: func(s string) bool { return statusField(s, "CapEff:") != "0000000000000000" },
	},
	{
		name: "set-group-ID root",
		raise: func(p string) error {
			if err := os.Chown(p, 0, 0); err != nil {
				return err
			}
			return os.Chmod(p, 0o755|os.ModeSetgid)
		},
		raised: func(s string) bool { return strings.Fields(statusField(s, "Gid:"))[1] == "0" },
	},
	{
		name: "set-user-ID another user",
		raise: func(p string) error {
			if err := os.Chown(p, suidUserB, suidGroup); err != nil {
				return err
			}
			return os.Chmod(p, 0o755|os.ModeSetuid)
		},
		raised: func(s string) bool { return strings.Fields(statusField(s, "Uid:"))[1] == fmt.Sprint(suidUserB) },
	},
}

func statusField(status, key string) string {
	for _, line := range strings.Split(status, "\n") {
		if v, ok := strings.CutPrefix(line, key); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// TestRaisedPrivileges runs copies of mini-isolate and of the manager that
// raise privileges other than by setuid root, as a user, and checks that
// each command is refused in one line and that root's container survives
// it. A copy of cat raised the same way first shows that this host grants
// the privileges; where it does not, there is nothing to refuse, and the
// case is skipped.
func TestRaisedPrivileges(t *testing.T) {
	r := testutil.NewRunner(t)
	dir, err := os.MkdirTemp("", "mini-isolate-raised-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bundle := testutil.Bundle(t, []string{"sleep", "60"}, nil)
	for i, rc := range raisedCopies {
		t.Run(rc.name, func(t *testing.T) {
			copies := raise(t, filepath.Join(dir, fmt.Sprint(i)), rc, "/bin/cat", r.Bin, filepath.Join(filepath.Dir(r.Bin), "mini-isolate-manager"))
			cmd := userCommand(suidUserA, copies["cat"], "/proc/self/status")
			status, err := cmd.Output()
			if err != nil {
				// EPERM: the file asks for capabilities outside the
				// bounding set.
				t.Skipf("this host does not run a raised copy of cat: %v", err)
			}
			if !rc.raised(string(status)) {
				t.Skip("this host does not grant the privileges: nothing to refuse")
			}
			id := r.ID(fmt.Sprintf("raised%d", i))
			if res := r.Run("run", "--detach", "--bundle", bundle, id); res.Code != 0 {
				t.Fatalf("run: %+v", res)
			}
			for _, args := range [][]string{
				{copies["mini-isolate"], "--version"},
				{copies["mini-isolate"], "--root", r.Root, "list"},
				{copies["mini-isolate"], "--root", r.Root, "delete", "--force", id},
				{copies["mini-isolate"], "isolate", "--version"},
				{copies["mini-isolate-manager"], "--version"},
			} {
				_, stderr, code := asUser(t, suidUserA, args[0], args[1:]...)
				if code == 0 || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, "refusing to run") {
					t.Errorf("%v as a user: exit %d, stderr %q; want one line refusing it", args[1:], code, stderr)
				}
			}
			if res := r.Run("state", id); res.Code != 0 || !strings.Contains(res.Stdout, `"running"`) {
				t.Errorf("root's container after the user's delete: %+v", res)
			}
		})
	}
}

// raise copies each of srcs into dir and raises the copies as rc says,
// skipping the test where this host cannot.
func raise(t *testing.T, dir string, rc raisedCopy, srcs ...string) map[string]string {
	t.Helper()
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	copies := map[string]string{}
	for _, src := range srcs {
		dst := filepath.Join(dir, filepath.Base(src))
		copyFile(t, src, dst)
		// No security xattrs on this filesystem, or no CAP_SETFCAP.
		if err := rc.raise(dst); errors.Is(err, syscall.EOPNOTSUPP) || errors.Is(err, syscall.EPERM) {
			t.Skipf("this host cannot raise %s: %v", dst, err)
		} else if err != nil {
			t.Fatalf("%s: %v", dst, err)
		}
		copies[filepath.Base(src)] = dst
	}
	return copies
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, data, 0o755); err != nil {
		t.Fatal(err)
	}
}

// userCommand is path run as uid, in group suidGroup, with a plain
// environment.
func userCommand(uid int, path string, args ...string) *exec.Cmd {
	cmd := exec.Command(path, args...)
	cmd.Dir = "/"
	cmd.Env = []string{"PATH=/usr/bin:/bin"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: suidGroup}}
	return cmd
}

// asUser runs path as userCommand says.
func asUser(t *testing.T, uid int, path string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return runUser(t, userCommand(uid, path, args...))
}

// runUser runs cmd and returns its output and exit status; a command that
// could not start fails the test.
func runUser(t *testing.T, cmd *exec.Cmd) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%v: %v", cmd.Args, err)
	}
	return out.String(), errb.String(), code
}
