/*
 * isolate: the quick front end of mini-isolate's isolate command line.
 *
 * It hands the invocation (arguments, environment, identity and open
 * descriptors) to the manager that serves the configuration, and exits
 * with the status the manager replies. When no manager answers, or the
 * manager declines, it runs mini-isolate's own front end instead, which
 * starts a manager when the configuration asks for spare boxes. It exists
 * because a Go binary takes several milliseconds to reach main, and a warm
 * run is meant to cost less than that.
 *
 * It may be installed setuid root, as isolate is: it then trusts nothing
 * of its caller but the real uid, gid and groups, which it passes on, and
 * reads only the compiled-in configuration.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#ifndef MINI_ISOLATE
#define MINI_ISOLATE "/usr/local/bin/mini-isolate"
#endif
#ifndef CONFIG_FILE
#define CONFIG_FILE "/etc/mini-isolate/isolate.conf"
#endif

#define MAX_FDS 60
#define MAX_GROUPS 256

extern char **environ;

static int sock = -1;

/* fallback runs mini-isolate's own front end with our arguments. */
static void fallback(int argc, char **argv)
{
	char **args = calloc(argc + 2, sizeof(char *));

	if (sock >= 0)
		close(sock);
	if (!args) {
		perror("isolate");
		exit(2);
	}
	args[0] = "isolate";
	for (int i = 1; i < argc; i++)
		args[i] = argv[i];
	execv(MINI_ISOLATE, args);
	fprintf(stderr, "isolate: cannot run %s: %s\n", MINI_ISOLATE, strerror(errno));
	exit(2);
}

/* buf is a growing byte buffer for the request. */
struct buf {
	char *p;
	size_t len, cap;
};

static void put(struct buf *b, const void *data, size_t n)
{
	if (b->len + n > b->cap) {
		size_t cap = (b->cap ? b->cap * 2 : 4096);

		while (cap < b->len + n)
			cap *= 2;
		b->p = realloc(b->p, cap);
		if (!b->p) {
			perror("isolate");
			exit(2);
		}
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
}

static void putf(struct buf *b, const char *fmt, ...)
{
	char tmp[64];
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	put(b, tmp, n);
}

/* putjson writes s as a JSON string; other bytes than printable ASCII are
 * escaped, and a byte that is not ASCII makes the request one the manager
 * will decline (its configuration path cannot match). */
static void putjson(struct buf *b, const char *s)
{
	put(b, "\"", 1);
	for (; *s; s++) {
		unsigned char c = *s;

		if (c == '"' || c == '\\')
			putf(b, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			putf(b, "\\u%04x", c);
		else
			put(b, s, 1);
	}
	put(b, "\"", 1);
}

/* version is the configuration file's content version, as mini-isolate
 * computes it (box.FileVersion): device, inode, size, modification time. */
static char version[128];

/* config finds the configuration's path ("" when it does not exist, as
 * mini-isolate says of built-in defaults) and its manager socket. */
static void config(char *path, size_t pathlen, char *socket, size_t socklen)
{
	const char *p = CONFIG_FILE;
	char lockroot[PATH_MAX] = "/run/mini-isolate/locks";
	char line[1024];
	int explicit = 0;

	socket[0] = 0;
	/* Only root's own environment may name another configuration. */
	if (getuid() == 0 && geteuid() == 0 && getenv("MINI_ISOLATE_CONFIG") && *getenv("MINI_ISOLATE_CONFIG")) {
		p = getenv("MINI_ISOLATE_CONFIG");
		explicit = 1;
	}
	FILE *f = fopen(p, "re");

	path[0] = 0;
	if (!f) {
		if (explicit)
			socket[0] = 0; /* let mini-isolate say what is wrong */
		else
			snprintf(socket, socklen, "%s/manager.sock", lockroot);
		return;
	}
	if (!realpath(p, path))
		snprintf(path, pathlen, "%s", p);
	struct stat st;

	if (fstat(fileno(f), &st) == 0)
		snprintf(version, sizeof(version), "%llu:%llu:%lld:%lld.%09ld", (unsigned long long)st.st_dev,
			 (unsigned long long)st.st_ino, (long long)st.st_size, (long long)st.st_mtim.tv_sec,
			 st.st_mtim.tv_nsec);
	while (fgets(line, sizeof(line), f)) {
		char *k = line, *v = strchr(line, '=');

		if (!v)
			continue;
		*v++ = 0;
		while (*k == ' ' || *k == '\t')
			k++;
		for (char *e = v - 2; e >= k && (*e == ' ' || *e == '\t'); e--)
			*e = 0;
		while (*v == ' ' || *v == '\t')
			v++;
		v[strcspn(v, "\r\n")] = 0;
		for (char *e = v + strlen(v) - 1; e >= v && (*e == ' ' || *e == '\t'); e--)
			*e = 0;
		if (!strcmp(k, "lock_root"))
			snprintf(lockroot, sizeof(lockroot), "%s", v);
		else if (!strcmp(k, "manager_socket"))
			snprintf(socket, socklen, "%s", v);
	}
	fclose(f);
	if (!socket[0])
		snprintf(socket, socklen, "%s/manager.sock", lockroot);
}

/* wants_fds says whether an argument could be --inherit-fds, whole or
 * abbreviated as getopt allows ("--inh" and longer): only then are the
 * descriptors from 3 up listed, which reads /proc/self/fd (a tenth of
 * this client's time). An option value that looks like one is harmless:
 * the descriptors are passed and not used. */
static int wants_fds(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (!strncmp(argv[i], "--inh", 5))
			return 1;
	return 0;
}

/* fds collects the descriptors to pass: stdin, stdout, stderr, the
 * working directory, then, when all is set, every descriptor from 3 up
 * that this process started with (for --inherit-fds), but none of its
 * own. */
static int fds(int *out, int all)
{
	int own[8], nown = 0, n = 0;

	for (int fd = 0; fd < 3; fd++) {
		out[n] = fd;
		if (fcntl(fd, F_GETFD) < 0)
			own[nown++] = out[n] = open("/dev/null", O_RDWR | O_CLOEXEC);
		n++;
	}
	own[nown++] = out[n++] = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	own[nown++] = sock;
	if (!all)
		return n;
	DIR *d = opendir("/proc/self/fd");

	if (!d)
		return n;
	own[nown++] = dirfd(d);
	struct dirent *e;

	while ((e = readdir(d)) && n < MAX_FDS) {
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		int fd = atoi(e->d_name), mine = 0;

		for (int i = 0; i < nown; i++)
			mine |= own[i] == fd;
		if (fd >= 3 && !mine)
			out[n++] = fd;
	}
	closedir(d);
	return n;
}

static void request(struct buf *b, const char *cfg, int argc, char **argv)
{
	gid_t groups[MAX_GROUPS];
	int ng = getgroups(MAX_GROUPS, groups);
	int nenv = 0;

	while (environ && environ[nenv])
		nenv++;
	putf(b, "{\"op\":\"isolate\",\"uid\":%u,\"gid\":%u", (unsigned)getuid(), (unsigned)getgid());
	put(b, ",\"groups\":[", 11);
	for (int i = 0; i < ng; i++)
		putf(b, "%s%u", i ? "," : "", (unsigned)groups[i]);
	putf(b, "],\"nargs\":%d,\"nenv\":%d,\"config\":", argc - 1, nenv);
	putjson(b, cfg);
	put(b, ",\"configVersion\":", 17);
	putjson(b, version);
	put(b, "}\n", 2);
	for (int i = 1; i < argc; i++)
		put(b, argv[i], strlen(argv[i]) + 1);
	for (int i = 0; i < nenv; i++)
		put(b, environ[i], strlen(environ[i]) + 1);
}

static int send_request(struct buf *b, int *fdv, int nfd)
{
	char cmsgbuf[CMSG_SPACE(sizeof(int) * MAX_FDS)];
	struct iovec iov = {.iov_base = b->p, .iov_len = b->len};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cmsgbuf,
			     .msg_controllen = CMSG_SPACE(sizeof(int) * nfd)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);

	memset(cmsgbuf, 0, sizeof(cmsgbuf));
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int) * nfd);
	memcpy(CMSG_DATA(c), fdv, sizeof(int) * nfd);
	ssize_t n = sendmsg(sock, &msg, MSG_NOSIGNAL);

	if (n < 0)
		return -1;
	for (size_t off = n; off < b->len; off += n) {
		n = send(sock, b->p + off, b->len - off, MSG_NOSIGNAL);
		if (n < 0)
			return -1;
	}
	return 0;
}

