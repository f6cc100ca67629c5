/* Creates device nodes, fifos and sockets in every writable place, and
 * opens the host's devices. */
#include "atk.h"
#include <sys/socket.h>
#include <sys/sysmacros.h>
#include <sys/un.h>

static void node(const char *path, mode_t type, int maj, int min)
{
	if (tryf(mknod(path, type | 0666, makedev(maj, min)), "mknod %s %d:%d", path, maj, min) >= 0) {
		if (type == S_IFCHR || type == S_IFBLK) {
			escape("created device node %s\n", path);
			int fd = open(path, O_RDONLY);
			if (tryf(fd, "open the new node %s", path) >= 0) {
				char buf[64];
				tryf(read(fd, buf, sizeof(buf)), "read the new node %s", path);
				close(fd);
			}
		}
	}
}

int main(void)
{
	const char *dirs[] = {"/box", "/tmp", "/dev/shm", "/dev"};
	char path[256];

	for (size_t i = 0; i < sizeof(dirs) / sizeof(*dirs); i++) {
		snprintf(path, sizeof(path), "%s/mem", dirs[i]);
		node(path, S_IFCHR, 1, 1);
		snprintf(path, sizeof(path), "%s/kmsg", dirs[i]);
		node(path, S_IFCHR, 1, 11);
		snprintf(path, sizeof(path), "%s/vda", dirs[i]);
		node(path, S_IFBLK, 254, 0);
		snprintf(path, sizeof(path), "%s/fifo", dirs[i]);
		tryf(mkfifo(path, 0666), "mkfifo %s", path);
		snprintf(path, sizeof(path), "%s/sock", dirs[i]);
		int s = socket(AF_UNIX, SOCK_STREAM, 0);
		struct sockaddr_un sa = {.sun_family = AF_UNIX};
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
		tryf(bind(s, (struct sockaddr *)&sa, sizeof(sa)), "bind unix socket %s", path);
		close(s);
	}
	const char *host[] = {"/dev/mem", "/dev/kmem", "/dev/port", "/dev/kmsg", "/dev/vda", "/dev/sda",
			      "/dev/console", "/dev/tty0", "/dev/tty1", "/dev/rtc0", "/dev/fuse", "/dev/net/tun",
			      "/dev/vsock", "/dev/kvm", "/dev/loop0", "/dev/loop-control", "/dev/pts/ptmx"};
	for (size_t i = 0; i < sizeof(host) / sizeof(*host); i++) {
		int fd = open(host[i], O_RDWR);
		if (tryf(fd, "open %s", host[i]) >= 0) {
			escape("opened host device %s\n", host[i]);
			close(fd);
		}
	}
	listdir("/dev");
	done();
	return 0;
}
