/* Spins on the CPU in N threads (default 2) until killed. */
#include <pthread.h>
#include <stdlib.h>

static void *spin(void *arg)
{
	volatile unsigned long x = 0;
	(void)arg;
	for (;;)
		x++;
	return NULL;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 2;
	pthread_t t;
	for (int i = 1; i < n; i++)
		pthread_create(&t, NULL, spin, NULL);
	spin(NULL);
}
