// expect: TO TO TO
// Waits for the interactor to speak first, which it never does: a
// deadlock, ended by the wall-time limit.
#include <stdio.h>

int main(void)
{
	char r;
	return scanf(" %c", &r) == 1 ? 0 : 1;
}
