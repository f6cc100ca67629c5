/*
 * The guessing game's interactor, in testlib's conventions: exit 0
 * accepted, 1 wrong answer, 2 presentation error, 3 the interactor failed.
 * argv[1] is the test: the secret number, from 1 to 1000000. The solution
 * asks "? X" and is told "<" (the secret is smaller), ">" (bigger) or "="
 * (found, and the game is over); 25 questions at most.
 */
#include <signal.h>
#include <stdio.h>

int main(int argc, char **argv)
{
	long secret, x;
	char q;
	FILE *in;

	/* A solution that quits early must not turn into a judge error. */
	signal(SIGPIPE, SIG_IGN);
	if (argc != 2 || !(in = fopen(argv[1], "r")) || fscanf(in, "%ld", &secret) != 1)
		return 3;
	for (int asked = 1; asked <= 25; asked++) {
		if (scanf(" %c %ld", &q, &x) != 2 || q != '?')
			return 2;
		if (x == secret) {
			printf("=\n");
			fflush(stdout);
			return 0;
		}
		printf("%c\n", secret < x ? '<' : '>');
		fflush(stdout);
	}
	return 1;
}
