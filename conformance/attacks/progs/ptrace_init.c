/* Attaches to the judge init: ptrace, process_vm_writev, /proc/1/mem, and
 * stealing its fds (the supervisor's socket) with pidfd_getfd. */
#include "atk.h"
#include <sys/ptrace.h>
#include <sys/uio.h>

int main(void)
{
	if (try("ptrace(ATTACH, 1)", ptrace(PTRACE_ATTACH, 1, 0, 0)) >= 0)
		escape("attached to the judge init\n");
	if (try("ptrace(SEIZE, 1)", ptrace(PTRACE_SEIZE, 1, 0, 0)) >= 0)
		escape("seized the judge init\n");
	try("ptrace(TRACEME)", ptrace(PTRACE_TRACEME, 0, 0, 0));
	char buf[16] = "atk";
	struct iovec l = {buf, sizeof(buf)}, r = {(void *)0x400000, sizeof(buf)};
	if (try("process_vm_writev(1)", syscall(SYS_process_vm_writev, 1, &l, 1, &r, 1, 0)) >= 0)
		escape("wrote the init's memory\n");
	int fd = open("/proc/1/mem", O_RDWR);
	if (try("open /proc/1/mem", fd) >= 0)
		escape("opened the init's memory\n");
	long pfd = syscall(434 /* pidfd_open */, 1, 0);
	try("pidfd_open(1)", pfd);
	for (int i = 0; pfd >= 0 && i < 8; i++) {
		long got = syscall(438 /* pidfd_getfd */, (int)pfd, i, 0);
		if (tryf(got, "pidfd_getfd(init, %d)", i) >= 0)
			escape("took the init's fd %d\n", i);
	}
	try("kcmp(1, self)", syscall(SYS_kcmp, 1, getpid(), 0 /* KCMP_FILE */, 0, 0));
	/* A child of its own must not be traceable either: ptrace is blocked. */
	pid_t c = fork();
	if (c == 0) {
		pause();
		_exit(0);
	}
	if (c > 0) {
		try("ptrace(ATTACH, own child)", ptrace(PTRACE_ATTACH, c, 0, 0));
		kill(c, SIGKILL);
		waitpid(c, NULL, 0);
	}
	done();
	return 0;
}
