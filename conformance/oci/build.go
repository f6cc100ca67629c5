package main

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"
)

const (
	suiteModule = "github.com/opencontainers/runtime-tools"
	// defaultSuiteVersion is upstream master of 2025-03-03 (runtime-spec
	// 1.1.0); see README.md for why not a newer one.
	defaultSuiteVersion = "v0.9.1-0.20250303011046-260e151b8552"
	completeStamp       = ".complete"
	runtimetestName     = "runtimetest"
)

// Suite is a built validation suite.
type Suite struct {
	Dir         string   // holds every program and runtimetest
	Programs    []string // sorted names of the test programs
	Runtimetest string
}

func goTool() (string, error) {
	if p, err := exec.LookPath("go"); err == nil {
		return p, nil
	}
	const fallback = "/usr/local/go/bin/go"
	if _, err := os.Stat(fallback); err == nil {
		return fallback, nil
	}
	return "", errors.New("no go toolchain in PATH or at /usr/local/go/bin/go")
}

// loadSuite returns the cached build in dir if every program listed in its
// stamp file is present.
func loadSuite(dir string) (*Suite, bool) {
	data, err := os.ReadFile(filepath.Join(dir, completeStamp))
	if err != nil {
		return nil, false
	}
	s := &Suite{Dir: dir, Runtimetest: filepath.Join(dir, runtimetestName)}
	s.Programs = strings.Fields(string(data))
	if len(s.Programs) == 0 {
		return nil, false
	}
	for _, name := range append(slices.Clone(s.Programs), runtimetestName) {
		if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || !fi.Mode().IsRegular() || fi.Size() == 0 {
			return nil, false
		}
	}
	slices.Sort(s.Programs)
	return s, true
}

// BuildSuite builds the validation programs and runtimetest from the Go
// module proxy into cacheDir, or reuses a complete earlier build.
func BuildSuite(ctx context.Context, cacheDir, version string) (*Suite, error) {
	binDir := filepath.Join(cacheDir, "bin")
	if s, ok := loadSuite(binDir); ok {
		progress("suite %s: cached in %s (%d programs)", version, binDir, len(s.Programs))
		return s, nil
	}
	gobin, err := goTool()
	if err != nil {
		return nil, err
	}
	modDir := filepath.Join(cacheDir, "mod")
	if err := os.MkdirAll(modDir, 0o755); err != nil {
		return nil, fmt.Errorf("create module dir: %w", err)
	}
	if err := os.RemoveAll(binDir); err != nil {
		return nil, fmt.Errorf("remove incomplete build: %w", err)
	}
	gomod := fmt.Sprintf("// Throw-away module that builds the OCI validation suite.\nmodule mini-isolate.invalid/ocivalidation\n\ngo 1.22\n\nrequire %s %s\n", suiteModule, version)
	if err := os.WriteFile(filepath.Join(modDir, "go.mod"), []byte(gomod), 0o644); err != nil {
		return nil, fmt.Errorf("write go.mod: %w", err)
	}
	// A stale go.sum from another version would only add noise.
	if err := os.Remove(filepath.Join(modDir, "go.sum")); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("remove go.sum: %w", err)
	}
	env := append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod", "GOTOOLCHAIN=local")

	progress("suite %s: building from the Go module proxy into %s (about a minute the first time)", version, binDir)
	start := time.Now()
	out, err := runTool(ctx, modDir, env, gobin, "list", "-f", `{{if eq .Name "main"}}{{.ImportPath}}{{end}}`, suiteModule+"/validation/...")
	if err != nil {
		return nil, fmt.Errorf("list validation programs: %w", err)
	}
	var pkgs, names []string
	for _, l := range strings.Fields(string(out)) {
		pkgs = append(pkgs, l)
		names = append(names, filepath.Base(l))
	}
	if len(pkgs) == 0 {
		return nil, fmt.Errorf("no main package under %s/validation at %s", suiteModule, version)
	}
	if err := os.MkdirAll(binDir, 0o755); err != nil {
		return nil, fmt.Errorf("create bin dir: %w", err)
	}
	args := append([]string{"build", "-o", binDir + string(os.PathSeparator)}, pkgs...)
	if _, err := runTool(ctx, modDir, env, gobin, args...); err != nil {
		return nil, fmt.Errorf("build validation programs: %w", err)
	}
	rtEnv := append(slices.Clone(env), "CGO_ENABLED=0")
	if _, err := runTool(ctx, modDir, rtEnv, gobin, "build", "-tags", "netgo osusergo", "-o", filepath.Join(binDir, runtimetestName), suiteModule+"/cmd/runtimetest"); err != nil {
		return nil, fmt.Errorf("build runtimetest: %w", err)
	}
	if dyn, err := isDynamic(filepath.Join(binDir, runtimetestName)); err != nil {
		return nil, err
	} else if dyn {
		return nil, errors.New("runtimetest was linked dynamically although CGO_ENABLED=0")
	}
	slices.Sort(names)
	if err := os.WriteFile(filepath.Join(binDir, completeStamp), []byte(strings.Join(names, "\n")+"\n"), 0o644); err != nil {
		return nil, fmt.Errorf("write build stamp: %w", err)
	}
	s, ok := loadSuite(binDir)
	if !ok {
		return nil, fmt.Errorf("suite build in %s is incomplete after building", binDir)
	}
	progress("suite %s: built %d programs and runtimetest in %s", version, len(s.Programs), time.Since(start).Round(time.Second))
	return s, nil
}

