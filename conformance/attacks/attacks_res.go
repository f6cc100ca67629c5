package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// oomOvershootKB is how far past its limit a cgroup's memory peak may go:
// the kernel charges a dying task, the OOM killer's victim among them,
// past the limit rather than fail its allocation.
const oomOvershootKB = 64

// Resources: bombs and floods end with the expected verdict, within their
// limits, and leave nothing behind (checked for every attack).
func resAttacks() []*attack {
	return []*attack{
		{name: "fork-bomb", what: "every process forks for ever and spins, under -p20 -t1 -w3", fn: func(c *ctx) {
			b := c.newBox()
			c.install(b, "forkbomb")
			r := c.iso(b, []string{"-p20", "-t", "1", "-w", "3"}, "./forkbomb")
			c.ran(r, "fork bomb")
			c.expectMeta(r, map[string]string{"status": "TO", "killed": "1"})
			peak := metaInt(r, "pids-peak")
			if peak > 20 {
				c.failf("pids-peak %d over -p20", peak)
			}
			c.resultf("TO, killed; pids-peak %d <= 20; nothing left", peak)
		}},
		{name: "fork-bomb-shell", what: "the shell fork bomb b(){ b|b& }; b; wait under -p30 -t1 -w2", fn: func(c *ctx) {
			b := c.newBox()
			c.install(b, "sh_forkbomb.sh")
			r := c.iso(b, []string{"-p30", "-t", "1", "-w", "2"}, "/bin/sh", "./sh_forkbomb.sh")
			c.ran(r, "shell fork bomb")
			// The bomb can burn out by itself once forks fail: any verdict
			// will do, within the limit and with nothing left.
			if r.meta["exitcode"] == "" && r.meta["exitsig"] == "" && r.meta["status"] == "" {
				c.failf("no report: %v", r.meta)
			}
			peak := metaInt(r, "pids-peak")
			if peak > 30 {
				c.failf("pids-peak %d over -p30", peak)
			}
			c.resultf("%s; pids-peak %d <= 30; nothing left", or(r.meta["status"], "OK"), peak)
		}},
		{name: "thread-bomb", what: "pthread_create until refused, every thread spinning, under -p50 -t1", fn: func(c *ctx) {
			b := c.newBox()
			c.install(b, "threadbomb")
			r := c.iso(b, []string{"-p50", "-t", "1", "-w", "3"}, "./threadbomb")
			c.ran(r, "thread bomb")
			c.expectMeta(r, map[string]string{"status": "TO"})
			n, _ := line(r, "THREADS ")
			if k, _ := strconv.Atoi(n); k > 49 {
				c.failf("%d threads besides the main one under -p50", k)
			}
			c.resultf("TO; %s threads created (limit 50 tasks); pids-peak %d", n, metaInt(r, "pids-peak"))
		}},
		{name: "memory-bomb", what: "oom_score_adj -1000 and mlockall first, then allocate and touch memory without end under --cg-mem 64 MiB", fn: func(c *ctx) {
			b := c.newBox()
			c.install(b, "membomb")
			r := c.iso(b, []string{"--cg-mem", "65536", "-t", "5", "-w", "10"}, "./membomb")
			c.ran(r, "write -1000 to oom_score_adj", "memory bomb")
			c.expectMeta(r, map[string]string{"status": "SG", "exitsig": "9", "cg-oom-killed": "1"})
			if kb := metaInt(r, "cg-mem"); kb > 65536+oomOvershootKB {
				c.failf("cg-mem %d KiB over the 65536 KiB limit", kb)
			}
			c.resultf("SG 9 with cg-oom-killed (isolate's ML); cg-mem %s KiB <= 65536 (+%d KiB the kernel may force-charge a dying task)", r.meta["cg-mem"], oomOvershootKB)
		}},
		{name: "memory-rlimit-as", what: "allocate without end under -m 64 MiB (RLIMIT_AS): mmap fails and the program gives up", fn: func(c *ctx) {
			b := c.newBox()
			c.install(b, "membomb")
			r := c.iso(b, []string{"-m", "65536"}, "./membomb")
			c.ran(r, "memory bomb")
			c.expectMeta(r, map[string]string{"status": "RE", "exitcode": "3"})
			ate, _ := line(r, "ATE ")
			if mib, _ := strconv.Atoi(strings.Fields(ate + " 0")[0]); mib > 64 {
				c.failf("allocated %d MiB under a 64 MiB address space", mib)
			}
			c.resultf("RE (exit 3) after %s", or(ate, "?"))
		}},
		{name: "memory-bomb-fork", what: "8 children and the parent each allocate without end under -p9 --cg-mem 64 MiB", fn: func(c *ctx) {
			b := c.newBox()
			c.install(b, "membomb")
			r := c.iso(b, []string{"-p9", "--cg-mem", "65536", "-t", "5", "-w", "10"}, "./membomb", "fork", "8")
			c.ran(r, "memory bomb")
			c.expectMeta(r, map[string]string{"cg-oom-killed": "1", "status": "*"})
			if kb := metaInt(r, "cg-mem"); kb > 65536+oomOvershootKB {
				c.failf("cg-mem %d KiB over the 65536 KiB limit", kb)
			}
			c.resultf("%s, cg-oom-killed; cg-mem %s KiB <= 65536 for all 9", r.meta["status"], r.meta["cg-mem"])
		}},
		{name: "memory-tmpfs", what: "write 200 MiB into the box's /dev/shm (memory, not disk) under --cg-mem 32 MiB", fn: func(c *ctx) {
			b := c.newBox()
			c.install(b, "shmfill")
			r := c.iso(b, []string{"--cg-mem", "32768", "-t", "3", "-w", "6"}, "./shmfill", "200")
			c.ran(r, "fill /dev/shm")
			if kb := metaInt(r, "cg-mem"); kb > 32768+oomOvershootKB {
				c.failf("cg-mem %d KiB over the 32768 KiB limit", kb)
			}
			filled, _ := line(r, "FILLED ")
			if mib, _ := strconv.Atoi(strings.Fields(filled + " 0")[0]); mib > 64 {
				c.failf("wrote %d MiB into /dev/shm", mib)
			}
			c.resultf("%s; filled %s; cg-mem %s KiB <= 32768", or(r.meta["status"], "OK"), or(filled, "until killed"), r.meta["cg-mem"])
		}},
		{name: "fd-exhaust", what: "open files and pipes until refused, then park fds in flight in unix sockets (held by no process), under -n 256", fn: func(c *ctx) {
			b := c.newBox()
			c.install(b, "fdbomb")
			r := c.iso(b, []string{"-n", "256"}, "./fdbomb")
			c.ran(r, "open until failure", "pipes until failure", "fds in flight until failure")
			c.clean(r)
			opened, _ := line(r, "OPENED ")
			inflight, _ := line(r, "INFLIGHT ")
			if n, _ := strconv.Atoi(opened); n > 256 {
				c.failf("opened %d files under -n 256", n)
			}
			if n, _ := strconv.Atoi(inflight); n > 256+8 {
				c.failf("%d fds in flight under -n 256", n)
			}
			c.resultf("opened %s, in flight %s (limit 256)", opened, inflight)
		}},
		{name: "inode-exhaust", what: "create up to 10000 empty files each in /box, /tmp and /dev/shm (no quota: -q needs kernel support)", fn: func(c *ctx) {
			b := c.newBox()
			c.install(b, "inodes")
			// Generous limits: the work is fixed (30000 files), and a slow
			// disk or host must not turn it into a timeout.
			r := c.iso(b, []string{"-t", "30", "-w", "60"}, "./inodes", "10000")
			c.ran(r, "create files in /box/i", "create files in /tmp/i", "create files in /dev/shm/i")
			c.clean(r)
			// The host sees what the program says it made, in the box.
			for dir, host := range map[string]string{"/box/i": b.path("i"), "/tmp/i": filepath.Join(b.dir, "tmp", "tmp", "i")} {
				said, _ := line(r, "CREATED "+dir+" ")
				entries, _ := os.ReadDir(host)
				if strconv.Itoa(len(entries)) != said {
					c.failf("%s: the program says %s files, the host sees %d in %s", dir, said, len(entries), host)
				}
			}
			box, _ := line(r, "CREATED /box/i ")
			shm, _ := line(r, "CREATED /dev/shm/i ")
			c.resultf("%s files in /box, %s in /dev/shm, all in the box's own directories and gone after --cleanup", box, shm)
		}},
		{name: "disk-fill", what: "write one endless file under -f 4 MiB (default SIGXFSZ)", fn: func(c *ctx) {
			b := c.newBox()
			c.install(b, "diskfill")
			r := c.iso(b, []string{"-f", "4096"}, "./diskfill", "one")
			c.ran(r, "fill the disk (one file)")
			c.expectMeta(r, map[string]string{"status": "SG", "exitsig": "25"})
			if fi, err := os.Stat(b.path("fill0")); err != nil || fi.Size() != 4<<20 {
				c.failf("fill0 on the host: %v %v, want exactly 4 MiB", sizeOf(fi), err)
			}
			c.resultf("SG 25 (SIGXFSZ); the file stops at 4 MiB on the host")
		}},
		{name: "disk-fill-many", what: "ignore SIGXFSZ and write 16 files as far as -f 4 MiB lets each go", fn: func(c *ctx) {
			b := c.newBox()
			c.install(b, "diskfill")
			r := c.iso(b, []string{"-f", "4096"}, "./diskfill", "many", "16")
			c.ran(r, "fill the disk (many files)")
			c.clean(r)
			var total int64
			entries, _ := os.ReadDir(b.path(""))
			for _, e := range entries {
				if fi, err := e.Info(); err == nil && strings.HasPrefix(e.Name(), "fill") {
					total += fi.Size()
					if fi.Size() > 4<<20 {
						c.failf("%s is %d bytes over -f 4096", e.Name(), fi.Size())
					}
				}
			}
			c.resultf("every file stops at 4 MiB (EFBIG); %d MiB in all", total>>20)
		}},
		{name: "output-flood", what: "write stdout and stderr as fast as possible for ever, to the judge's pipes, under -t1 -w3", fn: func(c *ctx) {
			b := c.newBox()
			c.install(b, "flood")
			began := time.Now()
			r := c.iso(b, []string{"-t", "1", "-w", "3"}, "./flood")
			took := time.Since(began)
			c.ran(r, "output flood")
			c.expectMeta(r, map[string]string{"status": "TO", "killed": "1"})
			if took > 3*time.Second+slack(3*time.Second) {
				c.failf("the run took %v under -w 3", took)
			}
			c.resultf("TO, killed after %.1fs; %d MiB drained by the judge", took.Seconds(), r.outBytes>>20)
		}},
		{name: "output-flood-file", what: "flood stdout and stderr redirected into the box (-o out.txt --stderr-to-stdout) under -f 1 MiB", fn: func(c *ctx) {
			b := c.newBox()
			c.install(b, "flood")
			r := c.iso(b, []string{"-o", "out.txt", "--stderr-to-stdout", "-f", "1024"}, "./flood")
			c.expectMeta(r, map[string]string{"status": "SG", "exitsig": "25"})
			fi, err := os.Stat(b.path("out.txt"))
			if err != nil || fi.Size() > 1<<20 {
				c.failf("out.txt on the host: %v %v, want at most 1 MiB", sizeOf(fi), err)
			}
			if data, err := os.ReadFile(b.path("out.txt")); err == nil {
				r.stdout = string(data[:min(len(data), 4096)])
				c.outputs = append(c.outputs, r.stdout)
			}
			c.ran(r, "output flood")
			c.resultf("SG 25; out.txt %d bytes <= 1 MiB", sizeOf(fi))
		}},
	}
}

func sizeOf(fi os.FileInfo) int64 {
	if fi == nil {
		return -1
	}
	return fi.Size()
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