/* on_signal ends the run: closing the connection cancels it. */
static void on_signal(int sig)
{
	(void)sig;
	shutdown(sock, SHUT_RDWR);
}

/* reply reads the reply line and returns the exit status, or -1 when
 * the manager declined the invocation (it must then run here). */
static int reply(void)
{
	char line[65536];
	size_t len = 0;

	while (len < sizeof(line) - 1) {
		ssize_t n = read(sock, line + len, sizeof(line) - 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += n;
		if (memchr(line, '\n', len))
			break;
	}
	line[len] = 0;
	if (!memchr(line, '\n', len)) {
		fprintf(stderr, "isolate: the manager went away\n");
		return 2;
	}
	if (strstr(line, "\"refused\":true"))
		return -1;
	if (!strstr(line, "\"ok\":true")) {
		char *e = strstr(line, "\"error\":\"");

		fprintf(stderr, "Manager: %.*s\n", e ? (int)strcspn(e + 9, "\"") : 0, e ? e + 9 : "");
		return 2;
	}
	char *x = strstr(line, "\"exit\":");

	return x ? atoi(x + 7) : 0;
}

int main(int argc, char **argv)
{
	char cfg[PATH_MAX], path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	struct buf b = {0};
	int fdv[MAX_FDS];

	config(cfg, sizeof(cfg), path, sizeof(path));
	if (!path[0] || strlen(path) >= sizeof(addr.sun_path))
		fallback(argc, argv);
	memcpy(addr.sun_path, path, strlen(path) + 1);
	sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (sock < 0 || connect(sock, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		fallback(argc, argv);
	request(&b, cfg, argc, argv);
	int nfd = fds(fdv, wants_fds(argc, argv));

	if (send_request(&b, fdv, nfd) < 0)
		fallback(argc, argv);
	struct sigaction sa = {.sa_handler = on_signal};

	for (int s = 1; s < 32; s++)
		if (s == SIGINT || s == SIGTERM || s == SIGHUP || s == SIGQUIT)
			sigaction(s, &sa, NULL);
	int code = reply();

	if (code < 0)
		fallback(argc, argv);
	return code;
}
