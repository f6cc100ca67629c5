package main

import (
	"crypto/rand"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// The hostile programs: C compiled statically, and shell and Python
// scripts run by the host's interpreters, which the default directory
// rules bind into every box.
//
//go:embed progs
var progsFS embed.FS

// Users and boxes of the suite's own. The uids are chosen away from
// isolate's defaults (60000) and the integration tests' (61000).
const (
	firstUID = 64400
	numBoxes = 90
	// ociUID runs the judged OCI containers; it is in the suite's range
	// but no box's.
	ociUID = firstUID + numBoxes + 5
)

type suite struct {
	opts      *options
	bin       string // the runtime under test
	dir       string // the suite's private directory
	stateRoot string // --root of every runtime call
	conf      string // the isolate configuration
	boxRoot   string
	cgParent  string
	progs     string // compiled programs
	token     string
	env       []string // environment of runtime calls

	secrets  []secret // host files a box must never read
	leaks    []string // strings that must never appear in a box's output
	markers  []string // host paths that must never come to exist
	marker   string   // the file name of markers
	watched  []string // host files whose content and attributes must not change
	canary   string   // a root-owned host directory planted symlinks point at
	lockInfo string   // how /proc/locks names the host's locked file
	lockFile *os.File

	ln      *listeners
	hostIPs []string
	ifaces  []string // the host's interfaces other than lo

	nextBox int
	nextOCI int
	// scan is how far sig_kill sweeps pids, with its limits.
	scan pidScan
	// rootfs is the template of the OCI containers' root filesystem.
	rootfs string
}

type secret struct{ path, content string }

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

func newSuite(o *options) (*suite, error) {
	bin, err := filepath.Abs(o.runtime)
	if err != nil {
		return nil, err
	}
	if fi, err := os.Stat(bin); err != nil || fi.Mode()&0o111 == 0 {
		return nil, fmt.Errorf("runtime %s is not an executable: %v", bin, err)
	}
	for _, tool := range []string{"gcc", "/bin/sh", "/usr/bin/python3", "/bin/busybox", "/bin/sleep"} {
		if _, err := exec.LookPath(tool); err != nil {
			return nil, fmt.Errorf("the suite needs %s: %w", tool, err)
		}
	}
	scan, err := measurePidScan()
	if err != nil {
		return nil, fmt.Errorf("measure the pid sweep: %w", err)
	}
	dir, err := os.MkdirTemp("", "mini-isolate-attacks-")
	if err != nil {
		return nil, err
	}
	// World-readable on purpose: only the sandbox, not file modes, may keep
	// the boxes from the suite's secrets.
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, err
	}
	s := &suite{
		opts: o, dir: dir,
		stateRoot: filepath.Join(dir, "state"),
		conf:      filepath.Join(dir, "isolate.conf"),
		boxRoot:   filepath.Join(dir, "boxes"),
		cgParent:  "mini-isolate-attacks-" + strconv.Itoa(os.Getpid()),
		token:     randomHex(8),
		scan:      scan,
	}
	ok := false
	defer func() {
		if !ok {
			s.close()
		}
	}()
	conf := fmt.Sprintf("# mini-isolate attack suite\nbox_root = %s\nlock_root = %s\ncg_parent = %s\nfirst_uid = %d\nfirst_gid = %d\nnum_boxes = %d\n",
		s.boxRoot, filepath.Join(dir, "locks"), s.cgParent, firstUID, firstUID, numBoxes)
	if err := os.WriteFile(s.conf, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	// A copy of the runtime: the suite watches its binary for changes, and
	// a rebuild while the suite runs must not count as one.
	s.bin = filepath.Join(dir, "mini-isolate")
	if err := copyFile(bin, s.bin, 0o755); err != nil {
		return nil, err
	}
	s.env = append(os.Environ(), "MINI_ISOLATE_CONFIG="+s.conf, "ATK_HOST_SECRET="+s.leak("env"))
	if err := s.compile(); err != nil {
		return nil, err
	}
	if err := s.plantSecrets(); err != nil {
		return nil, err
	}
	if s.ln, err = startListeners(s); err != nil {
		return nil, err
	}
	s.hostIPs, s.ifaces = hostAddrs()
	if err := s.buildRootfs(); err != nil {
		return nil, err
	}
	ok = true
	return s, nil
}

// leak returns a fresh secret string and remembers it: it must never show
// in anything a box produces.
func (s *suite) leak(what string) string {
	v := "ATKSECRET-" + s.token + "-" + what
	s.leaks = append(s.leaks, v)
	return v
}

// compile builds the C programs (two at a time) and copies the scripts.
func (s *suite) compile() error {
	s.progs = filepath.Join(s.dir, "progs")
	src := filepath.Join(s.dir, "src")
	for _, d := range []string{s.progs, src} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	entries, err := progsFS.ReadDir("progs")
	if err != nil {
		return err
	}
	var cs []string
	for _, e := range entries {
		data, err := progsFS.ReadFile("progs/" + e.Name())
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(src, e.Name()), data, 0o644); err != nil {
			return err
		}
		switch filepath.Ext(e.Name()) {
		case ".c":
			cs = append(cs, e.Name())
		case ".sh", ".py":
			if err := os.WriteFile(filepath.Join(s.progs, e.Name()), data, 0o755); err != nil {
				return err
			}
		}
	}
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
		sem  = make(chan struct{}, 2)
	)
	for _, name := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			out := filepath.Join(s.progs, strings.TrimSuffix(name, ".c"))
			cmd := exec.Command("gcc", "-O2", "-static", "-pthread", "-w", "-I", src, "-o", out, filepath.Join(src, name))
			if msg, err := cmd.CombinedOutput(); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("compile %s: %v\n%s", name, err, msg))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// plantSecrets puts secrets, canaries and a held lock on the host.
