// expect: OK OK OK
// Binary search: 20 questions at most.
#include <stdio.h>

int main(void)
{
	long lo = 1, hi = 1000000;
	char r;

	for (;;) {
		long m = (lo + hi) / 2;
		printf("? %ld\n", m);
		fflush(stdout);
		if (scanf(" %c", &r) != 1)
			return 1;
		if (r == '=')
			return 0;
		if (r == '<')
			hi = m - 1;
		else
			lo = m + 1;
	}
}
