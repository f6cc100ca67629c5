/*
 * floor measures what each shape of a judge API costs on this machine, in
 * C, with no sandbox: the least any implementation of that shape can take.
 * docs/performance.md ("The floor of each shape") has the figures.
 *
 *   floor [rounds]            a client times, interleaved, 2 ms apart:
 *                               bare:   posix_spawn + waitpid of /bin/true
 *                               direct: a request to a server process that
 *                                       spawns it and replies
 *                               hop:    a request to a server that asks a
 *                                       second process (an init) to spawn
 *                                       it: the manager's shape today
 *                               ping:   a request the server answers at once
 *   floor -manager SOCKET [rounds]
 *                             pings a mini-isolate manager from C: its round
 *                             trip without a Go client's
 *
 * Build: cc -O2 -o floor hack/bench/floor/floor.c
 */
#define _GNU_SOURCE
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static double now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static int run_true(void)
{
	char *argv[] = {"/bin/true", NULL};
	pid_t pid;
	int status = -1;

	if (posix_spawn(&pid, "/bin/true", NULL, NULL, argv, environ) != 0)
		return -1;
	while (waitpid(pid, &status, 0) < 0)
		;
	return status;
}

/* The init: spawns on request, replies with the status. */
static void serve_init(int s)
{
	char c;

	while (read(s, &c, 1) == 1) {
		int status = run_true();

		if (write(s, &status, sizeof(status)) != sizeof(status))
			break;
	}
	_exit(0);
}

/* The server: 'd' spawns itself, 'h' asks the init, anything else is a ping. */
static void serve(int s, int init)
{
	char c;

	while (read(s, &c, 1) == 1) {
		int status = 0;

		if (c == 'd')
			status = run_true();
		else if (c == 'h' && (write(init, "r", 1) != 1 || read(init, &status, sizeof(status)) != sizeof(status)))
			break;
		if (write(s, &status, sizeof(status)) != sizeof(status))
			break;
	}
	_exit(0);
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *t, int n)
{
	qsort(t, (size_t)n, sizeof(*t), cmp);
	return t[n / 2];
}

static int shapes(int n)
{
	static const char *name[] = {"bare", "direct", "hop", "ping"};
	static const char op[] = {0, 'd', 'h', 'p'};
	int sv[2], iv[2];
	double *t[4], m[4];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, iv) < 0 || socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) < 0)
		return perror("socketpair"), 1;
	/* Each end has one holder, so that the client's exit ends the
	 * server (EOF) and the server's the init. */
	if (fork() == 0) {
		close(sv[0]);
		close(sv[1]);
		close(iv[0]);
		serve_init(iv[1]);
	}
	close(iv[1]);
	if (fork() == 0) {
		close(sv[0]);
		serve(sv[1], iv[0]);
	}
	close(sv[1]);
	close(iv[0]);
	for (int k = 0; k < 4; k++)
		t[k] = malloc((size_t)n * sizeof(double));
	for (int i = 0; i < n; i++) {
		for (int j = 0; j < 4; j++) {
			int k = (i + j) % 4, status;
			double t0 = now_us();

			if (k == 0)
				run_true();
			else if (write(sv[0], &op[k], 1) != 1 || read(sv[0], &status, sizeof(status)) != sizeof(status))
				return fprintf(stderr, "floor: the server is gone\n"), 1;
			t[k][i] = now_us() - t0;
			usleep(2000);
		}
	}
	for (int k = 0; k < 4; k++)
		m[k] = median(t[k], n);
	for (int k = 0; k < 4; k++)
		printf("%-6s median %8.1f us   over bare %+8.1f us\n", name[k], m[k], m[k] - m[0]);
	return 0;
}

static int ping_manager(const char *path, int n)
{
	static const char req[] = "{\"op\":\"ping\"}\n";
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	double *t = malloc((size_t)n * sizeof(double));
	char buf[4096];
	int s = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof(a)) < 0)
		return perror(path), 1;
	for (int i = 0; i < n; i++) {
		double t0 = now_us();
		ssize_t got = 0, r;

		if (write(s, req, sizeof(req) - 1) != (ssize_t)sizeof(req) - 1)
			return perror("write"), 1;
		do {
			r = read(s, buf + got, sizeof(buf) - (size_t)got);
			if (r <= 0)
				return fprintf(stderr, "floor: the manager hung up\n"), 1;
			got += r;
		} while (buf[got - 1] != '\n' && got < (ssize_t)sizeof(buf));
		t[i] = now_us() - t0;
		usleep(2000);
	}
	printf("manager ping from C: median %.1f us\n", median(t, n));
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 2 && strcmp(argv[1], "-manager") == 0)
		return ping_manager(argv[2], argc > 3 ? atoi(argv[3]) : 1000);
	return shapes(argc > 1 ? atoi(argv[1]) : 600);
}
