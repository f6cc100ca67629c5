package main

import (
	"context"
	"debug/elf"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// bundleOCIVersion is the spec version written to config.json. It is pinned
// rather than taken from specs.Version so that runc 1.1 and crun 1.8 (which
// implement 1.0.x) read exactly what they were written for.
const bundleOCIVersion = "1.0.2"

// busyboxApplets get symlinks in the rootfs; true and sh are what the
// scenarios need, the rest make manual debugging of a kept bundle easier.
var busyboxApplets = []string{"true", "sh", "echo", "cat", "ls", "sleep"}

// makeRootfs creates a busybox rootfs in dir.
func makeRootfs(ctx context.Context, dir, busybox, scratch string) error {
	for _, d := range []string{"bin", "dev", "etc", "proc", "sys", "tmp", "root"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return fmt.Errorf("creating rootfs: %w", err)
		}
	}
	src, cleanup, err := findBusybox(ctx, busybox, scratch)
	if err != nil {
		return err
	}
	defer cleanup()
	if err := copyFile(src, filepath.Join(dir, "bin", "busybox"), 0o755); err != nil {
		return fmt.Errorf("copying busybox into rootfs: %w", err)
	}
	for _, a := range busyboxApplets {
		if err := os.Symlink("busybox", filepath.Join(dir, "bin", a)); err != nil {
			return fmt.Errorf("creating applet link: %w", err)
		}
	}
	return nil
}

// writeBundle creates the bundle directory dir with a config.json whose
// process runs args in rootfs (relative to dir, or absolute to share one).
func writeBundle(dir, rootfs string, args []string) error {
	return writeSpec(dir, benchSpec(rootfs, args))
}

// writeSpec creates the bundle directory dir with s as its config.json.
func writeSpec(dir string, s *specs.Spec) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating bundle: %w", err)
	}
	data, err := json.MarshalIndent(s, "", "\t")
	if err != nil {
		return fmt.Errorf("encoding config.json: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), data, 0o644); err != nil {
		return fmt.Errorf("writing config.json: %w", err)
	}
	return nil
}

// findBusybox returns a static busybox: path if it is one, otherwise one
// unpacked from Debian's busybox-static package into a directory under
// scratch, which the returned cleanup removes.
func findBusybox(ctx context.Context, path, scratch string) (string, func(), error) {
	noop := func() {}
	if _, err := os.Stat(path); err == nil {
		if err := checkStatic(path); err != nil {
			return "", noop, err
		}
		return path, noop, nil
	}
	dir, err := os.MkdirTemp(scratch, "busybox-deb-")
	if err != nil {
		return "", noop, fmt.Errorf("creating download dir: %w", err)
	}
	cleanup := func() { _ = os.RemoveAll(dir) }
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	if err := runQuiet(ctx, dir, "apt-get", "download", "busybox-static"); err != nil {
		cleanup()
		return "", noop, fmt.Errorf("%s is missing and downloading busybox-static failed (try apt-get update): %w", path, err)
	}
	debs, err := filepath.Glob(filepath.Join(dir, "busybox-static_*.deb"))
	if err != nil || len(debs) != 1 {
		cleanup()
		return "", noop, fmt.Errorf("apt-get download busybox-static: expected one .deb in %s, found %d", dir, len(debs))
	}
	tree := filepath.Join(dir, "x")
	if err := runQuiet(ctx, dir, "dpkg-deb", "-x", debs[0], tree); err != nil {
		cleanup()
		return "", noop, fmt.Errorf("unpacking %s: %w", debs[0], err)
	}
	bb := filepath.Join(tree, "bin", "busybox")
	if err := checkStatic(bb); err != nil {
		cleanup()
		return "", noop, err
	}
	return bb, cleanup, nil
}

// checkStatic rejects dynamically linked binaries: the rootfs has no libc.
func checkStatic(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("reading busybox %s: %w", path, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("busybox %s is dynamically linked; install busybox-static or pass -busybox", path)
		}
	}
	return nil
}

func runQuiet(ctx context.Context, dir, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

func copyFile(src, dst string, mode os.FileMode) (err error) {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := out.Close(); err == nil {
			err = cerr
		}
	}()
	_, err = io.Copy(out, in)
	return err
}

// benchSpec returns the config every runtime shares: what `runc spec`
// generates, made non-interactive, minus its /sys/fs/cgroup mount.
func benchSpec(rootfs string, args []string) *specs.Spec {
	caps := []string{"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"}
	return &specs.Spec{
		Version: bundleOCIVersion,
		Process: &specs.Process{
			Terminal: false,
			User:     specs.User{UID: 0, GID: 0},
			Args:     args,
			Env: []string{
				"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
				"TERM=xterm",
			},
			Cwd: "/",
			Capabilities: &specs.LinuxCapabilities{
				Bounding:  caps,
				Effective: caps,
				Permitted: caps,
				Ambient:   caps,
			},
			Rlimits:         []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Hard: 1024, Soft: 1024}},
			NoNewPrivileges: true,
		},
		Root:     &specs.Root{Path: rootfs, Readonly: true},
		Hostname: "bench",
		Mounts: []specs.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc"},
			{
				Destination: "/dev", Type: "tmpfs", Source: "tmpfs",
				Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"},
			},
			{
				Destination: "/dev/pts", Type: "devpts", Source: "devpts",
				Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"},
			},
			{
				Destination: "/dev/shm", Type: "tmpfs", Source: "shm",
				Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"},
			},
			{
				Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue",
				Options: []string{"nosuid", "noexec", "nodev"},
			},
			{
				Destination: "/sys", Type: "sysfs", Source: "sysfs",
				Options: []string{"nosuid", "noexec", "nodev", "ro"},
			},
		},
		Linux: &specs.Linux{
			Resources: &specs.LinuxResources{
				Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}},
			},
			Namespaces: []specs.LinuxNamespace{
				{Type: specs.PIDNamespace},
				{Type: specs.NetworkNamespace},
				{Type: specs.IPCNamespace},
				{Type: specs.UTSNamespace},
				{Type: specs.MountNamespace},
			},
			MaskedPaths: []string{
				"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
				"/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
				"/proc/sched_debug", "/sys/firmware", "/proc/scsi",
			},
			ReadonlyPaths: []string{
				"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
			},
		},
	}
}
