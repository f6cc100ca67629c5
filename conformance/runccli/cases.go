package main

import (
	"github.com/opencontainers/runtime-spec/specs-go"
)

// tcase is a scenario played by both runtimes on a fresh bundle.
type tcase struct {
	name  string
	spec  func(*specs.Spec) // edits to baseSpec
	steps []step
	// cgroup files compared after the steps, "v1-name|v2-name".
	cgroup []string
}

// step is a command line after the runtime binary, or a pseudo-step
// ("@wait", "@mkcg", "@write", "@file", "@cgroup"). Placeholders: {id},
// {root}, {bundle}, {tmp}, {console} and {pidfd} (sockets served while
// the command runs).
type step struct {
	args       []string
	global     bool // prepend --root {root}
	stdin      string
	out        bool // compare stdout too
	extraFiles int  // open fds passed from 3 on
}

// r is a command run with the case's --root.
func r(args ...string) step { return step{args: args, global: true} }

// raw is a command line given whole, global flags included.
func raw(args ...string) step { return step{args: args} }

func (s step) withOut() step            { s.out = true; return s }
func (s step) withStdin(in string) step { s.stdin = in; return s }
func (s step) withFiles(n int) step     { s.extraFiles = n; return s }

func wait(status string) step   { return step{args: []string{"@wait", status}} }
func file(path string) step     { return step{args: []string{"@file", path}} }
func mkcg(name string) step     { return step{args: []string{"@mkcg", name}} }
func write(path, s string) step { return step{args: []string{"@write", path, s}} }

func seq(parts ...[]step) []step {
	var out []step
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func steps(s ...step) []step { return s }

var (
	created = steps(r("create", "--bundle", "{bundle}", "{id}"))
	running = seq(created, steps(r("start", "{id}")))
	stopped = seq(running, steps(r("kill", "{id}", "KILL"), wait("stopped")))
	paused  = seq(running, steps(r("pause", "{id}")))
)

func args(a ...string) func(*specs.Spec) {
	return func(s *specs.Spec) { s.Process.Args = a }
}

func terminal(s *specs.Spec) { s.Process.Terminal = true }

func with(edits ...func(*specs.Spec)) func(*specs.Spec) {
	return func(s *specs.Spec) {
		for _, e := range edits {
			e(s)
		}
	}
}

func memory(limit int64) func(*specs.Spec) {
	return func(s *specs.Spec) { s.Linux.Resources.Memory = &specs.LinuxMemory{Limit: &limit} }
}

func shares(n uint64) func(*specs.Spec) {
	return func(s *specs.Spec) { s.Linux.Resources.CPU = &specs.LinuxCPU{Shares: &n} }
}

func inheritable(caps ...string) func(*specs.Spec) {
	return func(s *specs.Spec) { s.Process.Capabilities.Inheritable = caps }
}

// throttledTwice lists the same block device twice in the read
// throttles, as a config may.
func throttledTwice(s *specs.Spec) {
	dev := func(rate uint64) specs.LinuxThrottleDevice {
		return specs.LinuxThrottleDevice{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: blockMajor, Minor: blockMinor}, Rate: rate}
	}
	s.Linux.Resources.BlockIO = &specs.LinuxBlockIO{ThrottleReadBpsDevice: []specs.LinuxThrottleDevice{dev(1 << 20), dev(2 << 20)}}
}

const (
	memFile     = "memory.limit_in_bytes|memory.max"
	pidsFile    = "pids.max"
	sharesFile  = "cpu.shares|cpu.weight"
	quotaFile   = "cpu.cfs_quota_us|cpu.max"
	periodFile  = "cpu.cfs_period_us|cpu.max"
	throttleRd  = "blkio.throttle.read_bps_device|io.max"
	processJSON = `{"args":["sh","-c","echo from-file; id -u"],"env":["PATH=/bin"],"cwd":"/","user":{"uid":65534,"gid":65534}}`
)

