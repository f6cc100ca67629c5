/* Tries to outlive its run. Modes:
 *   setsid MARKER  double fork and setsid; the daemon ignores every signal
 *                  and, 1.5 s later, creates /box/MARKER
 *   timeout        ignores the catchable signals and spins, with children
 *   wall           blocks every signal and sleeps
 *   stopped        leaves a stopped child and a vfork child behind
 *   pidns MARKER   hides the daemon as PID 1 of a nested PID namespace */
#include "atk.h"
#include <sched.h>
#include <sys/prctl.h>

static void ignore_all(void)
{
	for (int s = 1; s < NSIG; s++)
		signal(s, SIG_IGN);
	prctl(PR_SET_PDEATHSIG, 0);
	prctl(PR_SET_NAME, "kworker/0:1");
}

static void linger(const char *marker)
{
	char path[256];
	sleep_ms(1500);
	snprintf(path, sizeof(path), "/box/%s", marker);
	close(open(path, O_WRONLY | O_CREAT, 0644));
	for (;;)
		pause();
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "setsid";
	const char *marker = argc > 2 ? argv[2] : "atk-daemon";

	if (strcmp(mode, "setsid") == 0) {
		pid_t p = fork();
		try("fork", p);
		if (p == 0) {
			try("setsid", setsid());
			if (fork() == 0) {
				ignore_all();
				linger(marker);
			}
			_exit(0);
		}
		waitpid(p, NULL, 0);
		out("TRY daemonize (double fork, setsid): ok\n");
	} else if (strcmp(mode, "timeout") == 0) {
		ignore_all();
		out("TRY ignore signals and spin past the limit: ok\n");
		for (int i = 0; i < 2; i++)
			if (fork() == 0)
				spin();
		spin();
	} else if (strcmp(mode, "wall") == 0) {
		sigset_t all;
		sigfillset(&all);
		sigprocmask(SIG_BLOCK, &all, NULL);
		ignore_all();
		out("TRY block signals and sleep past the wall limit: ok\n");
		for (;;)
			pause();
	} else if (strcmp(mode, "stopped") == 0) {
		pid_t p = fork();
		if (p == 0) {
			raise(SIGSTOP);
			linger(marker);
		}
		try("fork a child that stops itself", p);
		if (fork() == 0) {
			pid_t v = vfork();
			if (v == 0) {
				sleep_ms(1500); /* a vfork child that never execs */
				linger(marker);
			}
			_exit(0);
		}
		out("TRY leave a stopped child and a vfork child: ok\n");
	} else if (strcmp(mode, "pidns") == 0) {
		long p = syscall(SYS_clone, CLONE_NEWUSER | CLONE_NEWPID | SIGCHLD, 0, 0, 0, 0);
		try("clone(NEWUSER|NEWPID)", p);
		if (p < 0) {
			p = fork();
			note("nested PID namespace refused; plain daemon instead\n");
		}
		if (p == 0) {
			ignore_all();
			if (fork() == 0) {
				ignore_all();
				linger(marker);
			}
			linger(marker);
		}
		out("TRY daemon in a nested PID namespace: ok\n");
	}
	done();
	return 0;
}