func (s *suite) plantSecrets() error {
	s.marker = "atk-marker-" + s.token
	write := func(path, content string, mode os.FileMode) error {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, []byte(content), mode); err != nil {
			return err
		}
		return os.Chmod(path, mode)
	}
	// World-readable secrets in the suite's directory and in the host's
	// /tmp (the boxes' /tmp is another directory), and a root-only one.
	for _, sc := range []secret{
		{filepath.Join(s.dir, "host-secret"), s.leak("host") + "\n"},
		{fmt.Sprintf("/tmp/mini-isolate-attacks-secret-%d", os.Getpid()), s.leak("tmp") + "\n"},
		{filepath.Join(s.dir, "private", "secret"), s.leak("private") + "\n"},
	} {
		mode := os.FileMode(0o644)
		if strings.Contains(sc.path, "private") {
			mode = 0o600
		}
		if err := write(sc.path, sc.content, mode); err != nil {
			return err
		}
		s.secrets = append(s.secrets, sc)
		s.watched = append(s.watched, sc.path)
	}
	// The host's own secrets, read only to know what a leak would look like.
	if data, err := os.ReadFile("/etc/shadow"); err == nil {
		for _, l := range strings.Split(string(data), "\n") {
			if f := strings.SplitN(l, ":", 3); len(f) == 3 && len(f[1]) > 2 {
				s.leaks = append(s.leaks, f[0]+":"+f[1])
			}
		}
	}
	if keys, _ := filepath.Glob("/etc/ssh/ssh_host_*_key"); len(keys) > 0 {
		for _, k := range keys {
			data, err := os.ReadFile(k)
			if err != nil {
				continue
			}
			lines := strings.Split(string(data), "\n")
			if len(lines) > 2 && len(lines[1]) > 20 {
				s.leaks = append(s.leaks, lines[1])
			}
		}
	}
	// The kernel log, which boxes must not read.
	if f, err := os.OpenFile("/dev/kmsg", os.O_WRONLY, 0); err == nil {
		fmt.Fprintf(f, "mini-isolate attack suite canary %s\n", s.leak("kmsg"))
		f.Close()
	}
	// A root-owned directory and file that planted symlinks point at.
	s.canary = filepath.Join(s.dir, "canary-dir")
	if err := write(filepath.Join(s.canary, "canary"), "canary\n", 0o644); err != nil {
		return err
	}
	s.watched = append(s.watched, s.canary, filepath.Join(s.canary, "canary"))
	// A lock the host holds: /proc/locks in a box must not show it.
	lockPath := filepath.Join(s.dir, "locked")
	f, err := os.Create(lockPath)
	if err != nil {
		return err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		return err
	}
	s.lockFile = f
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return err
	}
	s.lockInfo = fmt.Sprintf("%02x:%02x:%d ", unix.Major(st.Dev), unix.Minor(st.Dev), st.Ino)
	// Host binaries and the runtime itself.
	s.watched = append(s.watched, s.bin, "/bin/dash", "/bin/busybox", "/usr/bin/passwd", "/usr/bin/su", "/usr/bin/python3.11")
	// Where a write outside a box would land.
	for _, d := range []string{"/", "/bin", "/usr", "/usr/bin", "/lib", "/tmp", "/etc", "/root", "/dev", "/dev/shm", "/run", "/proc", s.dir, s.boxRoot} {
		s.markers = append(s.markers, filepath.Join(d, s.marker))
	}
	return nil
}

