/* Signals everything it can name: the judge init (PID 1) with every fatal
 * signal and through a pidfd, kill(-1), and every pid up to argv[1] (the
 * suite passes the host's highest pid, with room), or up to pid_max. */
#include "atk.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

int main(int argc, char **argv)
{
	int sigs[] = {SIGKILL, SIGTERM, SIGSTOP, SIGSEGV, SIGINT, SIGHUP, SIGQUIT, SIGABRT, SIGUSR1};
	const char *names[] = {"KILL", "TERM", "STOP", "SEGV", "INT", "HUP", "QUIT", "ABRT", "USR1"};

	out("TRY getppid: ok (%d)\n", (int)getppid());
	for (size_t i = 0; i < sizeof(sigs) / sizeof(*sigs); i++)
		tryf(kill(1, sigs[i]), "kill(1, SIG%s)", names[i]);
	tryf(kill(getppid(), SIGKILL), "kill(ppid %d, SIGKILL)", (int)getppid());
	long pfd = syscall(SYS_pidfd_open, 1, 0);
	try("pidfd_open(1)", pfd);
	if (pfd >= 0)
		try("pidfd_send_signal(1, SIGKILL)", syscall(SYS_pidfd_send_signal, (int)pfd, SIGKILL, NULL, 0));
	try("tgkill(1, 1, SIGKILL)", syscall(SYS_tgkill, 1, 1, SIGKILL));
	siginfo_t si = {.si_signo = SIGKILL, .si_code = -1 /* SI_QUEUE */};
	try("rt_sigqueueinfo(1, SIGKILL)", syscall(SYS_rt_sigqueueinfo, 1, SIGKILL, &si));
	signal(SIGTERM, SIG_IGN);
	try("kill(-1, SIGKILL)", kill(-1, SIGKILL));
	/* Every pid the kernel could hand out. */
	long max = 32768;
	FILE *f = fopen("/proc/sys/kernel/pid_max", "r");
	if (f) {
		fscanf(f, "%ld", &max);
		fclose(f);
	}
	if (argc > 1)
		max = atol(argv[1]);
	if (max > 4194304)
		max = 4194304;
	int visible = 0, self = getpid();
	for (long p = 2; p <= max; p++) {
		if (p == self)
			continue;
		if (kill((pid_t)p, 0) == 0 || errno == EPERM) {
			visible++;
			kill((pid_t)p, SIGKILL);
		}
	}
	out("TRY kill every pid up to %ld: ok (%d visible)\n", max, visible);
	sleep_ms(100);
	done();
	return 0;
}
