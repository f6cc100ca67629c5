/* Plants symlinks to host paths in the box for the judge's own work on the
 * box after the run: chown before and after each run, and --cleanup.
 * argv[1]: a host directory; argv[2]: a host file. */
#include "atk.h"

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "/etc";
	const char *file = argc > 2 ? argv[2] : "/etc/passwd";

	chdir("/box");
	tryf(symlink(dir, "victim-dir"), "symlink victim-dir -> %s", dir);
	tryf(symlink(file, "victim-file"), "symlink victim-file -> %s", file);
	mkdir("d", 0777);
	mkdir("d/e", 0777);
	tryf(symlink(dir, "d/e/victim"), "symlink d/e/victim -> %s", dir);
	tryf(symlink(file, "d/e/victim-file"), "symlink d/e/victim-file -> %s", file);
	try("symlink loop -> loop", symlink("loop", "loop"));
	try("symlink d/e/up -> ../../..", symlink("../../..", "d/e/up"));
	/* A directory the judge cannot enter without fixing modes. */
	mkdir("locked", 0700);
	close(open("locked/f", O_WRONLY | O_CREAT, 0600));
	try("chmod locked 000", chmod("locked", 0));
	done();
	return 0;
}