// secretPaths are the host paths of the secrets, as attacks get them.
func (s *suite) secretPaths() []string {
	var p []string
	for _, sc := range s.secrets {
		p = append(p, sc.path)
	}
	return append(p, "/etc/shadow")
}

func hostAddrs() (ips, ifaces []string) {
	list, _ := net.Interfaces()
	for _, i := range list {
		if i.Flags&net.FlagLoopback != 0 {
			continue
		}
		ifaces = append(ifaces, i.Name)
		addrs, _ := i.Addrs()
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && !n.IP.IsLinkLocalUnicast() {
				ips = append(ips, n.IP.String())
			}
		}
	}
	return ips, ifaces
}

// buildRootfs makes the template root filesystem of the OCI containers: a
// static busybox and the programs.
func (s *suite) buildRootfs() error {
	s.rootfs = filepath.Join(s.dir, "rootfs")
	for _, d := range []string{"bin", "proc", "dev", "sys", "tmp", "box", "etc"} {
		if err := os.MkdirAll(filepath.Join(s.rootfs, d), 0o755); err != nil {
			return err
		}
	}
	if err := copyFile("/bin/busybox", filepath.Join(s.rootfs, "bin", "busybox"), 0o755); err != nil {
		return err
	}
	for _, a := range []string{"sh", "true", "cat", "ls", "sleep", "echo", "id"} {
		if err := os.Symlink("busybox", filepath.Join(s.rootfs, "bin", a)); err != nil {
			return err
		}
	}
	entries, err := os.ReadDir(s.progs)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := copyFile(filepath.Join(s.progs, e.Name()), filepath.Join(s.rootfs, "bin", e.Name()), 0o755); err != nil {
			return err
		}
	}
	return os.WriteFile(filepath.Join(s.rootfs, "etc", "passwd"), []byte("root:x:0:0::/:/bin/sh\n"), 0o644)
}

func copyFile(src, dst string, mode os.FileMode) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if err := os.WriteFile(dst, data, mode); err != nil {
		return err
	}
	return os.Chmod(dst, mode)
}

