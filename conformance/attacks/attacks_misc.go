package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Outliving the run, host settings, channels between boxes, leftovers.
func miscAttacks() []*attack {
	daemon := func(mode string, opts []string, wantStatus string, what string) *attack {
		return &attack{name: "daemon-" + mode, what: what, fn: func(c *ctx) {
			b := c.newBox()
			c.install(b, "daemon")
			marker := "daemon-" + c.s.token
			began := time.Now()
			r := c.iso(b, opts, "./daemon", mode, marker)
			took := time.Since(began)
			if wantStatus == "" {
				c.clean(r)
			} else {
				c.expectMeta(r, map[string]string{"status": wantStatus, "killed": "1"})
			}
			c.checkBox(b, true)
			// The daemon would act 1.5 s after it started.
			time.Sleep(1800 * time.Millisecond)
			if fileExists(b.path(marker)) {
				c.failf("the daemon was alive after its run ended: it created %s", b.path(marker))
			}
			c.checkBox(b, true)
			if wantStatus != "" && took > 5*time.Second+slack(time.Second) {
				c.failf("the run took %v", took)
			}
			c.resultf("%s after %.1fs; no process of the box survived (checked again 1.8 s later)", or(r.meta["status"], "OK"), took.Seconds())
		}}
	}
	return []*attack{
		daemon("setsid", []string{"-p3"}, "", "double fork + setsid, daemon ignores every signal, renames itself kworker/0:1, acts 1.5 s after the run"),
		daemon("timeout", []string{"-p4", "-t", "0.5", "-w", "5"}, "TO", "ignore every catchable signal and spin in 3 processes past -t 0.5"),
		daemon("wall", []string{"-w", "1"}, "TO", "block every signal and sleep past -w 1"),
		daemon("stopped", []string{"-p4"}, "", "leave a SIGSTOPped child and a vfork child that never execs, then exit 0"),
		daemon("pidns", []string{"-p5"}, "", "hide as PID 1 of a nested PID namespace (clone NEWUSER|NEWPID) with a child, then exit 0"),

		{name: "hostname", what: "sethostname, setdomainname, write /proc/sys/kernel/hostname and domainname", fn: func(c *ctx) {
			b := c.newBox()
			c.install(b, "hostname")
			r := c.iso(b, nil, "./hostname")
			c.ran(r, "sethostname(atk-pwned)", "setdomainname(atk-pwned)", "open /proc/sys/kernel/hostname")
			c.clean(r)
			after, _ := line(r, "UNAME after: ")
			if !strings.HasPrefix(after, b.name()+" ") {
				c.failf("the box's name after the attempts is %q, want %s", after, b.name())
			}
			h, _ := os.Hostname()
			c.resultf("sethostname: %s; host still %q, box still %s", tried(r, "sethostname(atk-pwned)"), h, b.name())
		}},
		{name: "clock", what: "settimeofday(+3 days), clock_settime(-3 days), adjtimex(+500 ppm), clock_adjtime(+1 h), /dev/rtc0, a time namespace", fn: func(c *ctx) {
			b := c.newBox()
			c.install(b, "clock")
			r := c.iso(b, nil, "./clock")
			c.ran(r, "settimeofday(+3 days)", "clock_settime(REALTIME, -3 days)", "adjtimex(freq +500ppm)", "clock_adjtime(REALTIME, +1h)")
			c.clean(r)
			c.resultf("settimeofday: %s; host clock and frequency unchanged", tried(r, "settimeofday(+3 days)"))
		}},
		{name: "kernel-modules", what: "init_module, finit_module, delete_module(ext4); autoload through socket() of families 0-45 and TIOCSETD; request_key", fn: func(c *ctx) {
			b := c.newBox()
			c.install(b, "modules")
			r := c.iso(b, nil, "./modules")
			c.ran(r, "init_module(garbage)", "finit_module(self)", "delete_module(ext4)", "socket() for families 0..45")
			c.clean(r)
			mods := "unchanged"
			if _, err := os.Stat("/proc/modules"); err != nil {
				mods = "absent (no module support), still absent"
			}
			c.resultf("init_module: %s; /proc/modules %s", tried(r, "init_module(garbage)"), mods)
		}},
		{name: "privileged-calls", what: "reboot, swapon, acct, kexec_load, syslog, iopl/ioperm, bpf, perf_event_open, quotactl, vhangup, fanotify, open_by_handle_at (shocker), setns", fn: func(c *ctx) {
			b := c.newBox()
			c.install(b, "privcalls")
			r := c.iso(b, nil, "./privcalls", "/box/acct")
			c.ran(r, "reboot(bad magic)", "acct(file)", "open_by_handle_at(inode 2)", "bpf(PROG_LOAD)", "syslog(READ_ALL)")
			c.clean(r)
			// Process accounting would write a record for every process
			// that exits: run one more and look at the file.
			c.clean(c.iso(b, nil, "/bin/true"))
			if fi, err := os.Stat(b.path("acct")); err == nil && fi.Size() > 0 {
				c.failf("process accounting writes to the box's file (%d bytes)", fi.Size())
			}
			c.resultf("every call refused (acct: %s, open_by_handle_at: %s)", tried(r, "acct(file)"), tried(r, "open_by_handle_at(inode 2)"))
		}},

		{name: "keyring-cross-box", what: "store a secret in the user and session keyrings (per uid, not per namespace); read it from another box at once, and from the next run", fn: func(c *ctx) {
			a, b := c.newBox(), c.newBox()
			c.install(a, "keyring")
			c.install(b, "keyring")
			secret := c.s.leak("keyring")
			put, release := c.startHeld(a, spec{opts: []string{"-w", "120"}, prog: []string{"./keyring", "put", secret, "stdin"}})
			if !put.waitFor("PUT", 5*time.Second) {
				release()
				put.wait()
				c.fatalf("the first box did not start")
			}
			rb := c.iso(b, nil, "./keyring", "get")
			release()
			r := put.wait()
			c.ran(r, "add_key(user, @u)")
			c.clean(r)
			ra := c.iso(a, nil, "./keyring", "get")
			c.ran(rb, "keyctl search @u")
			c.ran(ra, "keyctl search @u")
			c.resultf("add_key: %s; neither the other box nor the next run finds the key", tried(r, "add_key(user, @u)"))
		}},
		{name: "locks-cross-box", what: "two boxes share a read-only directory: one takes flock, POSIX, OFD locks and a lease; the other probes with F_GETLK, F_OFD_GETLK, flock, /proc/locks", fn: func(c *ctx) {
			shared := filepath.Join(c.dir, "shared")
			if err := writeTo(filepath.Join(shared, "data"), "shared test data\n", 0o644); err != nil {
				c.fatalf("%v", err)
			}
			var st syscall.Stat_t
			_ = syscall.Stat(filepath.Join(shared, "data"), &st)
			a, b := c.newBox(), c.newBox()
			c.install(a, "locks")
			c.install(b, "locks")
			rule := "/shared=" + shared
			holder, release := c.startHeld(a, spec{opts: []string{"-d", rule, "-w", "120"}, prog: []string{"./locks", "hold", "/shared/data", "stdin"}})
			if !holder.waitFor("HOLDING", 5*time.Second) {
				release()
				holder.wait()
				c.fatalf("the holding box did not start")
			}
			// From the host, while the box holds whatever it got.
			locks, _ := os.ReadFile("/proc/locks")
			if strings.Contains(string(locks), fmt.Sprintf(":%d ", st.Ino)) {
				c.failf("a box holds a lock on the shared file: %s", grepLines(string(locks), fmt.Sprintf(":%d ", st.Ino)))
			}
			r := c.iso(b, []string{"-d", rule}, "./locks", "probe", "/shared/data")
			release()
			hr := holder.wait()
			c.ran(hr, "flock(LOCK_SH)", "fcntl(F_SETLK, read lock)", "fcntl(F_OFD_SETLK, read lock)")
			c.ran(r, "fcntl(F_GETLK)", "flock(LOCK_EX|LOCK_NB)")
			c.clean(hr)
			c.clean(r)
			c.resultf("flock: %s, F_SETLK: %s, OFD: %s; nothing visible from the other box or the host", tried(hr, "flock(LOCK_SH)"), tried(hr, "fcntl(F_SETLK, read lock)"), tried(hr, "fcntl(F_OFD_SETLK, read lock)"))
		}},
		{name: "ipc-cross-box", what: "one box creates SysV shm, semaphore and message queue, POSIX shm and mqueue holding a secret; a second box, running at once, looks for them", fn: func(c *ctx) {
			a, b := c.newBox(), c.newBox()
			c.install(a, "ipc")
			c.install(b, "ipc")
			secret := c.s.leak("ipc")
			put, release := c.startHeld(a, spec{opts: []string{"-w", "120"}, prog: []string{"./ipc", "put", secret, "stdin"}})
			if !put.waitFor("PUT", 5*time.Second) {
				release()
				put.wait()
				c.fatalf("the first box did not start")
			}
			r := c.iso(b, nil, "./ipc", "get")
			release()
			pr := put.wait()
			c.ran(pr, "shmget(create)", "msgget(create)", "shm_open(create)", "mq_open(create)")
			c.ran(r, "shmget(find)", "shm_open(find)", "mq_open(find)")
			c.clean(pr)
			c.clean(r)
			if found := grepLines(r.stdout, "FOUND "); found != "" {
				c.failf("the second box found the first box's objects: %s", found)
			}
			c.resultf("shmget in box 1: %s; box 2 finds none of them; the host's IPC unchanged", tried(pr, "shmget(create)"))
		}},
		{name: "leftovers-next-run", what: "leave SysV and POSIX IPC objects, /dev/shm files (8 MiB), /box and /tmp files, and files 300 directories deep in /tmp and /dev/shm; look for them in the next run of the box and after --cleanup/--init", fn: func(c *ctx) {
			b := c.newBox()
			c.install(b, "ipc", "leftover")
			tok := "ATKLEFT-" + c.s.token
			c.clean(c.iso(b, nil, "./ipc", "put", tok, "0"))
			plant := c.iso(b, nil, "./leftover", "plant", tok)
			c.ran(plant, "create /dev/shm/left", "create /tmp/d x300/left", "create /dev/shm/d x300/left")
			c.clean(plant)
			// The next run in the same box, as a judge runs the next test
			// (or, without a --cleanup, the next submission).
			ipc := c.iso(b, nil, "./ipc", "get")
			files := c.iso(b, nil, "./leftover", "probe")
			c.ran(ipc, "shmget(find)")
			c.ran(files, "open /box/left")
			var leaked []string
			for _, l := range strings.Split(ipc.stdout+files.stdout, "\n") {
				// /box persists between runs by design, as in isolate.
				if strings.HasPrefix(l, "FOUND ") && !strings.HasPrefix(l, "FOUND /box/") {
					leaked = append(leaked, strings.TrimSuffix(strings.Fields(l)[1], ":"))
				}
			}
			if len(leaked) > 0 {
				c.failf("the next run in the same box finds what the previous run left: %s (nothing but /box may carry over)", strings.Join(leaked, " "))
			}
			// After --cleanup and --init nothing at all.
			c.reinit(b)
			c.install(b, "ipc", "leftover")
			ipc = c.iso(b, nil, "./ipc", "get")
			files = c.iso(b, nil, "./leftover", "probe")
			if found := grepLines(ipc.stdout+files.stdout, "FOUND "); found != "" {
				c.failf("a fresh box (after --cleanup and --init) finds: %s", found)
			}
			if len(leaked) > 0 {
				c.resultf("next run sees %s; a re-initialised box sees nothing", strings.Join(leaked, " "))
			} else {
				c.resultf("next run sees only /box files, at no depth in /tmp or /dev/shm; a re-initialised box nothing")
			}
		}},

		{name: "shell-escape", what: "a shell script with builtins only (-p1): cd .. x30, read secrets through /proc/1/root, /proc/self/root, ../, write markers outside", fn: func(c *ctx) {
			b := c.newBox()
			c.install(b, "sh_escape.sh")
			r := c.iso(b, nil, append([]string{"/bin/sh", "./sh_escape.sh", c.s.marker}, c.s.secretPaths()...)...)
			c.ran(r, "cd .. 30 times", "read "+c.s.secrets[0].path, "read /proc/1/root"+c.s.secrets[0].path, "write //"+c.s.marker)
			c.clean(r)
			c.resultf("no secret read, nothing written outside")
		}},
		{name: "python-hunt", what: "Python walks every path and /proc root for secrets; ctypes unshare, mount, chroot, setns, pivot_root", fn: func(c *ctx) {
			b := c.newBox()
			c.install(b, "py_hunt.py")
			r := c.iso(b, []string{"-t", "10", "-w", "20"}, append([]string{"/usr/bin/python3", "-S", "./py_hunt.py"}, c.s.secretPaths()...)...)
			c.ran(r, "read "+c.s.secrets[0].path, "walk the sandbox", "unshare(NEWUSER|NEWNS)", "mount tmpfs /box", "pivot_root")
			c.clean(r)
			walked, _ := line(r, "TRY walk the sandbox: ")
			c.resultf("walk: %s; every syscall refused; no secret found", walked)
		}},
	}
}

