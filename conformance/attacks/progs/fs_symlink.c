/* Plants symlinks to host files: reads through them, and leaves some for
 * the judge (in.txt, out.txt) and for the next run.
 * argv: host paths of secret files. */
#include "atk.h"

int main(int argc, char **argv)
{
	char name[64], path[8192];

	chdir("/box");
	for (int i = 1; i < argc; i++) {
		snprintf(name, sizeof(name), "link%d", i);
		tryf(symlink(argv[i], name), "symlink %s -> %s", name, argv[i]);
		dump(name);
		snprintf(name, sizeof(name), "rootlink%d", i);
		snprintf(path, sizeof(path), "/proc/1/root%s", argv[i]);
		tryf(symlink(path, name), "symlink %s -> %s", name, path);
		dump(name);
		int fd = open(name, O_WRONLY | O_APPEND);
		tryf(fd, "open %s for writing", name);
		if (fd >= 0)
			close(fd);
	}
	try("symlink beside -> ../secret-beside-box", symlink("../secret-beside-box", "beside"));
	dump("beside");
	if (argc > 1) {
		/* For the judge: its next --run opens these as -i and -o. */
		try("symlink in.txt -> secret", symlink(argv[1], "in.txt"));
		try("symlink out.txt -> secret", symlink(argv[1], "out.txt"));
	}
	mkdir("d", 0777);
	try("symlink d/root -> /", symlink("/", "d/root"));
	try("symlink d/up -> ../..", symlink("../..", "d/up"));
	done();
	return 0;
}
