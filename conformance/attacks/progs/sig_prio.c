/* Reaches processes by user rather than by pid: setpriority and ioprio_set
 * for every process of its uid (the host may have some), and the scheduler
 * and affinity of pid 1. */
#include "atk.h"
#include <sched.h>
#include <sys/resource.h>

int main(void)
{
	uid_t uid = getuid();

	if (tryf(setpriority(PRIO_USER, uid, 19), "setpriority(PRIO_USER %d, 19)", (int)uid) >= 0)
		note("renice by user works (must stay inside the box)\n");
	try("setpriority(PRIO_USER 0, 19)", setpriority(PRIO_USER, 0, 19));
	try("setpriority(PRIO_PROCESS 1, 19)", setpriority(PRIO_PROCESS, 1, 19));
	try("setpriority(PRIO_PGRP 1, 19)", setpriority(PRIO_PGRP, 1, 19));
	/* IOPRIO_WHO_USER = 3, class idle (3) << 13. */
	tryf(syscall(SYS_ioprio_set, 3, uid, 3 << 13), "ioprio_set(WHO_USER %d, idle)", (int)uid);
	try("ioprio_set(WHO_PROCESS 1, idle)", syscall(SYS_ioprio_set, 1, 1, 3 << 13));
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(0, &set);
	try("sched_setaffinity(1)", sched_setaffinity(1, sizeof(set), &set));
	struct sched_param sp = {.sched_priority = 0};
	try("sched_setscheduler(1, IDLE)", sched_setscheduler(1, SCHED_IDLE, &sp));
	struct sched_param rt = {.sched_priority = 50};
	if (try("sched_setscheduler(self, FIFO)", sched_setscheduler(0, SCHED_FIFO, &rt)) >= 0)
		escape("real-time scheduling\n");
	try("kill(-1, SIGSTOP)", kill(-1, SIGSTOP));
	done();
	return 0;
}
