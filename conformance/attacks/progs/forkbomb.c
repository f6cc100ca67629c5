/* A fork bomb: every process forks for ever and spins. */
#include "atk.h"

int main(void)
{
	out("TRY fork bomb: ok\n");
	int ok = 0, failed = 0;
	for (int i = 0; i < 1000000; i++) {
		pid_t p = fork();
		if (p == 0) {
			ok = failed = 0;
			continue;
		}
		if (p > 0)
			ok++;
		else
			failed++;
		if (failed == 1 && ok < 1000000)
			out("FORKED %d then %s\n", ok, ename(errno));
		if (failed > 100)
			spin();
	}
	spin();
}
