/* Reaches for the host's network: TCP and UDP to the host's loopback and
 * external addresses, the hypervisor's and cloud metadata addresses.
 * argv[1]: the port the host listens on; argv[2..]: the host's addresses. */
#include "atk.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

static void tcp(const char *addr, int port)
{
	struct sockaddr_storage ss = {0};
	socklen_t len;
	int family = strchr(addr, ':') ? AF_INET6 : AF_INET;

	if (family == AF_INET) {
		struct sockaddr_in *s = (void *)&ss;
		s->sin_family = AF_INET;
		s->sin_port = htons((uint16_t)port);
		inet_pton(AF_INET, addr, &s->sin_addr);
		len = sizeof(*s);
	} else {
		struct sockaddr_in6 *s = (void *)&ss;
		s->sin6_family = AF_INET6;
		s->sin6_port = htons((uint16_t)port);
		inet_pton(AF_INET6, addr, &s->sin6_addr);
		len = sizeof(*s);
	}
	int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		out("TRY tcp socket: %s\n", ename(errno));
		return;
	}
	int rc = connect(fd, (struct sockaddr *)&ss, len);
	if (rc < 0 && errno == EINPROGRESS) {
		struct pollfd p = {.fd = fd, .events = POLLOUT};
		int err = 0;
		socklen_t el = sizeof(err);
		if (poll(&p, 1, 300) == 1) {
			getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
			rc = err ? -1 : 0;
			errno = err;
		} else {
			rc = -1;
			errno = ETIMEDOUT;
		}
	}
	if (tryf(rc, "tcp connect %s:%d", addr, port) == 0) {
		escape("connected to %s:%d\n", addr, port);
		write(fd, "atk\n", 4);
	}
	close(fd);

	int u = socket(family, SOCK_DGRAM, 0);
	tryf(sendto(u, "atk\n", 4, 0, (struct sockaddr *)&ss, len), "udp sendto %s:%d", addr, port);
	close(u);
}

int main(int argc, char **argv)
{
	int port = argc > 1 ? atoi(argv[1]) : 80;

	tcp("127.0.0.1", port);
	tcp("::1", port);
	tcp("0.0.0.0", port);
	for (int i = 2; i < argc; i++)
		tcp(argv[i], port);
	tcp("10.0.2.2", port);
	tcp("169.254.169.254", 80);
	tcp("8.8.8.8", 53);
	done();
	return 0;
}
