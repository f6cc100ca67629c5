/* Changes what a program shares with its caller through stdin and stdout:
 * status flags, the SIGIO owner and signal. Exits 1 if the kernel refused. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

int main(void)
{
	/* The signals asked for would land on this process itself. */
	signal(SIGIO, SIG_IGN);
	signal(SIGUSR1, SIG_IGN);
	for (int fd = 0; fd <= 1; fd++) {
		int fl = fcntl(fd, F_GETFL);
		if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK | O_APPEND | O_ASYNC) < 0)
			return 1;
		if (fcntl(fd, F_SETOWN, getpid()) < 0 || fcntl(fd, F_SETSIG, SIGUSR1) < 0)
			return 1;
		/* Regular files ignore O_ASYNC. */
		if ((fcntl(fd, F_GETFL) & (O_NONBLOCK | O_APPEND)) != (O_NONBLOCK | O_APPEND))
			return 1;
	}
	return 0;
}
