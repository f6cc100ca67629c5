/* Two boxes at once: "serve NAME PORT MS" listens on an abstract unix socket,
 * TCP and UDP on loopback for MS milliseconds and says what reached it;
 * "reach NAME PORT" tries to reach them from another box. */
#include "atk.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>

static socklen_t abstract(struct sockaddr_un *sa, const char *name)
{
	size_t n = strlen(name);
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (n > sizeof(sa->sun_path) - 2)
		n = sizeof(sa->sun_path) - 2;
	memcpy(sa->sun_path + 1, name, n);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		out("usage\n");
		return 2;
	}
	const char *name = argv[2];
	int port = atoi(argv[3]);
	struct sockaddr_un un;
	socklen_t ulen = abstract(&un, name);
	struct sockaddr_in in = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr = {htonl(INADDR_LOOPBACK)}};

	if (strcmp(argv[1], "serve") == 0) {
		/* "stdin": serve until the suite closes stdin. */
		int until_eof = argc > 4 && strcmp(argv[4], "stdin") == 0;
		int ms = argc > 4 && !until_eof ? atoi(argv[4]) : 1500;
		int a = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
		try("bind abstract", bind(a, (struct sockaddr *)&un, ulen));
		listen(a, 16);
		int t = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		try("bind tcp", bind(t, (struct sockaddr *)&in, sizeof(in)));
		listen(t, 16);
		int u = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
		try("bind udp", bind(u, (struct sockaddr *)&in, sizeof(in)));
		out("LISTENING\n");
		int got = 0;
		struct timespec start, now;
		clock_gettime(CLOCK_MONOTONIC, &start);
		for (;;) {
			clock_gettime(CLOCK_MONOTONIC, &now);
			long left = ms - ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000);
			if (until_eof)
				left = -1;
			else if (left <= 0)
				break;
			struct pollfd p[4] = {{a, POLLIN, 0}, {t, POLLIN, 0}, {u, POLLIN, 0}, {0, POLLIN, 0}};
			if (poll(p, until_eof ? 4 : 3, (int)left) <= 0)
				continue;
			if (until_eof && (p[3].revents & (POLLIN | POLLHUP))) {
				char c;
				if (read(0, &c, 1) <= 0)
					break;
			}
			for (int i = 0; i < 3; i++) {
				if (!(p[i].revents & POLLIN))
					continue;
				char buf[64];
				if (i < 2) {
					int c = accept(p[i].fd, NULL, NULL);
					if (c >= 0)
						close(c);
				} else {
					recv(u, buf, sizeof(buf), 0);
				}
				got++;
				escape("another box reached this one (%s)\n", i == 0 ? "abstract" : i == 1 ? "tcp" : "udp");
			}
		}
		out("RECEIVED %d\n", got);
		done();
		return 0;
	}
	int c = socket(AF_UNIX, SOCK_STREAM, 0);
	if (try("connect the other box's abstract socket", connect(c, (struct sockaddr *)&un, ulen)) >= 0)
		escape("connected to the other box's abstract socket\n");
	int b = socket(AF_UNIX, SOCK_STREAM, 0);
	if (try("bind the other box's abstract name", bind(b, (struct sockaddr *)&un, ulen)) < 0 && errno == EADDRINUSE)
		escape("the other box's abstract name is taken in this namespace\n");
	int t = socket(AF_INET, SOCK_STREAM, 0);
	if (try("connect the other box's tcp port", connect(t, (struct sockaddr *)&in, sizeof(in))) >= 0)
		escape("connected to the other box's tcp port\n");
	int u = socket(AF_INET, SOCK_DGRAM, 0);
	try("udp sendto the other box", sendto(u, "atk", 3, 0, (struct sockaddr *)&in, sizeof(in)));
	done();
	return 0;
}
