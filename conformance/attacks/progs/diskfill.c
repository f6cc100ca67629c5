/* Fills the disk under RLIMIT_FSIZE: "one" writes one huge file with the
 * default SIGXFSZ; "many N" ignores SIGXFSZ and writes N files, each as far
 * as the limit lets it. */
#include "atk.h"

int main(int argc, char **argv)
{
	static char buf[1 << 20];
	int many = argc > 1 && strcmp(argv[1], "many") == 0;
	int files = many && argc > 2 ? atoi(argv[2]) : 1;

	memset(buf, 'x', sizeof(buf));
	if (many)
		signal(SIGXFSZ, SIG_IGN);
	out("TRY fill the disk (%s): ok\n", many ? "many files" : "one file");
	for (int f = 0; f < files; f++) {
		char name[64];
		snprintf(name, sizeof(name), "/box/fill%d", f);
		int fd = open(name, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		long total = 0;
		ssize_t w;
		while ((w = write(fd, buf, sizeof(buf))) > 0 && total < (1L << 30))
			total += w;
		out("WROTE %s %ld (%s)\n", name, total, w < 0 ? ename(errno) : "cap");
		close(fd);
	}
	done();
	return 0;
}
