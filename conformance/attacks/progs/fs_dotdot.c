/* Climbs out of /box with "..": chdir, relative and absolute paths, openat.
 * argv: host paths of secret files. */
#include "atk.h"

int main(int argc, char **argv)
{
	char path[8192], cwd[4096];
	struct stat root, up;

	for (int i = 0; i < 40; i++)
		chdir("..");
	try("getcwd after 40x chdir(..)", getcwd(cwd, sizeof(cwd)) ? 0 : -1);
	out("CWD %s\n", cwd);
	listdir(".");
	if (stat("/", &root) == 0 && stat("/..", &up) == 0 && (root.st_ino != up.st_ino || root.st_dev != up.st_dev))
		escape("/.. is not / (inode %lu vs %lu)\n", (unsigned long)up.st_ino, (unsigned long)root.st_ino);
	for (int i = 1; i < argc; i++) {
		dump(argv[i]);
		snprintf(path, sizeof(path), "../../../../../../../../../..%s", argv[i]);
		dump(path);
		snprintf(path, sizeof(path), "/box/../../../../..%s", argv[i]);
		dump(path);
		int dfd = open("/box", O_RDONLY | O_DIRECTORY);
		snprintf(path, sizeof(path), "../../../../../..%s", argv[i]);
		int fd = openat(dfd, path, O_RDONLY);
		tryf(fd, "openat(/box, %s)", path);
		if (fd >= 0) {
			char buf[256];
			ssize_t n = read(fd, buf, sizeof(buf) - 1);
			if (n > 0) {
				buf[n] = 0;
				out("READ %s: %s\n", path, buf);
			}
			close(fd);
		}
		close(dfd);
	}
	/* The box directory's neighbour on the host: <box_root>/<id>/secret-beside-box. */
	chdir("/box");
	dump("../secret-beside-box");
	dump("/box/../secret-beside-box");
	dump("../../secret-beside-box");
	done();
	return 0;
}
