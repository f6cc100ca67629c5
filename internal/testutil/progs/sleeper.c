/* Sleeps for argv[1] milliseconds (default: forever). */
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc > 1) {
		usleep((useconds_t)atol(argv[1]) * 1000);
		return 0;
	}
	for (;;)
		pause();
}
