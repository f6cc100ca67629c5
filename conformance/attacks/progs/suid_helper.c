/* The host's setuid-root program: the suite installs it mode 4755, owned by
 * root, in a directory it binds into the box. If it ever runs as root it
 * leaves a marker in the root-owned directory argv[1]. */
#include "atk.h"

int main(int argc, char **argv)
{
	char path[4096];

	out("HELPER euid %d uid %d\n", (int)geteuid(), (int)getuid());
	out("TRY exec setuid-root helper: ok (euid %d)\n", (int)geteuid());
	if (geteuid() == 0) {
		escape("a setuid-root binary ran as root in the box\n");
		if (argc > 2) {
			snprintf(path, sizeof(path), "%s/%s-suid", argv[1], argv[2]);
			close(open(path, O_WRONLY | O_CREAT, 0644));
		}
	}
	return 0;
}
