/* Goes through /proc: the roots, cwds, fds and memory of itself and of the
 * judge init (PID 1), and tries to overwrite the init's executable.
 * argv: host paths of secret files. */
#include "atk.h"
#include <sys/uio.h>

static void link_of(const char *p)
{
	char buf[4096];
	ssize_t n = readlink(p, buf, sizeof(buf) - 1);

	if (n >= 0) {
		buf[n] = 0;
		out("TRY readlink %s: ok\nLINK %s -> %s\n", p, p, buf);
	} else {
		out("TRY readlink %s: %s\n", p, ename(errno));
	}
}

int main(int argc, char **argv)
{
	char path[8192];
	const char *roots[] = {"/proc/self/root", "/proc/1/root", "/proc/self/cwd", "/proc/1/cwd",
			       "/proc/self/root/..", "/proc/1/root/.."};

	for (size_t r = 0; r < sizeof(roots) / sizeof(*roots); r++) {
		link_of(roots[r]);
		listdir(roots[r]);
		for (int i = 1; i < argc; i++) {
			snprintf(path, sizeof(path), "%s/../../../..%s", roots[r], argv[i]);
			dump(path);
		}
	}
	link_of("/proc/1/exe");
	int fd = open("/proc/1/exe", O_WRONLY);
	if (try("open /proc/1/exe for writing", fd) >= 0) {
		escape("the judge init's executable is writable\n");
		close(fd);
	}
	fd = open("/proc/1/exe", O_RDONLY);
	if (try("open /proc/1/exe for reading", fd) >= 0)
		close(fd);
	dump("/proc/1/environ");
	dump("/proc/1/cmdline");
	listdir("/proc/1/fd");
	listdir("/proc/1/map_files");
	for (int i = 0; i < 8; i++) {
		snprintf(path, sizeof(path), "/proc/1/fd/%d", i);
		link_of(path);
	}
	fd = open("/proc/1/mem", O_RDWR);
	if (try("open /proc/1/mem", fd) >= 0) {
		escape("the judge init's memory is open\n");
		close(fd);
	}
	char buf[64];
	struct iovec local = {buf, sizeof(buf)}, remote = {(void *)0x400000, sizeof(buf)};
	try("process_vm_readv(1)", syscall(SYS_process_vm_readv, 1, &local, 1, &remote, 1, 0));
	fd = open("/proc/1/ns/mnt", O_RDONLY);
	if (try("open /proc/1/ns/mnt", fd) >= 0)
		close(fd);
	dump("/proc/self/mountinfo");
	done();
	return 0;
}
