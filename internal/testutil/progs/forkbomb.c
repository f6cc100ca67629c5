/* Forks forever; every process keeps forking and sleeping. */
#include <unistd.h>

int main(void)
{
	for (;;) {
		fork();
		usleep(1000);
	}
}
