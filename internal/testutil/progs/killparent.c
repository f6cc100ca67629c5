/* Tries to kill every process it can name: its parent, PID 1, and -1. */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

int main(void)
{
	int failures = 0;
	int sigs[] = {SIGKILL, SIGTERM, SIGSTOP, SIGSEGV};
	for (unsigned i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		failures += kill(getppid(), sigs[i]) != 0;
		failures += kill(1, sigs[i]) != 0;
	}
	kill(-1, SIGTERM);
	printf("still alive, %d kills refused\n", failures);
	return 0;
}
