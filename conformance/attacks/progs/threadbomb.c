/* Creates threads until it cannot, then every thread spins. */
#include "atk.h"
#include <pthread.h>

static void *worker(void *arg)
{
	(void)arg;
	spin();
	return NULL;
}

int main(void)
{
	pthread_attr_t a;
	pthread_t t;
	int n = 0, rc = 0;

	pthread_attr_init(&a);
	pthread_attr_setstacksize(&a, 64 << 10);
	while (n < 100000 && (rc = pthread_create(&t, &a, worker, NULL)) == 0)
		n++;
	out("TRY thread bomb: ok (%d threads, then %s)\nTHREADS %d\n", n, rc ? ename(rc) : "none", n);
	spin();
}
