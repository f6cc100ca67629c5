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

// Attacks on the host side of a box: what a program leaves behind must not
// hang the judge, exhaust the host, or make root write where it should not.
func hostAttacks() []*attack {
	return []*attack{
		{name: "deep-tree", what: "build 20000 nested directories of 1-byte names, then 2000 of 255-byte names, each with a FIFO, socket, link and mode-000 directory; root's chown after the run and --cleanup must walk them", fn: deepTree},
		{name: "fifo-redirect", what: "leave FIFOs at the next run's -i and -o paths (with --special-files); the next run must end at its wall limit, not hang opening them", fn: fifoRedirect},
		{name: "box-chmod", what: "chmod 0777 /box and plant a link at a later run's meta path; the box must come back 0700 and the caller's, and root must not write through the link", fn: boxChmod},
		{name: "oci-init-tamper", what: "judged OCI container as an unprivileged user: renice, SCHED_IDLE, pin and prlimit PID 1 (the judge init)", fn: func(c *ctx) {
			r := c.oci(ociJudge{args: []string{"/bin/init_tamper", "tamper"}, pids: 4, annotations: map[string]string{"wall-time": "5"}})
			c.ran(r, "setpriority(PRIO_PROCESS 1, 19)", "prlimit(1, nofile)")
			c.clean(r)
			for _, l := range []string{"setpriority(PRIO_PROCESS 1, 19)", "sched_setscheduler(1, SCHED_IDLE)", "sched_setaffinity(1, {0})", "prlimit(1, nofile)"} {
				if tried(r, l) == "ok" {
					c.failf("%s succeeded: the program changed its judge init", l)
				}
			}
			c.resultf("renice 1: %s, prlimit 1: %s", tried(r, "setpriority(PRIO_PROCESS 1, 19)"), tried(r, "prlimit(1, nofile)"))
		}},
	}
}

// deepTree: the walks of a box run in memory and fds that do not grow
// with depth (16 MiB and 64 fds at most), so the next run and --cleanup
// succeed.
func deepTree(c *ctx) {
	b := c.newBox()
	c.install(b, "deeptree")
	base := c.iso(b, nil, "/bin/true")
	c.clean(base)
	var took []string
	for _, tc := range []struct{ depth, name int }{{20000, 1}, {2000, 255}} {
		r := c.iso(b, []string{"-t", "20", "-w", "60"}, "./deeptree", strconv.Itoa(tc.depth), strconv.Itoa(tc.name))
		c.ran(r, fmt.Sprintf("build a chain %d deep of %d-byte names: ok", tc.depth, tc.name))
		c.clean(r)
		if grow := r.rssKB - base.rssKB; grow > 16<<10 {
			c.failf("the run's CLI took %d KiB more memory than a run of /bin/true (%d KiB)", grow, base.rssKB)
		}
		next := c.iso(b, nil, "/bin/true")
		c.clean(next)
		took = append(took, fmt.Sprintf("%d deep: CLI %d MiB, run %.1fs, next run %.1fs", tc.depth, r.rssKB>>10, r.wall.Seconds(), next.wall.Seconds()))
	}
	began := time.Now()
	c.reinit(b)
	c.resultf("%s; --cleanup and --init %.1fs", strings.Join(took, "; "), time.Since(began).Seconds())
}

// fifoRedirect: opening a redirection counts against the wall clock.
func fifoRedirect(c *ctx) {
	b := c.newBox()
	keep := []string{"--special-files", "-p"}
	plant := c.iso(b, keep, "/bin/sh", "-c", "mkfifo in.txt out.txt && echo 'TRY mkfifo in.txt out.txt: ok'")
	c.ran(plant, "mkfifo in.txt out.txt: ok")
	c.clean(plant)
	for _, redirect := range [][]string{{"-i", "in.txt"}, {"-o", "out.txt"}} {
		began := time.Now()
		r := c.iso(b, append([]string{"--special-files", "-w", "1"}, redirect...), "/bin/true")
		took := time.Since(began)
		c.expectMeta(r, map[string]string{"status": "TO", "message": "Time limit exceeded (wall clock)"})
		if took > time.Second+slack(300*time.Millisecond) {
			c.failf("%s on a FIFO: the run took %v under -w 1", redirect[0], took)
		}
	}
	c.resultf("TO (wall clock) at -w 1 for a FIFO at -i and at -o")
}

// boxChmod: box/ is reset after each run, and a report path through a
// link the program planted is refused.
func boxChmod(c *ctx) {
	b := c.newBox()
	target := filepath.Join(c.dir, "root-only")
	if err := os.Mkdir(target, 0o700); err != nil {
		c.fatalf("%v", err)
	}
	if err := writeTo(filepath.Join(target, "run.meta"), "keep me\n", 0o600); err != nil {
		c.fatalf("%v", err)
	}
	c.clean(c.iso(b, []string{"-p"}, "/bin/sh", "-c", "chmod 0777 /box; mkdir -p res; ln -s "+target+" /box/link"))
	var st syscall.Stat_t
	if err := syscall.Stat(filepath.Join(b.dir, "box"), &st); err != nil || st.Mode&0o777 != 0o700 || st.Uid != 0 {
		c.failf("box/ after the run: mode %#o uid %d (%v), want 0700 and the caller's", st.Mode&0o777, st.Uid, err)
	}
	// --special-files keeps the link, which the meta path then goes
	// through.
	link := c.iso(b, []string{"--special-files", "-p"}, "/bin/sh", "-c", "rm -rf res; ln -s "+target+" res && echo 'TRY plant res -> a root-only directory: ok'")
	c.ran(link, "plant res -> a root-only directory: ok")
	c.clean(link)
	metaPath := b.path("res/run.meta")
	r := c.start(b, spec{opts: []string{"--special-files", "-M", metaPath}, prog: []string{"/bin/true"}}).wait()
	if data, _ := os.ReadFile(filepath.Join(target, "run.meta")); string(data) != "keep me\n" {
		c.failf("root wrote the report through the planted link: %q", data)
	}
	c.resultf("box/ back to 0700 and root's; report through a planted link refused (exit %d)", r.code)
}