// close removes everything the suite made and reports what it could not
// remove, or what it found left behind by the runtime.
func (s *suite) close() []string {
	var left []string
	if s.ln != nil {
		s.ln.close()
	}
	if s.lockFile != nil {
		s.lockFile.Close()
	}
	// Boxes: every attack cleans up its own; anything still there is a
	// leftover of the runtime (or of an interrupted attack).
	if s.stateRoot != "" {
		if out, err := exec.Command(s.bin, "--root", s.stateRoot, "list", "-q").Output(); err == nil {
			for _, id := range strings.Fields(string(out)) {
				left = append(left, "container "+id+" still exists after its cleanup")
				_ = exec.Command(s.bin, "--root", s.stateRoot, "delete", "--force", id).Run()
			}
		}
	}
	for uid := firstUID; uid <= ociUID; uid++ {
		for _, p := range processesOf(uid) {
			left = append(left, fmt.Sprintf("process %d (%s) of uid %d survives", p.pid, p.comm, uid))
			_ = unix.Kill(p.pid, unix.SIGKILL)
		}
	}
	if s.cgParent != "" {
		for _, mp := range cgroupMounts() {
			d := filepath.Join(mp, s.cgParent)
			if _, err := os.Stat(d); err != nil {
				continue
			}
			// The parent stays by design; children would be leftovers.
			subs, _ := os.ReadDir(d)
			for _, e := range subs {
				if e.IsDir() {
					left = append(left, "cgroup "+filepath.Join(d, e.Name())+" left behind")
					_ = unix.Rmdir(filepath.Join(d, e.Name()))
				}
			}
			_ = unix.Rmdir(d)
		}
	}
	if s.dir != "" {
		for _, m := range mountsUnder(s.dir) {
			left = append(left, "mount "+m+" left in the host's namespace")
			_ = unix.Unmount(m, unix.MNT_DETACH)
		}
		for _, sc := range s.secrets {
			if strings.HasPrefix(sc.path, "/tmp/mini-isolate-attacks-secret-") {
				os.Remove(sc.path)
			}
		}
		if s.opts.keep {
			progress("kept %s", s.dir)
		} else if err := os.RemoveAll(s.dir); err != nil {
			left = append(left, fmt.Sprintf("cannot remove the suite's directory: %v", err))
		}
	}
	return left
}

// listeners are the host's services a box must not reach: TCP and UDP on
// every address, an abstract unix socket (abstract names belong to the
// network namespace) and a path one. The hidden ones are never named to
// the boxes: their names must not show in a box's /proc/net/unix.
type listeners struct {
	mu      sync.Mutex
	hits    []string
	port    int
	name    string // abstract name, without the @
	path    string
	closers []func() error
}

func startListeners(s *suite) (*listeners, error) {
	l := &listeners{name: "mini-isolate-attacks-" + s.token, path: filepath.Join(s.dir, "host.sock")}
	hit := func(what string) {
		l.mu.Lock()
		l.hits = append(l.hits, what)
		l.mu.Unlock()
	}
	serve := func(ln net.Listener, what string) {
		l.closers = append(l.closers, ln.Close)
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				hit(what + " from " + c.RemoteAddr().String())
				c.Close()
			}
		}()
	}
	tcp, err := net.Listen("tcp", ":0")
	if err != nil {
		return nil, err
	}
	l.port = tcp.Addr().(*net.TCPAddr).Port
	serve(tcp, fmt.Sprintf("tcp port %d", l.port))
	if udp, err := net.ListenPacket("udp", fmt.Sprintf(":%d", l.port)); err == nil {
		l.closers = append(l.closers, udp.Close)
		go func() {
			buf := make([]byte, 512)
			for {
				_, from, err := udp.ReadFrom(buf)
				if err != nil {
					return
				}
				hit(fmt.Sprintf("udp port %d from %v", l.port, from))
			}
		}()
	}
	for _, name := range []string{"@" + l.name, "@mini-isolate-attacks-hidden-" + s.token, l.path, filepath.Join(s.dir, "hidden-"+s.token+".sock")} {
		u, err := net.Listen("unix", name)
		if err != nil {
			return nil, err
		}
		if !strings.HasPrefix(name, "@") {
			_ = os.Chmod(name, 0o777)
		}
		serve(u, "unix socket "+name)
	}
	s.leaks = append(s.leaks, "mini-isolate-attacks-hidden-"+s.token, "hidden-"+s.token+".sock")
	return l, nil
}

func (l *listeners) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.hits)
}

func (l *listeners) since(n int) []string {
	// Connections are accepted asynchronously: give late ones a moment.
	time.Sleep(20 * time.Millisecond)
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.hits[n:]...)
}

func (l *listeners) close() {
	for _, c := range l.closers {
		_ = c()
	}
}
