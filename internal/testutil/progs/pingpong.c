/*
 * pingpong serve N: writes a line, waits for it back, N times, and exits 0
 *                   when every answer was the line it sent.
 * pingpong echo:    writes back every line it reads until end of file.
 * Both use raw read and write on fds 0 and 1: a round trip is two pipe
 * writes and two reads, so that the exchange, not stdio, is measured.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int readline(char *buf, size_t max)
{
	size_t n = 0;

	while (n + 1 < max) {
		ssize_t r = read(0, buf + n, 1);
		if (r <= 0)
			return -1;
		if (buf[n++] == '\n')
			break;
	}
	buf[n] = 0;
	return (int)n;
}

int main(int argc, char **argv)
{
	char out[32], in[32];

	if (argc == 3 && !strcmp(argv[1], "serve")) {
		long n = atol(argv[2]);
		for (long i = 0; i < n; i++) {
			int len = snprintf(out, sizeof(out), "%ld\n", i);
			if (write(1, out, (size_t)len) != len || readline(in, sizeof(in)) < 0 || strcmp(in, out))
				return 1;
		}
		return 0;
	}
	if (argc == 2 && !strcmp(argv[1], "echo")) {
		int len;
		while ((len = readline(in, sizeof(in))) > 0)
			if (write(1, in, (size_t)len) != len)
				return 1;
		return 0;
	}
	fprintf(stderr, "usage: pingpong serve N | pingpong echo\n");
	return 2;
}
