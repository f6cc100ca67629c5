/* Tries calls the judge's seccomp policy answers, and prints for each
 * "name ok" or "name ERRNONAME". Every probe succeeds or fails otherwise
 * without the policy. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/personality.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

static void report(const char *name, long rc)
{
	printf("%s %s\n", name, rc < 0 ? strerrorname_np(errno) : "ok");
}

/* A clone that succeeds must not leave a second copy of this program. */
static long try_clone(unsigned long flags)
{
	long rc = syscall(SYS_clone, flags | SIGCHLD, 0, 0, 0, 0);
	if (rc == 0)
		_exit(0);
	if (rc > 0)
		waitpid((pid_t)rc, NULL, 0);
	return rc;
}

int main(void)
{
	const unsigned long high = 1ul << 32;
	char c = 'x';
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
	struct clone_args ca = {.exit_signal = SIGCHLD};
	int fd = open("syscalls.lock", O_RDWR | O_CREAT, 0600);
	long rc;

	report("clone-user", try_clone(CLONE_NEWUSER));
	report("clone-pid", try_clone(CLONE_NEWUSER | CLONE_NEWPID));
	rc = syscall(SYS_clone3, &ca, sizeof(ca));
	if (rc == 0)
		_exit(0);
	if (rc > 0)
		waitpid((pid_t)rc, NULL, 0);
	report("clone3", rc);
	report("fork", try_clone(0));
	report("tiocsti", ioctl(0, TIOCSTI, &c));
	report("tiocsti-high", syscall(SYS_ioctl, 0, high | TIOCSTI, &c));
	report("setlk", fcntl(fd, F_SETLK, &fl));
	report("setlk-high", syscall(SYS_fcntl, fd, high | F_SETLK, &fl));
	report("flock", flock(fd, LOCK_EX));
	report("keyctl", syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3 /* session */, 1));
	report("personality-query", personality(0xffffffff));
	report("personality-norandom", personality(ADDR_NO_RANDOMIZE));
	/* Last: where it works it moves this process into a new namespace. */
	report("unshare-user", unshare(CLONE_NEWUSER));
	return 0;
}
