/* What one run leaves to the next in the same box: "plant TOKEN" leaves
 * files in /box, /tmp and /dev/shm (8 MiB there), and the token at the
 * bottom of a 300-deep chain of directories in /tmp and /dev/shm (past any
 * fixed recursion depth of a cleaner); "probe" reports what it finds.
 * IPC objects are left by the ipc program. */
#include "atk.h"
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>

#define DEEP 300

/* deep plants (or, with token NULL, looks for) the token DEEP levels below
 * dir. */
static void deep(const char *dir, const char *token)
{
	char path[64];
	if (chdir(dir) < 0)
		return;
	for (int i = 0; i < DEEP; i++) {
		if (token)
			mkdir("d", 0700);
		if (chdir("d") < 0) {
			if (!token)
				out("TRY open %s/d x%d/left: failed (gone at level %d)\n", dir, DEEP, i);
			return;
		}
	}
	snprintf(path, sizeof(path), "%s/d x%d/left", dir, DEEP);
	int fd = open("left", token ? O_WRONLY | O_CREAT | O_TRUNC : O_RDONLY, 0644);
	if (tryf(fd, "%s %s", token ? "create" : "open", path) < 0)
		return;
	if (token) {
		write(fd, token, strlen(token));
	} else {
		char b[128] = {0};
		read(fd, b, sizeof(b) - 1);
		out("FOUND %s: %s\n", path, b);
	}
	close(fd);
}

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
		deep("/tmp", argv[2]);
		deep("/dev/shm", argv[2]);
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
	deep("/tmp", NULL);
	deep("/dev/shm", NULL);
	done();
	return 0;
}
