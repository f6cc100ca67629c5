// expect: OK WA WA
// Asks 1, 2, 3, ... and keeps asking after the interactor gave up: it dies
// of SIGPIPE, which is no runtime error when the interactor said WA first.
#include <stdio.h>

int main(void)
{
	char r = 0;

	for (long x = 1;; x++) {
		printf("? %ld\n", x);
		fflush(stdout);
		if (r != '!' && scanf(" %c", &r) == 1 && r == '=')
			return 0;
		if (feof(stdin))
			r = '!';
	}
}
