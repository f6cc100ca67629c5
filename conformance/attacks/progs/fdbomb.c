/* Exhausts file descriptors: open, pipes, and fds in flight in unix
 * sockets, which no process holds. */
#include "atk.h"
#include <sys/socket.h>

int main(void)
{
	int n = 0, pipes = 0;

	while (open("/dev/null", O_RDONLY) >= 0)
		n++;
	out("TRY open until failure: ok (%d, then %s)\nOPENED %d\n", n, ename(errno), n);
	for (int fd = 3; fd < 1 << 20; fd++)
		if (close(fd) < 0 && errno == EBADF && fd > n + 16)
			break;
	int p[2];
	while (pipe(p) == 0)
		pipes++;
	out("TRY pipes until failure: ok (%d, then %s)\n", pipes, ename(errno));
	for (int fd = 3; fd < 1 << 20; fd++)
		if (close(fd) < 0 && errno == EBADF && fd > 2 * pipes + 16)
			break;
	/* In flight: send fds into a socket pair and close them. */
	int sp[2];
	socketpair(AF_UNIX, SOCK_DGRAM, 0, sp);
	int fl = 0, err = 0;
	for (int i = 0; i < 100000; i++) {
		int fds[8];
		int k;
		for (k = 0; k < 8; k++)
			if ((fds[k] = open("/dev/null", O_RDONLY)) < 0)
				break;
		union {
			char b[CMSG_SPACE(sizeof(fds))];
			struct cmsghdr a;
		} c;
		char byte = 0;
		struct iovec iov = {&byte, 1};
		struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = c.b, .msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)k)};
		struct cmsghdr *h = CMSG_FIRSTHDR(&m);
		h->cmsg_level = SOL_SOCKET;
		h->cmsg_type = SCM_RIGHTS;
		h->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)k);
		memcpy(CMSG_DATA(h), fds, sizeof(int) * (size_t)k);
		ssize_t s = k ? sendmsg(sp[0], &m, MSG_DONTWAIT) : -1;
		err = errno;
		for (int j = 0; j < k; j++)
			close(fds[j]);
		if (s < 0)
			break;
		fl += k;
	}
	out("TRY fds in flight until failure: ok (%d, then %s)\nINFLIGHT %d\n", fl, ename(err), fl);
	done();
	return 0;
}
