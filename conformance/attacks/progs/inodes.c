/* Creates empty files until the filesystem refuses or argv[1] files per place. */
#include "atk.h"

int main(int argc, char **argv)
{
	long max = argc > 1 ? atol(argv[1]) : 20000;
	const char *dirs[] = {"/box/i", "/tmp/i", "/dev/shm/i"};
	char path[256];

	for (size_t d = 0; d < 3; d++) {
		mkdir(dirs[d], 0755);
		long n = 0;
		int err = 0;
		for (; n < max; n++) {
			snprintf(path, sizeof(path), "%s/%ld", dirs[d], n);
			int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
			if (fd < 0) {
				err = errno;
				break;
			}
			close(fd);
		}
		out("TRY create files in %s: ok (%ld, %s)\nCREATED %s %ld\n", dirs[d], n, err ? ename(err) : "cap reached", dirs[d], n);
	}
	done();
	return 0;
}
