package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// runtime is one of the two binaries compared.
type runtime struct {
	name, bin, tag string
}

type suite struct {
	o        *options
	dir      string // everything the suite makes
	rootfs   string
	runtimes [2]runtime // the reference first
	intended map[string]string
	n        int // cases played, for unique ids
}

func newSuite(o *options) (*suite, error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("must run as root")
	}
	s := &suite{o: o}
	for i, r := range []runtime{{"runc", o.reference, "r"}, {"mini-isolate", o.runtime, "m"}} {
		bin, err := exec.LookPath(r.bin)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r.name, err)
		}
		if r.bin, err = filepath.Abs(bin); err != nil {
			return nil, err
		}
		s.runtimes[i] = r
	}
	var err error
	if s.intended, err = readIntended(o.intended); err != nil {
		return nil, err
	}
	if s.dir, err = os.MkdirTemp("", "runccli-"); err != nil {
		return nil, err
	}
	// Containers' users must reach the bundles.
	if err := os.Chmod(s.dir, 0o755); err != nil {
		return nil, err
	}
	if err := s.buildRootfs(); err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

func (s *suite) close() { _ = os.RemoveAll(s.dir) }

// applets are the busybox programs the cases run.
var applets = []string{"sh", "true", "false", "cat", "ls", "sleep", "echo", "id", "grep", "test", "kill"}

func (s *suite) buildRootfs() error {
	s.rootfs = filepath.Join(s.dir, "rootfs")
	for _, d := range []string{"bin", "proc", "dev", "sys", "tmp", "etc", "mnt"} {
		if err := os.MkdirAll(filepath.Join(s.rootfs, d), 0o755); err != nil {
			return err
		}
	}
	data, err := os.ReadFile("/bin/busybox")
	if err != nil {
		return fmt.Errorf("a static busybox is needed (busybox-static): %w", err)
	}
	if err := os.WriteFile(filepath.Join(s.rootfs, "bin", "busybox"), data, 0o755); err != nil {
		return err
	}
	for _, a := range applets {
		if err := os.Symlink("busybox", filepath.Join(s.rootfs, "bin", a)); err != nil {
			return err
		}
	}
	passwd := "root:x:0:0::/:/bin/sh\nnobody:x:65534:65534::/:/bin/false\n"
	return os.WriteFile(filepath.Join(s.rootfs, "etc", "passwd"), []byte(passwd), 0o644)
}

// baseSpec is runc spec's default, running sleep with a read-only root,
// in a cgroup of the case's own.
func baseSpec(rootfs, id string) *specs.Spec {
	sp := &specs.Spec{
		Version:  specs.Version,
		Root:     &specs.Root{Path: rootfs, Readonly: true},
		Hostname: "runccli",
		Process: &specs.Process{
			Args: []string{"sleep", "1000"},
			Env:  []string{"PATH=/bin", "TERM=xterm"},
			Cwd:  "/",
			Capabilities: &specs.LinuxCapabilities{
				Bounding:  defaultCaps,
				Effective: defaultCaps,
				Permitted: defaultCaps,
			},
			Rlimits:         []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Hard: 1024, Soft: 1024}},
			NoNewPrivileges: true,
		},
		Mounts: []specs.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc"},
			{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
			{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}},
			{Destination: "/tmp", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "nodev"}},
		},
		Linux: &specs.Linux{
			CgroupsPath: "/runccli/" + id,
			Resources:   &specs.LinuxResources{},
			Namespaces: []specs.LinuxNamespace{
				{Type: specs.PIDNamespace}, {Type: specs.NetworkNamespace}, {Type: specs.IPCNamespace},
				{Type: specs.UTSNamespace}, {Type: specs.MountNamespace},
			},
			MaskedPaths:   []string{"/proc/kcore", "/sys/firmware"},
			ReadonlyPaths: []string{"/proc/sys", "/proc/sysrq-trigger"},
		},
	}
	return sp
}

var defaultCaps = []string{"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"}

// env is one case played by one runtime.
type env struct {
	s            *suite
	rt           runtime
	id           string
	root, bundle string
	tmp          string
	held         []int // fds received on sockets, closed at cleanup
}

func (s *suite) newEnv(rt runtime, c tcase) (*env, error) {
	e := &env{s: s, rt: rt, id: fmt.Sprintf("cli%03d%s", s.n, rt.tag)}
	base := filepath.Join(s.dir, e.id)
	e.root, e.bundle, e.tmp = filepath.Join(base, "root"), filepath.Join(base, "bundle"), filepath.Join(base, "tmp")
	for _, d := range []string{e.bundle, e.tmp} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	sp := baseSpec(s.rootfs, e.id)
	if c.spec != nil {
		c.spec(sp)
	}
	data, err := json.MarshalIndent(sp, "", "\t")
	if err != nil {
		return nil, err
	}
	return e, os.WriteFile(filepath.Join(e.bundle, "config.json"), data, 0o644)
}

// expand fills in a step's placeholders.
func (e *env) expand(a string) string {
	return strings.NewReplacer("{id}", e.id, "{root}", e.root, "{bundle}", e.bundle, "{tmp}", e.tmp,
		"{console}", filepath.Join(e.tmp, "console.sock"), "{pidfd}", filepath.Join(e.tmp, "pidfd.sock")).Replace(a)
}

// normalize undoes expand in output, so that both runtimes' read the same.
func (e *env) normalize(out string) string {
	return strings.NewReplacer(e.tmp, "{tmp}", e.bundle, "{bundle}", e.root, "{root}", e.id, "{id}",
		e.rt.bin, "{runtime}").Replace(out)
}

// cleanup removes the case's container, its cgroups and files.
func (e *env) cleanup() {
	cmd := exec.Command(e.rt.bin, "--root", e.root, "delete", "--force", e.id)
	_ = cmd.Run()
	for _, fd := range e.held {
		_ = unix.Close(fd)
	}
	removeCgroups(e.id)
	_ = os.RemoveAll(filepath.Join(e.s.dir, e.id))
}
