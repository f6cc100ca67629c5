// expect: RE RE RE
// Asks once, then crashes before the interactor has decided.
#include <stdio.h>

int main(void)
{
	char r;

	printf("? 500000\n");
	fflush(stdout);
	if (scanf(" %c", &r) != 1)
		return 1;
	return *(volatile int *)0;
}
