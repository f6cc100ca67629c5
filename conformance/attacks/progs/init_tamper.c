/* Changes the judge init (PID 1, the same uid as the program) so that the
 * box's later runs inherit the change: "tamper" renices it, gives it idle
 * CPU and I/O scheduling, pins it to one CPU and lowers its resource limits
 * with prlimit; "probe" prints what a run inherits. */
#include "atk.h"
#include <sched.h>
#include <sys/resource.h>

static const struct {
	int res;
	const char *name;
} limits[] = {
	{RLIMIT_NOFILE, "nofile"}, {RLIMIT_FSIZE, "fsize"}, {RLIMIT_CPU, "cpu"}, {RLIMIT_NPROC, "nproc"},
	{RLIMIT_STACK, "stack"}, {RLIMIT_AS, "as"}, {RLIMIT_CORE, "core"}, {RLIMIT_DATA, "data"},
	{RLIMIT_SIGPENDING, "sigpending"}, {RLIMIT_MSGQUEUE, "msgqueue"}, {RLIMIT_NICE, "nice"}, {RLIMIT_RTPRIO, "rtprio"},
};

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "tamper") == 0) {
		try("setpriority(PRIO_PROCESS 1, 19)", setpriority(PRIO_PROCESS, 1, 19));
		try("ioprio_set(PROCESS 1, idle)", syscall(SYS_ioprio_set, 1, 1, 3 << 13));
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(0, &set);
		try("sched_setaffinity(1, {0})", sched_setaffinity(1, sizeof(set), &set));
		struct sched_param sp = {0};
		try("sched_setscheduler(1, SCHED_IDLE)", sched_setscheduler(1, SCHED_IDLE, &sp));
		for (size_t i = 0; i < sizeof(limits) / sizeof(*limits); i++) {
			struct rlimit rl = {.rlim_cur = 1, .rlim_max = 1};
			if (limits[i].res == RLIMIT_NOFILE)
				rl.rlim_cur = rl.rlim_max = 8;
			if (limits[i].res == RLIMIT_FSIZE)
				rl.rlim_cur = rl.rlim_max = 4096;
			tryf(prlimit(1, limits[i].res, &rl, NULL), "prlimit(1, %s)", limits[i].name);
		}
		done();
		return 0;
	}
	struct sched_param sp;
	cpu_set_t set;
	sched_getaffinity(0, sizeof(set), &set);
	sched_getparam(0, &sp);
	out("TRY probe what the run inherits: ok\n");
	out("INHERIT nice %d policy %d ioprio %#lx cpus %d", getpriority(PRIO_PROCESS, 0), sched_getscheduler(0),
	    syscall(SYS_ioprio_get, 1, 0), CPU_COUNT(&set));
	for (size_t i = 0; i < sizeof(limits) / sizeof(*limits); i++) {
		struct rlimit rl;
		getrlimit(limits[i].res, &rl);
		out(" %s %lld/%lld", limits[i].name, (long long)rl.rlim_cur, (long long)rl.rlim_max);
	}
	out("\n");
	done();
	return 0;
}
