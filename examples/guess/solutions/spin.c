// expect: TO TO TO
// Asks once, then computes for ever: its own CPU limit ends it.
#include <stdio.h>

int main(void)
{
	volatile unsigned long n = 0;

	printf("? 500000\n");
	fflush(stdout);
	for (;;)
		n++;
}
