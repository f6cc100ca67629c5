/* Builds a chain of argv[1] nested directories with names of argv[2]
 * bytes in the working directory (/box), with a FIFO, a socket and a
 * symlink to a host secret at the bottom and a mode-000 directory half
 * way: root's walks of the box after the run (chown, removal of special
 * files, --cleanup) must handle it in bounded memory and fds. */
#include "atk.h"
#include <sys/socket.h>
#include <sys/un.h>

int main(int argc, char **argv)
{
	long depth = argc > 1 ? atol(argv[1]) : 1000, i;
	int len = argc > 2 ? atoi(argv[2]) : 1;
	char name[256];

	if (len < 1 || len > 255)
		len = 1;
	memset(name, 'd', (size_t)len);
	name[len] = 0;
	for (i = 0; i < depth; i++) {
		if (mkdir(name, 0700) < 0 || chdir(name) < 0)
			break;
		if (i == depth / 2)
			mkdir("locked", 0);
	}
	mkfifo("fifo", 0600);
	symlink("/etc/shadow", "link");
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un un = {.sun_family = AF_UNIX};
	strcpy(un.sun_path, "sock");
	bind(s, (struct sockaddr *)&un, sizeof(un));
	out("TRY build a chain %ld deep of %d-byte names: %s (%ld)\n", depth, len, i == depth ? "ok" : "failed", i);
	done();
	return 0;
}
