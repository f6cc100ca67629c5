/* Dies in the way argv[1] names: segv, abort, stack, fsize, sigsys, exit:N. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int recurse(int n)
{
	volatile char pad[4096];
	pad[0] = (char)n;
	return recurse(n + 1) + pad[0];
}

int main(int argc, char **argv)
{
	const char *how = argc > 1 ? argv[1] : "segv";
	if (!strcmp(how, "segv")) {
		volatile int *p = NULL;
		return *p;
	}
	if (!strcmp(how, "abort"))
		abort();
	if (!strcmp(how, "stack"))
		return recurse(0);
	if (!strcmp(how, "fsize")) {
		FILE *f = fopen(argc > 2 ? argv[2] : "big", "w");
		char buf[4096] = {0};
		for (;;)
			fwrite(buf, 1, sizeof(buf), f);
	}
	if (!strcmp(how, "sigsys"))
		raise(SIGSYS); /* as seccomp kills, but with nothing in the kernel log */
	if (!strncmp(how, "exit:", 5))
		return atoi(how + 5);
	return 0;
}
