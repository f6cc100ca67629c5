/* Burns N milliseconds of CPU (argv[1]) from the start of main, then exits
 * 0. The process's clock also counts its time before the exec, which the
 * run's cgroup may not see (the child joins it just before exec): burning
 * beyond the clock's value at main makes the cgroup see at least N ms. */
#include <stdlib.h>
#include <time.h>

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	long long ms = argc > 1 ? atol(argv[1]) : 100;
	long long end = now_ns() + ms * 1000000LL;
	volatile unsigned long x = 0;
	while (now_ns() < end)
		for (int i = 0; i < 10000; i++)
			x++;
	return 0;
}
