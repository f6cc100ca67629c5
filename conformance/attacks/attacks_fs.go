package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Filesystem escapes and host secrets. Secrets are world-readable files on
// the host (in the suite's directory, in the host's /tmp, beside the box's
// directory), so only the sandbox keeps them out; a read would put their
// content in the program's output, which the suite checks.
func fsAttacks() []*attack {
	return []*attack{
		{name: "fs-dotdot", what: "climb out of /box with chdir(..) x40, ../ paths, openat(/box, ../..), ../secret-beside-box", fn: func(c *ctx) {
			b := c.newBox()
			c.install(b, "fs_dotdot")
			r := c.iso(b, nil, append([]string{"./fs_dotdot"}, c.s.secretPaths()...)...)
			c.ran(r, "getcwd after 40x chdir(..)", "read "+c.s.secrets[0].path, "openat(/box,", "read ../secret-beside-box")
			c.clean(r)
			cwd, _ := line(r, "CWD ")
			c.resultf("cwd after climbing: %s; no secret read", cwd)
		}},
		{name: "fs-symlink", what: "symlinks to host files and /proc/1/root, read and write through them; plant in.txt/out.txt symlinks for the judge's next -i/-o", fn: func(c *ctx) {
			b := c.newBox()
			c.install(b, "fs_symlink")
			r := c.iso(b, []string{"--special-files"}, append([]string{"./fs_symlink"}, c.s.secretPaths()...)...)
			c.ran(r, "symlink link1", "read link1", "symlink in.txt")
			c.clean(r)
			// The judge's next run, keeping the planted symlinks: the
			// redirections must not follow them.
			r = c.iso(b, []string{"--special-files", "-i", "in.txt"}, "/bin/cat")
			if r.meta["status"] != "XX" {
				c.failf("-i through a planted symlink: report %v, want XX", r.meta)
			}
			// An output path is the program's own: the symlink is
			// replaced by the file, never written through.
			r = c.iso(b, []string{"--special-files", "-o", "out.txt"}, "/bin/echo", "overwritten")
			c.clean(r)
			if fi, err := os.Lstat(b.path("out.txt")); err != nil || !fi.Mode().IsRegular() {
				c.failf("-o through a planted symlink: out.txt is not a regular file (%v)", err)
			}
			// And without --special-files they are gone before the run.
			r = c.iso(b, []string{"-o", "out.txt"}, "/bin/echo", "fresh")
			c.clean(r)
			if l := symlinksUnder(b.path("")); len(l) > 0 {
				c.failf("symlinks survive a run without --special-files: %v", l)
			}
			if data, err := os.ReadFile(b.path("out.txt")); err != nil || string(data) != "fresh\n" {
				c.failf("out.txt after the run: %q %v", data, err)
			}
			c.resultf("-i through a planted symlink: XX; -o replaces it; symlinks removed after the run; secrets unchanged")
		}},
		{name: "fs-proc-root", what: "/proc/self/root, /proc/1/root, /proc/1/cwd, /proc/1/fd, /proc/1/environ, /proc/1/mem; open the judge init's exe for writing", fn: func(c *ctx) {
			b := c.newBox()
			c.install(b, "fs_procroot")
			r := c.iso(b, nil, append([]string{"./fs_procroot"}, c.s.secretPaths()...)...)
			c.ran(r, "readlink /proc/1/root", "open /proc/1/exe for writing", "open /proc/1/mem", "process_vm_readv(1)")
			c.clean(r)
			c.checkBox(b, true)
			c.resultf("init's root/exe/mem: %s/%s/%s; runtime binary unchanged", tried(r, "list /proc/1/root"), tried(r, "open /proc/1/exe for writing"), tried(r, "open /proc/1/mem"))
		}},
		{name: "fs-chroot", what: "chroot(/box/jail) keeping a fd of the old root, fchdir + chdir(..) x64 + chroot(.); a second chroot with cwd outside", fn: func(c *ctx) {
			b := c.newBox()
			c.install(b, "fs_chroot")
			r := c.iso(b, nil, append([]string{"./fs_chroot"}, c.s.secretPaths()...)...)
			c.ran(r, "chroot(/box/jail)", "chroot(.) after climbing")
			c.clean(r)
			c.resultf("chroot: %s; no secret read", tried(r, "chroot(/box/jail)"))
		}},
		{name: "fs-mount", what: "mount tmpfs/proc/sysfs/cgroup, bind /, remount ro mounts rw, umount /proc/sys and /box, pivot_root, fsopen/open_tree/move_mount, cgroup release_agent", fn: func(c *ctx) {
			b := c.newBox()
			c.install(b, "fs_mount")
			r := c.iso(b, nil, "./fs_mount")
			c.ran(r, "mount tmpfs on /box/m", "bind / on /box/m", "umount2 /proc/sys", "pivot_root(/box, /box/old)", "fsopen(tmpfs)", "open_tree(/, clone)", "mount cgroup (rdma) on /box/m")
			c.clean(r)
			c.resultf("every mount call refused (%s); no host mount, release_agent unchanged", tried(r, "mount tmpfs on /box/m"))
		}},
		{name: "fs-userns", what: "clone(NEWUSER|NEWNS) (unshare is blocked), then as root of the new user namespace: mount, umount, mknod, chroot escape, sethostname, setns", fn: func(c *ctx) {
			b := c.newBox()
			c.install(b, "fs_userns")
			r := c.iso(b, []string{"-p4"}, append([]string{"./fs_userns"}, c.s.secretPaths()...)...)
			c.ran(r, "clone(NEWUSER|NEWNS)", "clone3(NEWUSER)", "unshare(NEWUSER)")
			c.clean(r)
			if tried(r, "clone(NEWUSER|NEWNS)") == "ok" {
				c.ran(r, "mount tmpfs in userns", "mknod /box/mem c 1 1 in userns")
				c.resultf("user namespaces CAN be created (clone is not filtered); inside one: mount %s, mknod %s; no host effect",
					tried(r, "mount tmpfs in userns"), tried(r, "mknod /box/mem c 1 1 in userns"))
			} else {
				c.resultf("clone(NEWUSER): %s", tried(r, "clone(NEWUSER|NEWNS)"))
			}
		}},
		{name: "fs-write-outside", what: "create files in /, /bin, /usr, /lib, /proc, /dev, /box/.., /proc/1/root; open host binaries for writing; write core_pattern, modprobe, hostname, sysrq", fn: func(c *ctx) {
			b := c.newBox()
			c.install(b, "fs_write")
			r := c.iso(b, nil, "./fs_write", c.s.marker)
			c.ran(r, "create /"+c.s.marker, "create /usr/"+c.s.marker, "open host file /bin/sh for writing", "open /proc/sys/kernel/core_pattern for writing")
			c.clean(r)
			for _, p := range []string{filepath.Join(b.dir, c.s.marker), filepath.Join(b.dir, "root", c.s.marker)} {
				if fileExists(p) {
					c.failf("the program created %s, outside its box/", p)
				}
			}
			// The box's own places must work, and keep what is written.
			for _, p := range []string{b.path(c.s.marker), filepath.Join(b.dir, "tmp", "tmp", c.s.marker)} {
				if !fileExists(p) {
					c.failf("the program's write to its own box did not land at %s", p)
				}
			}
			c.resultf("outside: %s; /box and /tmp writable; host knobs unchanged", tried(r, "create /usr/"+c.s.marker))
		}},
		{name: "fs-devices", what: "mknod mem, kmsg and vda in /box, /tmp, /dev/shm, /dev; fifos and sockets; open /dev/mem, /dev/kmsg, /dev/vda, /dev/kvm, tty0, rtc, tun, fuse", fn: func(c *ctx) {
			b := c.newBox()
			c.install(b, "fs_devices")
			r := c.iso(b, nil, "./fs_devices")
			c.ran(r, "mknod /box/mem 1:1", "mknod /dev/shm/mem 1:1", "open /dev/mem", "open /dev/kvm")
			c.clean(r)
			c.checkBox(b, true)
			if l := specialFiles(b.path(""), false); len(l) > 0 {
				c.failf("fifos or sockets survive in box/ after the run: %v", l)
			}
			c.resultf("mknod: %s; host devices absent; no node in box, /tmp, /dev, /dev/shm", tried(r, "mknod /box/mem 1:1"))
		}},
		{name: "fs-setuid", what: "setuid(0), capset, ambient caps; exec a setuid-root binary the judge binds in; leave setuid/setgid files and a file capability for when box/ is root's again", fn: func(c *ctx) {
			s := c.s
			suid := filepath.Join(c.dir, "suidbin")
			rootdir := filepath.Join(c.dir, "rootdir")
			for _, d := range []string{suid, rootdir} {
				if err := os.MkdirAll(d, 0o755); err != nil {
					c.fatalf("%v", err)
				}
			}
			if err := copyFile(filepath.Join(s.progs, "suid_helper"), filepath.Join(suid, "helper"), 0o755); err != nil {
				c.fatalf("%v", err)
			}
			if err := os.Chmod(filepath.Join(suid, "helper"), 0o755|os.ModeSetuid); err != nil {
				c.fatalf("%v", err)
			}
			if fi, err := os.Stat(filepath.Join(suid, "helper")); err != nil || fi.Mode()&os.ModeSetuid == 0 {
				c.fatalf("the helper is not setuid: %v %v", fi.Mode(), err)
			}
			b := c.newBox()
			c.install(b, "fs_setuid")
			r := c.iso(b, []string{"-p2", "-d", "/suid=" + suid, "-d", "/rootdir=" + rootdir + ":rw"}, "./fs_setuid", "/suid/helper", "/rootdir", s.marker)
			c.ran(r, "setuid(0)", "capset(all)", "chmod /box/suidcopy 06755", "setxattr security.capability", "exec setuid-root helper")
			c.clean(r)
			euid, _ := line(r, "HELPER euid ")
			if strings.HasPrefix(euid, "0 ") {
				c.failf("the setuid-root helper ran with euid 0 in the box")
			}
			if entries, _ := os.ReadDir(rootdir); len(entries) > 0 {
				c.failf("files appeared in the root-owned directory: %v", entries)
			}
			// box/ is the caller's (root's) again: nothing in it may be
			// setuid, setgid or carry a file capability.
			_ = filepath.Walk(b.path(""), func(p string, fi os.FileInfo, err error) error {
				if err != nil || !fi.Mode().IsRegular() {
					return nil
				}
				if fi.Mode()&(os.ModeSetuid|os.ModeSetgid) != 0 {
					c.failf("%s is %v, owned by uid %d, after the run", p, fi.Mode(), fi.Sys().(*syscall.Stat_t).Uid)
				}
				if n, err := unix.Lgetxattr(p, "security.capability", make([]byte, 64)); err == nil && n > 0 {
					c.failf("%s has a file capability after the run", p)
				}
				return nil
			})
			c.resultf("helper ran with euid %s; no setuid, setgid or capability file left for root", strings.Fields(euid + " ?")[0])
		}},
		{name: "fs-hardlink", what: "hard links (link, linkat AT_SYMLINK_FOLLOW via /proc/self/fd, AT_EMPTY_PATH) to /bin/dash, passwd, su, libc, the init's exe; rename out of /box", fn: func(c *ctx) {
			b := c.newBox()
			c.install(b, "fs_hardlink")
			r := c.iso(b, nil, "./fs_hardlink")
			c.ran(r, "link /box/dash -> /bin/dash", "linkat /proc/self/fd/", "rename /box/mine -> /mine")
			c.clean(r)
			// No file of box/ may be a host file, which the judge's chown
			// of box/ would then hand over.
			host := map[[2]uint64]string{}
			for _, p := range []string{"/bin/dash", "/usr/bin/passwd", "/usr/bin/su", "/lib/x86_64-linux-gnu/libc.so.6", c.s.bin} {
				var st unix.Stat_t
				if unix.Stat(p, &st) == nil {
					host[[2]uint64{st.Dev, st.Ino}] = p
				}
			}
			_ = filepath.Walk(b.dir, func(p string, fi os.FileInfo, err error) error {
				if err == nil {
					st := fi.Sys().(*syscall.Stat_t)
					if h, ok := host[[2]uint64{st.Dev, st.Ino}]; ok {
						c.failf("%s is a hard link of the host's %s", p, h)
					}
				}
				return nil
			})
			c.resultf("links: %s; renames out: %s; host files' owners and links unchanged", tried(r, "link /box/dash -> /bin/dash"), tried(r, "rename /box/mine -> /mine"))
		}},
		{name: "fs-plant-symlinks", what: "plant symlinks to a root-owned host directory and file (and a loop, a mode-000 dir) for the judge's chown before/after runs and its --cleanup", fn: func(c *ctx) {
			s := c.s
			b := c.newBox()
			c.install(b, "fs_plant")
			file := filepath.Join(s.canary, "canary")
			r := c.iso(b, []string{"--special-files"}, "./fs_plant", s.canary, file)
			c.ran(r, "symlink victim-dir", "symlink d/e/victim-file", "chmod locked 000")
			c.clean(r)
			// Another run keeping them: the box is chowned to the box user
			// before and back to the caller after, around the symlinks.
			c.clean(c.iso(b, []string{"--special-files"}, "/bin/true"))
			c.clean(c.iso(b, nil, "/bin/true"))
			c.resultf("host directory and file keep owner, mode and content through 3 runs and --cleanup")
		}},
		{name: "fs-read-etc", what: "read /etc/shadow, gshadow, sudoers, ssh host keys with -d /etc (as Judge0 runs), a root-only file bound in, and its own environment", fn: func(c *ctx) {
			b := c.newBox()
			c.install(b, "fs_read")
			priv := filepath.Dir(c.s.secrets[2].path)
			r := c.iso(b, []string{"-d", "/etc:noexec", "-d", "/priv=" + priv},
				"./fs_read", "/etc/shadow", "/etc/gshadow", "/etc/sudoers", "/etc/ssh/ssh_host_ed25519_key", "/etc/ssh/ssh_host_rsa_key", "/priv/secret")
			c.ran(r, "read /etc/shadow", "read /priv/secret", "read /proc/self/environ")
			c.clean(r)
			if env, _ := line(r, "READ /proc/self/environ: "); env != "LIBC_FATAL_STDERR_=1" {
				c.failf("the program's environment is %q, want only LIBC_FATAL_STDERR_=1", env)
			}
			c.resultf("shadow: %s, root-only file: %s; environment empty", tried(r, "read /etc/shadow"), tried(r, "read /priv/secret"))
		}},
		{name: "fs-cross-box", what: "while another box runs, read its box/ and /tmp files by host path, ../ and /proc roots, and overwrite them", fn: func(c *ctx) {
			victim, attacker := c.newBox(), c.newBox()
			// Not one of the suite's leaks: the victim's own box holds it.
			data := "ATKOTHERBOX-" + c.s.token
			if err := writeTo(victim.path("data.txt"), data+"\n", 0o644); err != nil {
				c.fatalf("%v", err)
			}
			c.install(victim, "sleepy")
			c.install(attacker, "fs_dotdot")
			v, release := c.startHeld(victim, spec{opts: []string{"-w", "120"}, prog: []string{"./sleepy", "stdin"}})
			if !v.waitFor("AWAKE", 5*time.Second) {
				release()
				v.wait()
				c.fatalf("the victim box did not start")
			}
			content := func() string {
				d := fileDigest(victim.path("data.txt"))
				return d[strings.Index(d, "size"):]
			}
			before := content()
			targets := []string{victim.path("data.txt"), filepath.Join(victim.dir, "tmp", "tmp"), "/proc/1/root/box/data.txt"}
			r := c.iso(attacker, nil, append([]string{"./fs_dotdot"}, targets...)...)
			c.ran(r, "read "+victim.path("data.txt"))
			c.clean(r)
			w := c.iso(attacker, nil, "/bin/sh", "-c", `for p in "$@"; do if { echo pwned > "$p"; } 2>/dev/null; then echo "TRY overwrite $p: ok"; else echo "TRY overwrite $p: failed"; fi; done`,
				"sh", victim.path("data.txt"), "/proc/1/root/box/data.txt", "../../"+filepath.Base(victim.dir)+"/box/data.txt")
			c.ran(w, "overwrite "+victim.path("data.txt"))
			release()
			vr := v.wait()
			c.clean(vr)
			if after := content(); after != before {
				c.failf("the other box's file changed: %s -> %s", before, after)
			}
			if strings.Contains(r.stdout+r.stderr, data) {
				c.failf("the attacking box read the other box's file")
			}
			for _, f := range scanTree(attacker.dir, []string{data}) {
				c.failf("the attacking box holds the other box's data: %s", f)
			}
			c.resultf("the other box's files neither readable nor writable; it ran on undisturbed")
		}},
		{name: "fs-proc-info", what: "read /proc/net/unix, tcp, locks, mounts, keys, sysvipc, timer_list, sched_debug, kmsg, kcore, syslog(2): the host's sockets, locks, log", fn: func(c *ctx) {
			b := c.newBox()
			c.install(b, "fs_procinfo")
			r := c.iso(b, nil, "./fs_procinfo")
			c.ran(r, "read /proc/net/unix", "read /proc/locks", "read /proc/kcore", "syslog(READ_ALL)")
			c.clean(r)
			c.resultf("host's unix sockets, lock and kernel log not visible")
		}},
	}
}