// cases returns every scenario: the command lines of runc's CLI, flag by
// flag, and the differences found by hand in the past.
func cases() []tcase {
	return seq2(globalCases(), createCases(), lifecycleCases(), execCases(), updateCases(), otherCases())
}

func seq2(parts ...[]tcase) []tcase {
	var out []tcase
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func globalCases() []tcase {
	return []tcase{
		{name: "version", steps: steps(raw("--version"), raw("-v"))},
		{name: "help", steps: steps(raw("--help"), raw("-h"), raw("help"))},
		{name: "no-command", steps: steps(raw())},
		{name: "unknown-command", steps: steps(raw("nosuchcommand"))},
		{name: "unknown-global-flag", steps: steps(raw("--nosuchflag", "list"))},
		{name: "global-debug", steps: seq(created, steps(raw("--debug", "--root", "{root}", "state", "{id}")))},
		{name: "global-log", steps: steps(raw("--log", "{tmp}/log", "--root", "{root}", "state", "nosuch"), file("{tmp}/log"))},
		{name: "global-log-format-json", steps: steps(raw("--log-format", "json", "--root", "{root}", "state", "nosuch"))},
		{name: "global-log-format-bad", steps: steps(raw("--log-format", "xml", "--root", "{root}", "list"))},
		{name: "global-root-missing-list", steps: steps(raw("--root", "{tmp}/nonexistent", "list"))},
		{name: "global-rootless", steps: steps(raw("--rootless", "false", "--root", "{root}", "list"))},
		{name: "global-systemd-cgroup", spec: func(s *specs.Spec) { s.Linux.CgroupsPath = "system.slice:runccli:x" },
			steps: steps(raw("--systemd-cgroup", "--root", "{root}", "create", "--bundle", "{bundle}", "{id}"))},
		{name: "global-flag-after-command", steps: steps(raw("list", "--root", "{root}"))},
	}
}

func createCases() []tcase {
	return []tcase{
		{name: "create", steps: created},
		{name: "create-b", steps: steps(r("create", "-b", "{bundle}", "{id}"))},
		{name: "create-flag-after-id", steps: steps(r("create", "{id}", "--bundle", "{bundle}"))},
		{name: "create-bundle-is-cwd", steps: steps(r("create", "{id}"))},
		{name: "create-pid-file", steps: steps(r("create", "--pid-file", "{tmp}/pid", "--bundle", "{bundle}", "{id}"), file("{tmp}/pid"))},
		{name: "create-pid-file-relative", steps: steps(r("create", "--pid-file", "rel.pid", "--bundle", "{bundle}", "{id}"), file("{tmp}/rel.pid"))},
		{name: "create-console-socket", spec: terminal, steps: steps(r("create", "--console-socket", "{console}", "--bundle", "{bundle}", "{id}"))},
		{name: "create-terminal-without-socket", spec: terminal, steps: created},
		{name: "create-pidfd-socket", steps: steps(r("create", "--pidfd-socket", "{pidfd}", "--bundle", "{bundle}", "{id}"))},
		{name: "create-no-pivot", steps: steps(r("create", "--no-pivot", "--bundle", "{bundle}", "{id}"))},
		{name: "create-no-new-keyring", steps: steps(r("create", "--no-new-keyring", "--bundle", "{bundle}", "{id}"))},
		{name: "create-preserve-fds", steps: steps(r("create", "--preserve-fds", "1", "--bundle", "{bundle}", "{id}").withFiles(1))},
		{name: "create-twice", steps: seq(created, created)},
		{name: "create-bad-id", steps: steps(r("create", "--bundle", "{bundle}", "../x"))},
		{name: "create-missing-bundle", steps: steps(r("create", "--bundle", "{tmp}/nosuch", "{id}"))},
		{name: "create-no-id", steps: steps(r("create", "--bundle", "{bundle}"))},
		{name: "create-two-ids", steps: steps(r("create", "--bundle", "{bundle}", "{id}", "other"))},
		{name: "create-missing-program", spec: args("/nosuch"), steps: created},
		{name: "create-relative-mount-destination", spec: func(s *specs.Spec) {
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "mnt", Type: "tmpfs", Source: "tmpfs"})
		}, steps: seq(running, steps(r("exec", "{id}", "grep", "-c", " /mnt tmpfs ", "/proc/mounts").withOut()))},
		{name: "create-unknown-capability", spec: func(s *specs.Spec) {
			s.Process.Capabilities.Bounding = append(s.Process.Capabilities.Bounding, "CAP_TEST")
		}, steps: running},
		{name: "run-poststart-fails", spec: with(args("true"), func(s *specs.Spec) {
			s.Hooks = &specs.Hooks{Poststart: []specs.Hook{{Path: "/bin/false"}}}
		}), steps: steps(r("run", "--bundle", "{bundle}", "{id}"))},
		{name: "start-poststart-fails", spec: func(s *specs.Spec) {
			s.Hooks = &specs.Hooks{Poststart: []specs.Hook{{Path: "/bin/false"}}}
		}, steps: seq(created, steps(r("start", "{id}")))},
		{name: "create-prestart-fails", spec: func(s *specs.Spec) {
			//lint:ignore SA1019 prestart hooks are still part of the spec.
			s.Hooks = &specs.Hooks{Prestart: []specs.Hook{{Path: "/bin/false"}}}
		}, steps: created},
		{name: "create-createruntime-hook", spec: func(s *specs.Spec) {
			s.Hooks = &specs.Hooks{CreateRuntime: []specs.Hook{{Path: "/bin/true"}}}
		}, steps: created},
	}
}

