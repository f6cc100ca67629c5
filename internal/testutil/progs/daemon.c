/* Leaves a daemonized grandchild that touches argv[1] after 300 ms, then exits 0. */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (fork() == 0) {
		setsid();
		if (fork() == 0) {
			usleep(300000);
			close(open(argc > 1 ? argv[1] : "/tmp/daemon-alive", O_CREAT | O_WRONLY, 0644));
			for (;;)
				pause();
		}
		_exit(0);
	}
	return 0;
}