// runTool runs a helper command and returns its stdout; on failure the
// error carries the end of its output.
func runTool(ctx context.Context, dir string, env []string, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		msg := tailLines(append(stderr.Bytes(), stdout.Bytes()...), 15)
		return nil, fmt.Errorf("%s %s: %w\n%s", filepath.Base(name), strings.Join(args, " "), err, strings.Join(msg, "\n"))
	}
	return stdout.Bytes(), nil
}

// isDynamic reports whether an ELF binary asks for a program interpreter.
func isDynamic(path string) (bool, error) {
	f, err := elf.Open(path)
	if err != nil {
		return false, fmt.Errorf("read ELF %s: %w", path, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return true, nil
		}
	}
	return false, nil
}

// RootfsName is the tarball the suite unpacks into each bundle.
func RootfsName() string { return fmt.Sprintf("rootfs-%s.tar.gz", runtime.GOARCH) }

// BuildRootfs makes the bundle rootfs tarball from Debian's busybox-static
// in cacheDir, or reuses an earlier one.
func BuildRootfs(ctx context.Context, cacheDir string) (string, error) {
	dst := filepath.Join(cacheDir, RootfsName())
	if fi, err := os.Stat(dst); err == nil && fi.Size() > 0 {
		progress("rootfs: cached at %s", dst)
		return dst, nil
	}
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return "", fmt.Errorf("create cache dir: %w", err)
	}
	tmp, err := os.MkdirTemp("", "oci-rootfs-")
	if err != nil {
		return "", fmt.Errorf("create temp dir: %w", err)
	}
	defer os.RemoveAll(tmp)
	busybox, origin, err := fetchBusybox(ctx, tmp)
	if err != nil {
		return "", err
	}
	out, err := runTool(ctx, tmp, os.Environ(), busybox, "--list")
	if err != nil {
		return "", fmt.Errorf("list busybox applets: %w", err)
	}
	var applets []string
	for _, a := range strings.Fields(string(out)) {
		if a != "busybox" && !strings.ContainsAny(a, "/") {
			applets = append(applets, a)
		}
	}
	slices.Sort(applets)
	if !slices.Contains(applets, "sh") {
		return "", fmt.Errorf("busybox from %s has no sh applet", origin)
	}
	part := dst + ".part"
	if err := writeRootfs(part, busybox, applets); err != nil {
		os.Remove(part)
		return "", err
	}
	if err := os.Rename(part, dst); err != nil {
		return "", fmt.Errorf("install rootfs tarball: %w", err)
	}
	progress("rootfs: built %s from %s (%d applets)", dst, origin, len(applets))
	return dst, nil
}

// fetchBusybox downloads and unpacks busybox-static without installing it,
// falling back to the host's busybox when that one is static.
func fetchBusybox(ctx context.Context, tmp string) (path, origin string, err error) {
	dlErr := func() error {
		if _, err := runTool(ctx, tmp, os.Environ(), "apt-get", "download", "busybox-static"); err != nil {
			// A fresh machine may have no package lists yet.
			if _, uerr := runTool(ctx, "/", os.Environ(), "apt-get", "-o", "DPkg::Lock::Timeout=600", "update"); uerr != nil {
				return fmt.Errorf("apt-get download busybox-static: %w (apt-get update: %w)", err, uerr)
			}
			if _, err := runTool(ctx, tmp, os.Environ(), "apt-get", "download", "busybox-static"); err != nil {
				return fmt.Errorf("apt-get download busybox-static: %w", err)
			}
		}
		debs, _ := filepath.Glob(filepath.Join(tmp, "busybox-static_*.deb"))
		if len(debs) != 1 {
			return fmt.Errorf("apt-get download busybox-static left %d .deb files", len(debs))
		}
		x := filepath.Join(tmp, "x")
		if _, err := runTool(ctx, tmp, os.Environ(), "dpkg-deb", "-x", debs[0], x); err != nil {
			return fmt.Errorf("unpack %s: %w", filepath.Base(debs[0]), err)
		}
		origin = filepath.Base(debs[0])
		path = filepath.Join(x, "bin", "busybox")
		return nil
	}()
	if dlErr == nil {
		if dyn, err := isDynamic(path); err != nil {
			dlErr = err
		} else if dyn {
			dlErr = fmt.Errorf("%s: busybox is not static", origin)
		} else {
			return path, origin, nil
		}
	}
	progress("rootfs: %v; trying the installed /bin/busybox", dlErr)
	const host = "/bin/busybox"
	dyn, err := isDynamic(host)
	if err != nil {
		return "", "", fmt.Errorf("no usable busybox: %w (after: %w)", err, dlErr)
	}
	if dyn {
		return "", "", fmt.Errorf("no usable busybox: %s is dynamically linked (after: %w)", host, dlErr)
	}
	return host, host, nil
}

