/* Reaches for the host's unix sockets: an abstract one the host listens on
 * (abstract names are per network namespace), path sockets of the host's
 * daemons, and the box's own judge-init socket.
 * argv[1]: abstract name (without the leading @); argv[2..]: host socket paths. */
#include "atk.h"
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>

static void try_connect(const char *label, const struct sockaddr_un *sa, socklen_t len)
{
	int types[] = {SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET};
	const char *names[] = {"stream", "dgram", "seqpacket"};
	for (int t = 0; t < 3; t++) {
		int fd = socket(AF_UNIX, types[t], 0);
		if (tryf(connect(fd, (const struct sockaddr *)sa, len), "connect %s %s", names[t], label) == 0) {
			escape("connected to %s (%s)\n", label, names[t]);
			write(fd, "atk\n", 4);
		}
		close(fd);
	}
}

int main(int argc, char **argv)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	const char *name = argc > 1 ? argv[1] : "atk";
	char label[256];

	size_t n = strlen(name);
	if (n > sizeof(sa.sun_path) - 2)
		n = sizeof(sa.sun_path) - 2;
	memcpy(sa.sun_path + 1, name, n);
	socklen_t alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
	snprintf(label, sizeof(label), "abstract @%s", name);
	try_connect(label, &sa, alen);
	/* Binding the same name works only if the host's is not in our namespace. */
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (try("bind the host's abstract name", bind(fd, (struct sockaddr *)&sa, alen)) < 0 && errno == EADDRINUSE)
		escape("the host's abstract socket is in the box's namespace\n");
	close(fd);

	const char *paths[] = {"/run/systemd/private", "/run/systemd/notify", "/var/run/dbus/system_bus_socket",
			       "/run/containerd/containerd.sock", "/var/run/docker.sock", "/box/../.mini-isolate/init.sock",
			       "/proc/1/root/.mini-isolate/init.sock", "/dev/log"};
	for (size_t i = 0; i < sizeof(paths) / sizeof(*paths); i++) {
		struct sockaddr_un p = {.sun_family = AF_UNIX};
		snprintf(p.sun_path, sizeof(p.sun_path), "%s", paths[i]);
		try_connect(paths[i], &p, sizeof(p));
	}
	for (int i = 2; i < argc; i++) {
		struct sockaddr_un p = {.sun_family = AF_UNIX};
		snprintf(p.sun_path, sizeof(p.sun_path), "%s", argv[i]);
		try_connect(argv[i], &p, sizeof(p));
	}
	/* The init's listening socket, by stealing it through /proc. */
	for (int i = 0; i < 8; i++) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/1/fd/%d", i);
		int s = open(path, O_RDWR);
		if (tryf(s, "open %s", path) >= 0) {
			escape("opened the init's fd %d\n", i);
			close(s);
		}
	}
	done();
	return 0;
}