func lifecycleCases() []tcase {
	return []tcase{
		{name: "start", steps: running},
		{name: "start-twice", steps: seq(running, steps(r("start", "{id}")))},
		{name: "start-missing", steps: steps(r("start", "nosuch"))},
		{name: "start-stopped", spec: args("true"), steps: seq(running, steps(wait("stopped"), r("start", "{id}")))},
		{name: "run", spec: args("sh", "-c", "echo hi; exit 3"), steps: steps(r("run", "--bundle", "{bundle}", "{id}").withOut())},
		{name: "run-flags-after-id", spec: args("true"), steps: steps(r("run", "{id}", "--bundle", "{bundle}"))},
		{name: "run-detach", steps: steps(r("run", "-d", "--bundle", "{bundle}", "{id}"))},
		{name: "run-keep", spec: args("true"), steps: steps(r("run", "--keep", "--bundle", "{bundle}", "{id}"))},
		{name: "run-no-subreaper", spec: args("true"), steps: steps(r("run", "--no-subreaper", "--bundle", "{bundle}", "{id}"))},
		{name: "run-killed-by-signal", spec: args("sh", "-c", "kill -9 $$"), steps: steps(r("run", "--bundle", "{bundle}", "{id}"))},
		{name: "run-pid-file", steps: steps(r("run", "-d", "--pid-file", "{tmp}/pid", "--bundle", "{bundle}", "{id}"), file("{tmp}/pid"))},
		{name: "run-preserve-fds", spec: args("test", "-e", "/proc/self/fd/3"),
			steps: steps(r("run", "--preserve-fds", "1", "--bundle", "{bundle}", "{id}").withFiles(1))},
		{name: "run-console-socket", spec: terminal, steps: steps(r("run", "-d", "--console-socket", "{console}", "--bundle", "{bundle}", "{id}"))},
		{name: "run-pidfd-socket", steps: steps(r("run", "-d", "--pidfd-socket", "{pidfd}", "--bundle", "{bundle}", "{id}"))},
		{name: "state", steps: seq(created, steps(r("state", "{id}")))},
		{name: "state-missing", steps: steps(r("state", "nosuch"))},
		{name: "state-extra-argument", steps: seq(created, steps(r("state", "{id}", "extra")))},
		{name: "kill-default-signal", steps: seq(running, steps(r("kill", "{id}")))},
		{name: "kill-by-name", steps: seq(running, steps(r("kill", "{id}", "KILL"), wait("stopped")))},
		{name: "kill-by-number", steps: seq(running, steps(r("kill", "{id}", "9"), wait("stopped")))},
		{name: "kill-sig-prefix", steps: seq(running, steps(r("kill", "{id}", "SIGKILL"), wait("stopped")))},
		{name: "kill-lower-case", steps: seq(running, steps(r("kill", "{id}", "sigkill"), wait("stopped")))},
		{name: "kill-signal-0", steps: seq(running, steps(r("kill", "{id}", "0")))},
		{name: "kill-signal-0-stopped", steps: seq(stopped, steps(r("kill", "{id}", "0")))},
		{name: "kill-all-after-id", steps: seq(running, steps(r("kill", "{id}", "KILL", "--all"), wait("stopped")))},
		{name: "kill-a", steps: seq(running, steps(r("kill", "-a", "{id}", "KILL"), wait("stopped")))},
		{name: "kill-all-stopped", steps: seq(stopped, steps(r("kill", "--all", "{id}", "KILL")))},
		{name: "kill-stopped", steps: seq(stopped, steps(r("kill", "{id}", "KILL")))},
		{name: "kill-created", steps: seq(created, steps(r("kill", "{id}", "KILL"), wait("stopped")))},
		{name: "kill-bad-signal", steps: seq(running, steps(r("kill", "{id}", "NOSUCHSIG")))},
		{name: "kill-missing", steps: steps(r("kill", "nosuch", "KILL"))},
		{name: "kill-too-many-arguments", steps: seq(running, steps(r("kill", "{id}", "KILL", "extra")))},
		{name: "delete-created", steps: seq(created, steps(r("delete", "{id}")))},
		{name: "delete-running", steps: seq(running, steps(r("delete", "{id}")))},
		{name: "delete-force", steps: seq(running, steps(r("delete", "--force", "{id}")))},
		{name: "delete-force-after-id", steps: seq(running, steps(r("delete", "{id}", "--force")))},
		{name: "delete-f", steps: seq(running, steps(r("delete", "-f", "{id}")))},
		{name: "delete-stopped", steps: seq(stopped, steps(r("delete", "{id}")))},
		{name: "delete-paused", steps: seq(paused, steps(r("delete", "{id}")))},
		{name: "delete-paused-force", steps: seq(paused, steps(r("delete", "--force", "{id}")))},
		{name: "delete-missing", steps: steps(r("delete", "nosuch"))},
		{name: "delete-missing-force", steps: steps(r("delete", "--force", "nosuch"))},
		{name: "pause", steps: paused},
		{name: "pause-resume", steps: seq(paused, steps(r("resume", "{id}")))},
		{name: "pause-created", steps: seq(created, steps(r("pause", "{id}")))},
		{name: "pause-twice", steps: seq(paused, steps(r("pause", "{id}")))},
		{name: "resume-running", steps: seq(running, steps(r("resume", "{id}")))},
		{name: "pause-missing", steps: steps(r("pause", "nosuch"))},
		{name: "resume-missing", steps: steps(r("resume", "nosuch"))},
	}
}

