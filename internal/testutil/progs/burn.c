/* Burns N milliseconds of CPU (argv[1]), then exits 0. */
#include <stdlib.h>
#include <time.h>

int main(int argc, char **argv)
{
	long ms = argc > 1 ? atol(argv[1]) : 100;
	struct timespec ts;
	volatile unsigned long x = 0;
	for (;;) {
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
		if (ts.tv_sec * 1000 + ts.tv_nsec / 1000000 >= ms)
			return 0;
		for (int i = 0; i < 10000; i++)
			x++;
	}
}