// grepLines joins the lines of s that contain sub.
func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, strings.TrimSpace(l))
		}
	}
	return strings.Join(out, " | ")
}

// ociAttacks run in judged OCI containers: `mini-isolate run --meta` of a
// bundle with io.github.mini-isolate.* annotations.
func ociAttacks() []*attack {
	return []*attack{
		{name: "oci-fork-bomb", what: "judged OCI container: fork bomb under pids.limit 16, time 1, wall-time 3", fn: func(c *ctx) {
			r := c.oci(ociJudge{args: []string{"/bin/forkbomb"}, pids: 16, annotations: map[string]string{"time": "1", "wall-time": "3"}})
			c.ran(r, "fork bomb")
			c.expectMeta(r, map[string]string{"status": "TO", "killed": "1"})
			if p := metaInt(r, "pids-peak"); p > 16 {
				c.failf("pids-peak %d over 16", p)
			}
			c.resultf("TO; pids-peak %d <= 16; container, cgroups, processes gone", metaInt(r, "pids-peak"))
		}},
		{name: "oci-output-flood", what: "judged OCI container: endless stdout and stderr under output-limit 1m", fn: func(c *ctx) {
			r := c.oci(ociJudge{args: []string{"/bin/flood"}, annotations: map[string]string{"output-limit": "1m", "wall-time": "5"}})
			c.ran(r, "output flood")
			c.expectMeta(r, map[string]string{"status": "OL", "killed": "1"})
			if r.outBytes > 1<<20 {
				c.failf("%d bytes reached stdout past the 1 MiB limit", r.outBytes)
			}
			c.resultf("OL, killed; %d bytes <= 1 MiB reached the judge", r.outBytes)
		}},
		{name: "oci-memory-bomb", what: "judged OCI container: allocate without end under memory.limit 64 MiB", fn: func(c *ctx) {
			r := c.oci(ociJudge{args: []string{"/bin/membomb"}, memory: 64 << 20, annotations: map[string]string{"time": "5", "wall-time": "10"}})
			c.ran(r, "memory bomb")
			c.expectMeta(r, map[string]string{"status": "ML"})
			c.resultf("ML; cg-mem %s KiB", r.meta["cg-mem"])
		}},
		{name: "oci-daemon", what: "judged OCI container: double fork + setsid daemon that ignores signals, then exit 0", fn: func(c *ctx) {
			r := c.oci(ociJudge{args: []string{"/bin/daemon", "setsid", "m"}, pids: 8, annotations: map[string]string{"wall-time": "5"}})
			c.ran(r, "daemonize (double fork, setsid)")
			c.clean(r)
			time.Sleep(300 * time.Millisecond)
			c.checkUID(ociUID, 0, nil)
			c.resultf("exit 0 reported; container, cgroups and every process gone")
		}},
		{name: "oci-signal-init", what: "judged OCI container: signal PID 1 (the judge init) with 9 signals, pidfd, kill(-1), every pid", fn: func(c *ctx) {
			sc := c.s.scan
			r := c.oci(ociJudge{args: []string{"/bin/sig_kill", strconv.Itoa(sc.top)}, pids: 4, annotations: map[string]string{"time": sc.cpu, "wall-time": sc.wall}})
			c.ran(r, "kill(1, SIGKILL)", fmt.Sprintf("kill every pid up to %d:", sc.top))
			c.clean(r)
			c.resultf("report exact (exit 0); container gone cleanly")
		}},
		{name: "oci-escape", what: "judged OCI container: /proc/self/root, /proc/1/root, ../ and chroot to host secrets; mounts", fn: func(c *ctx) {
			r := c.oci(ociJudge{args: append([]string{"/bin/fs_procroot"}, c.s.secretPaths()...), pids: 4, annotations: map[string]string{"wall-time": "5"}})
			c.ran(r, "readlink /proc/1/root", "open /proc/1/mem")
			c.clean(r)
			r = c.oci(ociJudge{args: []string{"/bin/fs_mount"}, pids: 4, annotations: map[string]string{"wall-time": "5"}})
			c.ran(r, "mount tmpfs on /box/m", "pivot_root(/box, /box/old)")
			c.clean(r)
			c.resultf("no secret read; every mount refused")
		}},
	}
}

func allAttacks() []*attack {
	var all []*attack
	for _, group := range [][]*attack{fsAttacks(), netAttacks(), sigAttacks(), resAttacks(), miscAttacks(), hostAttacks(), ociAttacks()} {
		all = append(all, group...)
	}
	return all
}
