/* A solution with a helper: the child allocates argv[1] MiB (and is
 * OOM-killed under a smaller limit), the main process waits for it, prints
 * argv[2] and exits 0, whatever became of the child. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	long mib = argc > 1 ? atol(argv[1]) : 256;
	pid_t pid = fork();
	if (pid == 0) {
		for (long i = 0; i < mib; i++) {
			char *p = malloc(1 << 20);
			if (!p)
				_exit(3);
			memset(p, 1, 1 << 20);
		}
		_exit(0);
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
	printf("%s\n", argc > 2 ? argv[2] : "done");
	return 0;
}
