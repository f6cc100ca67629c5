/* Changes the status flags of its stdin, stdout and stderr. Those are the
 * caller's open file descriptions: O_NONBLOCK set here would be seen by the
 * judge and whatever shares its terminal or pipes. */
#include "atk.h"

int main(void)
{
	/* The I/O signals these flags ask for would land on this process
	 * itself, at whatever moment the judge drains its pipes. */
	signal(SIGIO, SIG_IGN);
	signal(SIGUSR2, SIG_IGN);
	for (int fd = 0; fd < 3; fd++) {
		int fl = fcntl(fd, F_GETFL);
		tryf(fcntl(fd, F_SETFL, fl | O_NONBLOCK | O_APPEND | O_ASYNC), "fcntl(%d, F_SETFL, O_NONBLOCK|O_APPEND|O_ASYNC)", fd);
		tryf(fcntl(fd, F_SETOWN, getpid()), "fcntl(%d, F_SETOWN, self)", fd);
		tryf(fcntl(fd, F_SETSIG, SIGUSR2), "fcntl(%d, F_SETSIG, SIGUSR2)", fd);
	}
	done();
	return 0;
}