func execCases() []tcase {
	return []tcase{
		{name: "exec", steps: seq(running, steps(r("exec", "{id}", "echo", "hi").withOut()))},
		{name: "exec-exit-status", steps: seq(running, steps(r("exec", "{id}", "sh", "-c", "exit 7")))},
		{name: "exec-args-like-flags", steps: seq(running, steps(r("exec", "{id}", "ls", "-d", "/").withOut()))},
		{name: "exec-flags-after-id", steps: seq(running, steps(r("exec", "{id}", "--env", "A=1", "true")))},
		{name: "exec-env-comma", steps: seq(running, steps(r("exec", "--env", "A=a,b", "{id}", "sh", "-c", "echo $A").withOut()))},
		{name: "exec-env-twice", steps: seq(running, steps(r("exec", "--env", "A=1", "--env", "B=2", "{id}", "sh", "-c", "echo $A $B").withOut()))},
		{name: "exec-e", steps: seq(running, steps(r("exec", "-e", "A=x", "{id}", "sh", "-c", "echo $A").withOut()))},
		{name: "exec-e-and-env", steps: seq(running, steps(r("exec", "-e", "A=1", "--env", "B=2", "{id}", "true")))},
		{name: "exec-cwd", steps: seq(running, steps(r("exec", "--cwd", "/tmp", "{id}", "sh", "-c", "pwd").withOut()))},
		{name: "exec-tty", steps: seq(running, steps(r("exec", "--tty", "{id}", "true")))},
		{name: "exec-tty-console-socket", steps: seq(running, steps(r("exec", "-t", "-d", "--console-socket", "{console}", "{id}", "sleep", "5")))},
		{name: "exec-user", steps: seq(running, steps(r("exec", "--user", "65534", "{id}", "id", "-u").withOut()))},
		{name: "exec-user-gid", steps: seq(running, steps(r("exec", "-u", "65534:65534", "{id}", "id", "-g").withOut()))},
		{name: "exec-user-not-a-number", steps: seq(running, steps(r("exec", "-u", "nobody", "{id}", "true")))},
		{name: "exec-additional-gids", steps: seq(running, steps(r("exec", "-u", "65534", "--additional-gids", "10", "--additional-gids", "20", "{id}", "id", "-G").withOut()))},
		{name: "exec-g", steps: seq(running, steps(r("exec", "-u", "65534", "-g", "10", "{id}", "id", "-G").withOut()))},
		{name: "exec-g-and-additional-gids", steps: seq(running, steps(r("exec", "-g", "10", "--additional-gids", "20", "{id}", "true")))},
		{name: "exec-additional-gids-negative", steps: seq(running, steps(r("exec", "-g", "-5", "{id}", "true")))},
		{name: "exec-process", steps: seq(running, steps(write("{tmp}/process.json", processJSON), r("exec", "--process", "{tmp}/process.json", "{id}").withOut()))},
		{name: "exec-p", steps: seq(running, steps(write("{tmp}/process.json", processJSON), r("exec", "-p", "{tmp}/process.json", "{id}").withOut()))},
		{name: "exec-process-missing", steps: seq(running, steps(r("exec", "-p", "{tmp}/nosuch.json", "{id}")))},
		{name: "exec-process-stdin", steps: seq(running, steps(r("exec", "-p", "-", "{id}").withStdin(processJSON)))},
		{name: "exec-detach", steps: seq(running, steps(r("exec", "--detach", "{id}", "sleep", "5")))},
		{name: "exec-d-pid-file", steps: seq(running, steps(r("exec", "-d", "--pid-file", "{tmp}/pid", "{id}", "sleep", "5"), file("{tmp}/pid")))},
		{name: "exec-pidfd-socket", steps: seq(running, steps(r("exec", "-d", "--pidfd-socket", "{pidfd}", "{id}", "sleep", "5")))},
		{name: "exec-process-label", steps: seq(running, steps(r("exec", "--process-label", "system_u:system_r:container_t:s0", "{id}", "true")))},
		{name: "exec-apparmor", steps: seq(running, steps(r("exec", "--apparmor", "unconfined", "{id}", "true")))},
		{name: "exec-no-new-privs", spec: func(s *specs.Spec) { s.Process.NoNewPrivileges = false },
			steps: seq(running, steps(r("exec", "--no-new-privs", "{id}", "grep", "NoNewPrivs", "/proc/self/status").withOut()))},
		{name: "exec-cap", steps: seq(running, steps(r("exec", "--cap", "CAP_NET_RAW", "{id}", "grep", "Cap", "/proc/self/status").withOut()))},
		{name: "exec-cap-ambient", spec: inheritable("CAP_KILL"),
			steps: seq(running, steps(r("exec", "-c", "CAP_KILL", "{id}", "grep", "CapAmb", "/proc/self/status").withOut()))},
		{name: "exec-cap-unknown", steps: seq(running, steps(r("exec", "--cap", "CAP_TEST", "{id}", "true")))},
		{name: "exec-preserve-fds", steps: seq(running, steps(r("exec", "--preserve-fds", "1", "{id}", "test", "-e", "/proc/self/fd/3").withFiles(1)))},
		{name: "exec-cgroup-v1-controllers", steps: seq(running, steps(mkcg("sub"), r("exec", "--cgroup", "cpu,cpuacct:sub", "{id}", "grep", "cpu", "/proc/self/cgroup").withOut()))},
		{name: "exec-cgroup-path", steps: seq(running, steps(mkcg("sub"), r("exec", "--cgroup", "sub", "{id}", "true")))},
		{name: "exec-cgroup-empty-controller", steps: seq(running, steps(mkcg("sub"), r("exec", "--cgroup", ",cpu:sub", "{id}", "true")))},
		{name: "exec-cgroup-missing", steps: seq(running, steps(r("exec", "--cgroup", "cpu:nosuch", "{id}", "true")))},
		{name: "exec-paused", steps: seq(paused, steps(r("exec", "{id}", "true")))},
		{name: "exec-ignore-paused", steps: seq(paused, steps(r("exec", "-d", "--ignore-paused", "{id}", "true"), r("resume", "{id}")))},
		{name: "exec-stopped", steps: seq(stopped, steps(r("exec", "{id}", "true")))},
		{name: "exec-created", steps: seq(created, steps(r("exec", "{id}", "true")))},
		{name: "exec-no-command", steps: seq(running, steps(r("exec", "{id}")))},
		{name: "exec-missing-program", steps: seq(running, steps(r("exec", "{id}", "/nosuch")))},
		{name: "exec-program-not-in-path", steps: seq(running, steps(r("exec", "{id}", "nosuch")))},
		{name: "exec-missing", steps: steps(r("exec", "nosuch", "true"))},
	}
}

