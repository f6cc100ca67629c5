/* Fills the box's /dev/shm (memory, not disk) in 1 MiB steps. argv[1]: MiB. */
#include "atk.h"

int main(int argc, char **argv)
{
	long want = argc > 1 ? atol(argv[1]) : 256;
	static char buf[1 << 20];
	long mib = 0;

	memset(buf, 0x5a, sizeof(buf));
	int fd = open("/dev/shm/fill", O_WRONLY | O_CREAT | O_TRUNC, 0644);
	try("create /dev/shm/fill", fd);
	out("TRY fill /dev/shm: ok\n");
	for (; mib < want; mib++)
		if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
			break;
	out("FILLED %ld MiB (%s)\n", mib, mib < want ? ename(errno) : "all");
	done();
	return 0;
}
