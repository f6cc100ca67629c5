/* What one run leaves to the next in the same box: "plant TOKEN" leaves
 * files in /box, /tmp and /dev/shm (8 MiB there); "probe" reports what it
 * finds. IPC objects are left by the ipc program. */
#include "atk.h"
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>

int main(int argc, char **argv)
{
	static char buf[1 << 20];
	const char *places[] = {"/box/left", "/tmp/left", "/dev/shm/left"};

	if (argc > 2 && strcmp(argv[1], "plant") == 0) {
		for (int i = 0; i < 3; i++) {
			int fd = open(places[i], O_WRONLY | O_CREAT | O_TRUNC, 0644);
			tryf(fd, "create %s", places[i]);
			write(fd, argv[2], strlen(argv[2]));
			if (i == 2) {
				memset(buf, 'z', sizeof(buf));
				for (int k = 0; k < 8; k++)
					write(fd, buf, sizeof(buf));
			}
			close(fd);
		}
		done();
		return 0;
	}
	for (int i = 0; i < 3; i++) {
		char b[128] = {0};
		int fd = open(places[i], O_RDONLY);
		if (tryf(fd, "open %s", places[i]) >= 0) {
			read(fd, b, sizeof(b) - 1);
			b[strcspn(b, "z")] = 0;
			out("FOUND %s: %s\n", places[i], b);
		}
	}
	listdir("/dev/shm");
	done();
	return 0;
}
