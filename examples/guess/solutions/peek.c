// expect: PE PE PE
// Looks for the secret where the interactor reads it; the interactor's
// files are not in this sandbox, so it gives up without a question.
#include <stdio.h>

int main(void)
{
	const char *paths[] = {"/data/1.in", "/data/2.in", "/data/3.in", "/box/1.in"};
	long secret;

	for (int i = 0; i < 4; i++) {
		FILE *f = fopen(paths[i], "r");
		if (f && fscanf(f, "%ld", &secret) == 1) {
			printf("? %ld\n", secret);
			fflush(stdout);
			return 0;
		}
	}
	return 0;
}