// writeRootfs lays out upstream's rootfs: /bin/busybox with a symlink per
// applet, empty /dev /proc /sys, and a minimal /etc/passwd and /etc/group.
func writeRootfs(dst, busybox string, applets []string) (err error) {
	bin, err := os.ReadFile(busybox)
	if err != nil {
		return fmt.Errorf("read busybox: %w", err)
	}
	f, err := os.OpenFile(dst, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("create rootfs tarball: %w", err)
	}
	defer func() {
		if cerr := f.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("close rootfs tarball: %w", cerr)
		}
	}()
	bw := bufio.NewWriter(f)
	gz := gzip.NewWriter(bw)
	tw := tar.NewWriter(gz)
	mtime := time.Unix(0, 0)
	hdr := func(name string, typ byte, mode int64, size int64, link string) *tar.Header {
		return &tar.Header{Name: name, Typeflag: typ, Mode: mode, Size: size, Linkname: link,
			ModTime: mtime, Uname: "root", Gname: "root", Format: tar.FormatUSTAR}
	}
	files := []struct {
		name string
		body string
	}{
		{"./etc/passwd", "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"},
		{"./etc/group", "root:x:0:\nnobody:x:65534:\n"},
	}
	write := func(h *tar.Header, body []byte) error {
		if err := tw.WriteHeader(h); err != nil {
			return fmt.Errorf("tar %s: %w", h.Name, err)
		}
		if len(body) > 0 {
			if _, err := tw.Write(body); err != nil {
				return fmt.Errorf("tar %s: %w", h.Name, err)
			}
		}
		return nil
	}
	for _, d := range []string{"./", "./bin/", "./dev/", "./etc/", "./proc/", "./sys/"} {
		if err := write(hdr(d, tar.TypeDir, 0o755, 0, ""), nil); err != nil {
			return err
		}
	}
	if err := write(hdr("./bin/busybox", tar.TypeReg, 0o755, int64(len(bin)), ""), bin); err != nil {
		return err
	}
	for _, a := range applets {
		if err := write(hdr("./bin/"+a, tar.TypeSymlink, 0o777, 0, "busybox"), nil); err != nil {
			return err
		}
	}
	for _, fl := range files {
		if err := write(hdr(fl.name, tar.TypeReg, 0o644, int64(len(fl.body)), ""), []byte(fl.body)); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("finish tar: %w", err)
	}
	if err := gz.Close(); err != nil {
		return fmt.Errorf("finish gzip: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write rootfs tarball: %w", err)
	}
	return nil
}

// ResolveRuntime turns a runtime name or path into an absolute path,
// installing Debian's runc when "runc" is asked for and missing.
func ResolveRuntime(ctx context.Context, name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return filepath.Abs(p)
	}
	if name != "runc" && name != "/usr/sbin/runc" {
		return "", fmt.Errorf("runtime %q not found or not executable", name)
	}
	if _, err := exec.LookPath("/usr/sbin/runc"); err == nil {
		return "/usr/sbin/runc", nil // PATH may lack /usr/sbin
	}
	progress("runc not found: installing Debian's runc with apt-get")
	env := append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	install := []string{"-o", "DPkg::Lock::Timeout=600", "install", "-y", "--no-install-recommends", "runc"}
	if _, err := runTool(ctx, "/", env, "apt-get", install...); err != nil {
		// The package lists may be missing or stale on a fresh machine.
		if _, uerr := runTool(ctx, "/", env, "apt-get", "-o", "DPkg::Lock::Timeout=600", "update"); uerr != nil {
			return "", fmt.Errorf("apt-get update: %w (after install failed: %w)", uerr, err)
		}
		if _, err := runTool(ctx, "/", env, "apt-get", install...); err != nil {
			return "", fmt.Errorf("install runc: %w", err)
		}
	}
	for _, p := range []string{"/usr/sbin/runc", "/usr/bin/runc"} {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", errors.New("runc still not found after installing it")
}

// tailLines returns the last n non-empty lines of b.
func tailLines(b []byte, n int) []string {
	var lines []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimRight(l, "\r \t"); l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return lines
}

// copyFile copies src to dst with the given mode.
func copyFile(src, dst string, mode os.FileMode) (err error) {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("open %s: %w", src, err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, mode)
	if err != nil {
		return fmt.Errorf("create %s: %w", dst, err)
	}
	defer func() {
		if cerr := out.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("close %s: %w", dst, cerr)
		}
	}()
	if _, err := io.Copy(out, in); err != nil {
		return fmt.Errorf("copy %s: %w", src, err)
	}
	return nil
}
