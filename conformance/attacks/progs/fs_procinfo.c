/* Reads what /proc tells about the host: sockets, locks, mounts, kernel
 * symbols and logs, keys, IPC objects. */
#include "atk.h"

static void cat(const char *path)
{
	char buf[65536];
	int fd = open(path, O_RDONLY);
	ssize_t n, total = 0;

	if (fd < 0) {
		out("TRY read %s: %s\n", path, ename(errno));
		return;
	}
	out("TRY read %s: ok\n", path);
	while (total < 1 << 20 && (n = read(fd, buf, sizeof(buf) - 1)) > 0) {
		buf[n] = 0;
		out("%s", buf);
		total += n;
	}
	out("\n");
	close(fd);
}

int main(void)
{
	const char *files[] = {"/proc/net/unix", "/proc/net/tcp", "/proc/net/tcp6", "/proc/net/udp", "/proc/net/packet",
			       "/proc/locks", "/proc/mounts", "/proc/self/mountinfo", "/proc/keys", "/proc/key-users",
			       "/proc/sysvipc/shm", "/proc/sysvipc/msg", "/proc/sysvipc/sem", "/proc/timer_list",
			       "/proc/sched_debug", "/proc/kmsg", "/proc/kcore", "/proc/1/environ", "/proc/cgroups",
			       "/proc/self/cgroup"};
	for (size_t i = 0; i < sizeof(files) / sizeof(*files); i++)
		cat(files[i]);
	char buf[4096];
	long n = syscall(SYS_syslog, 3 /* SYSLOG_ACTION_READ_ALL */, buf, (int)sizeof(buf) - 1);
	if (try("syslog(READ_ALL)", n) > 0) {
		buf[n] = 0;
		out("%s\n", buf);
	}
	done();
	return 0;
}
