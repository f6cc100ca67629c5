/* Forks, then parent and child both spin. */
#include <unistd.h>

int main(void)
{
	volatile unsigned long x = 0;
	fork();
	for (;;)
		x++;
}