func updateCases() []tcase {
	m64 := memory(64 << 20)
	return []tcase{
		{name: "update-memory", spec: m64, steps: seq(running, steps(r("update", "--memory", "128M", "{id}"))), cgroup: []string{memFile}},
		{name: "update-memory-after-id", spec: m64, steps: seq(running, steps(r("update", "{id}", "--memory", "100M"))), cgroup: []string{memFile}},
		{name: "update-memory-unlimited", spec: m64, steps: seq(running, steps(r("update", "--memory", "-1", "{id}"))), cgroup: []string{memFile}},
		{name: "update-memory-zero", spec: m64, steps: seq(running, steps(r("update", "--memory", "0", "{id}"))), cgroup: []string{memFile}},
		{name: "update-memory-bad", spec: m64, steps: seq(running, steps(r("update", "--memory", "lots", "{id}"))), cgroup: []string{memFile}},
		{name: "update-memory-reservation", steps: seq(running, steps(r("update", "--memory-reservation", "32M", "{id}"))),
			cgroup: []string{"memory.soft_limit_in_bytes|memory.low"}},
		{name: "update-memory-swap", spec: m64, steps: seq(running, steps(r("update", "--memory", "128M", "--memory-swap", "256M", "{id}"))),
			cgroup: []string{memFile, "memory.memsw.limit_in_bytes|memory.swap.max"}},
		{name: "update-cpu-share", steps: seq(running, steps(r("update", "--cpu-share", "512", "{id}"))), cgroup: []string{sharesFile}},
		{name: "update-cpu-quota", steps: seq(running, steps(r("update", "--cpu-quota", "50000", "{id}"))), cgroup: []string{quotaFile, periodFile}},
		{name: "update-cpu-period", steps: seq(running, steps(r("update", "--cpu-period", "200000", "{id}"))), cgroup: []string{quotaFile, periodFile}},
		{name: "update-cpu-period-and-quota", steps: seq(running, steps(r("update", "--cpu-period", "200000", "--cpu-quota", "50000", "{id}"),
			r("update", "--cpu-quota", "80000", "{id}"))), cgroup: []string{quotaFile, periodFile}},
		{name: "update-cpu-burst", steps: seq(running, steps(r("update", "--cpu-quota", "50000", "--cpu-burst", "10000", "{id}"))),
			cgroup: []string{"cpu.cfs_burst_us|cpu.max.burst"}},
		{name: "update-cpu-rt-period", steps: seq(running, steps(r("update", "--cpu-rt-period", "900000", "{id}"))), cgroup: []string{"cpu.rt_period_us"}},
		{name: "update-cpu-rt-runtime", steps: seq(running, steps(r("update", "--cpu-rt-runtime", "1000", "{id}"))), cgroup: []string{"cpu.rt_runtime_us"}},
		{name: "update-cpu-idle", spec: shares(1024), steps: seq(running, steps(r("update", "--cpu-idle", "1", "{id}"))), cgroup: []string{"cpu.idle"}},
		{name: "update-cpu-idle-back", spec: shares(1024), steps: seq(running, steps(r("update", "--cpu-idle", "1", "{id}"),
			r("update", "--cpu-idle", "0", "{id}"))), cgroup: []string{"cpu.idle"}},
		{name: "update-while-idle", spec: shares(1024), steps: seq(running, steps(r("update", "--cpu-idle", "1", "{id}"),
			r("update", "--pids-limit", "9", "{id}"))), cgroup: []string{"cpu.idle", pidsFile}},
		{name: "update-cpuset-cpus", steps: seq(running, steps(r("update", "--cpuset-cpus", "0", "{id}"))), cgroup: []string{"cpuset.cpus"}},
		{name: "update-cpuset-mems", steps: seq(running, steps(r("update", "--cpuset-mems", "0", "{id}"))), cgroup: []string{"cpuset.mems"}},
		{name: "update-pids-limit", steps: seq(running, steps(r("update", "--pids-limit", "10", "{id}"))), cgroup: []string{pidsFile}},
		{name: "update-pids-limit-0", steps: seq(running, steps(r("update", "--pids-limit", "0", "{id}"))), cgroup: []string{pidsFile}},
		{name: "update-pids-limit-unlimited", steps: seq(running, steps(r("update", "--pids-limit", "10", "{id}"),
			r("update", "--pids-limit", "-1", "{id}"))), cgroup: []string{pidsFile}},
		{name: "update-pids-limit-negative", steps: seq(running, steps(r("update", "--pids-limit", "-7", "{id}"))), cgroup: []string{pidsFile}},
		{name: "update-blkio-weight", steps: seq(running, steps(r("update", "--blkio-weight", "500", "{id}")))},
		{name: "update-l3-cache-schema", steps: seq(running, steps(r("update", "--l3-cache-schema", "L3:0=f", "{id}")))},
		{name: "update-mem-bw-schema", steps: seq(running, steps(r("update", "--mem-bw-schema", "MB:0=70", "{id}")))},
		{name: "update-resources-file", steps: seq(running, steps(write("{tmp}/res.json", `{"memory":{"limit":67108864},"pids":{"limit":20}}`),
			r("update", "--resources", "{tmp}/res.json", "{id}"))), cgroup: []string{memFile, pidsFile}},
		{name: "update-r-stdin", steps: seq(running, steps(r("update", "-r", "-", "{id}").withStdin(`{"pids":{"limit":30}}`))), cgroup: []string{pidsFile}},
		{name: "update-docker-zeros", spec: m64, steps: seq(running, steps(r("update", "-r", "-", "{id}").withStdin(
			`{"memory":{"limit":0,"reservation":0,"swap":0},"cpu":{"shares":0,"quota":0,"period":0},"blockIO":{"weight":0},"pids":{"limit":40}}`))),
			cgroup: []string{memFile, pidsFile, sharesFile}},
		{name: "update-device-listed-twice", spec: throttledTwice, steps: seq(running, steps(r("update", "-r", "-", "{id}").withStdin(
			throttleUpdate(3<<20)))), cgroup: []string{throttleRd}},
		{name: "update-resources-bad-json", steps: seq(running, steps(r("update", "-r", "-", "{id}").withStdin(`{"memory":`)))},
		{name: "update-created", steps: seq(created, steps(r("update", "--pids-limit", "5", "{id}"))), cgroup: []string{pidsFile}},
		{name: "update-paused", steps: seq(paused, steps(r("update", "--pids-limit", "5", "{id}"))), cgroup: []string{pidsFile}},
		{name: "update-stopped", steps: seq(stopped, steps(r("update", "--pids-limit", "5", "{id}")))},
		{name: "update-missing", steps: steps(r("update", "--pids-limit", "5", "nosuch"))},
		{name: "update-kernel-memory", steps: seq(running, steps(r("update", "--kernel-memory", "10M", "{id}")))},
		{name: "update-unknown-flag", steps: seq(running, steps(r("update", "--nosuch", "1", "{id}")))},
		{name: "update-no-id", steps: steps(r("update", "--pids-limit", "5"))},
	}
}

