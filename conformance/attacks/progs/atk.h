/*
 * Shared helpers of the hostile programs. Every program reports what it
 * tried on stdout, unbuffered, one line per attempt:
 *
 *	TRY <label>: ok (<value>)      the call succeeded
 *	TRY <label>: <ERRNO>           it failed with that errno
 *	READ <path>: <contents>        a file could be read (its first bytes)
 *	ESCAPE: <what>                 something succeeded that must not
 *	NOTE: <what>                   worth showing, not a breach by itself
 *	DONE                           the program got to its end
 *
 * The suite fails an attack on any ESCAPE line, and separately checks the
 * host for the effect of each attempt.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void out(const char *fmt, ...)
{
	char buf[8192];
	va_list ap;
	int n, e = errno;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(buf) - 1)
		n = sizeof(buf) - 1;
	for (int off = 0; off < n;) {
		ssize_t w = write(1, buf + off, (size_t)(n - off));
		if (w <= 0)
			break;
		off += (int)w;
	}
	errno = e;
}

static const char *ename(int e)
{
	const char *n = strerrorname_np(e);
	return n ? n : "E?";
}

/* try reports the result of a call that returns -1 and sets errno on failure. */
static long try(const char *label, long rc)
{
	int e = errno;

	if (rc < 0 && rc > -4096)
		out("TRY %s: %s\n", label, ename(e));
	else
		out("TRY %s: ok (%ld)\n", label, rc);
	errno = e;
	return rc;
}

/* tryf is try with a formatted label. */
static long tryf(long rc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static long tryf(long rc, const char *fmt, ...)
{
	char label[512];
	va_list ap;
	int e = errno;

	va_start(ap, fmt);
	vsnprintf(label, sizeof(label), fmt, ap);
	va_end(ap);
	errno = e;
	return try(label, rc);
}

#define escape(...) out("ESCAPE: " __VA_ARGS__)
#define note(...) out("NOTE: " __VA_ARGS__)

/* dump reads up to 512 bytes of path and prints them, as a leak would. */
static int dump(const char *path)
{
	char buf[513];
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	ssize_t n;

	if (fd < 0) {
		out("TRY read %s: %s\n", path, ename(errno));
		return -1;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0) {
		out("TRY read %s: %s\n", path, ename(errno));
		return -1;
	}
	buf[n] = 0;
	for (ssize_t i = 0; i < n; i++)
		if (buf[i] == '\n' || buf[i] == 0)
			buf[i] = ' ';
	out("TRY read %s: ok (%zd)\nREAD %s: %s\n", path, n, path, buf);
	return 0;
}

/* listdir prints the names in a directory. */
static void listdir(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	char line[4096];
	size_t len = 0;

	if (!d) {
		out("TRY list %s: %s\n", path, ename(errno));
		return;
	}
	line[0] = 0;
	while ((e = readdir(d)) && len < sizeof(line) - 300)
		len += (size_t)snprintf(line + len, sizeof(line) - len, " %s", e->d_name);
	closedir(d);
	out("TRY list %s: ok\nLIST %s:%s\n", path, path, line);
}

static void done(void)
{
	out("DONE\n");
}

static void sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* hold keeps a box busy while another box attacks it: until the suite
 * closes stdin when arg is "stdin" (so that the two runs overlap however
 * slow the host), else for arg milliseconds. */
static void hold(const char *arg)
{
	if (strcmp(arg, "stdin") != 0) {
		sleep_ms(atol(arg));
		return;
	}
	char buf[64];
	ssize_t n;
	while ((n = read(0, buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR))
		;
}

/* spin burns CPU for ever. */
static void spin(void)
{
	volatile unsigned long x = 0;
	for (;;)
		x++;
}