func otherCases() []tcase {
	return []tcase{
		{name: "list", steps: seq(created, steps(r("list")))},
		{name: "list-quiet", steps: seq(created, steps(r("list", "--quiet").withOut(), r("list", "-q").withOut()))},
		{name: "list-format-json", steps: seq(created, steps(r("list", "--format", "json"), r("list", "-f", "table")))},
		{name: "list-format-bad", steps: seq(created, steps(r("list", "--format", "yaml")))},
		{name: "list-empty", steps: steps(r("list", "-q").withOut())},
		{name: "list-extra-argument", steps: steps(r("list", "extra"))},
		{name: "ps", steps: seq(running, steps(r("ps", "{id}")))},
		{name: "ps-format-json", steps: seq(running, steps(r("ps", "--format", "json", "{id}")))},
		{name: "ps-f", steps: seq(running, steps(r("ps", "-f", "table", "{id}")))},
		{name: "ps-options", steps: seq(running, steps(r("ps", "{id}", "-o", "pid,comm")))},
		{name: "ps-created", steps: seq(created, steps(r("ps", "{id}")))},
		{name: "ps-stopped", steps: seq(stopped, steps(r("ps", "{id}")))},
		{name: "ps-missing", steps: steps(r("ps", "nosuch"))},
		{name: "events-stats", steps: seq(running, steps(r("events", "--stats", "{id}")))},
		{name: "events-stats-interval", steps: seq(running, steps(r("events", "--stats", "--interval", "1s", "{id}")))},
		{name: "events-stopped", steps: seq(stopped, steps(r("events", "--stats", "{id}")))},
		{name: "events-missing", steps: steps(r("events", "--stats", "nosuch"))},
		{name: "features", steps: steps(r("features"))},
		{name: "spec", steps: steps(raw("spec", "--bundle", "{tmp}"), file("{tmp}/config.json"))},
		{name: "spec-rootless", steps: steps(raw("spec", "--rootless", "-b", "{tmp}"), file("{tmp}/config.json"))},
		{name: "spec-exists", steps: steps(raw("spec", "--bundle", "{tmp}"), raw("spec", "--bundle", "{tmp}"))},
		{name: "spec-in-cwd", steps: steps(raw("spec"), file("{tmp}/config.json"))},
		{name: "checkpoint", steps: seq(running, steps(r("checkpoint", "{id}")))},
		{name: "restore", steps: steps(r("restore", "--bundle", "{bundle}", "{id}"))},
	}
}
