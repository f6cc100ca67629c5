/* Writes outside the box: new files in every directory of the sandbox's
 * root, the host's binaries, and the kernel's knobs under /proc/sys.
 * argv[1]: the marker file name to create; the suite looks for it on the host. */
#include "atk.h"

static void create(const char *dir, const char *name, int allowed)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
	if (tryf(fd, "create %s", path) >= 0) {
		if (!allowed)
			escape("created %s\n", path);
		write(fd, "pwned\n", 6);
		close(fd);
	}
}

static void knob(const char *path, const char *value)
{
	int fd = open(path, O_WRONLY);
	if (tryf(fd, "open %s for writing", path) < 0)
		return;
	if (tryf(write(fd, value, strlen(value)), "write %s", path) >= 0 && strncmp(path, "/proc/self/", 11) != 0)
		escape("wrote %s\n", path);
	close(fd);
}

/* same writes a knob's current value back: harmless, and still a breach if
 * it works. */
static void same(const char *path)
{
	char buf[256] = "1\n";
	int fd = open(path, O_RDONLY);
	if (fd >= 0) {
		ssize_t n = read(fd, buf, sizeof(buf) - 1);
		buf[n > 0 ? n : 0] = 0;
		close(fd);
	}
	knob(path, buf);
}

static void writable(const char *path)
{
	/* Open only: the suite compares the file's hash, and a real write
	 * would damage the host if the open succeeded. */
	int fd = open(path, O_WRONLY | O_APPEND);
	if (tryf(fd, "open host file %s for writing", path) >= 0) {
		escape("%s is writable\n", path);
		close(fd);
	}
}

int main(int argc, char **argv)
{
	const char *m = argc > 1 ? argv[1] : "atk-marker";
	const char *dirs[] = {"", "/bin", "/usr", "/usr/bin", "/lib", "/proc", "/dev", "/box/..", "/tmp/..",
			      "/dev/shm/..", "/box/../..", "/proc/self/root", "/proc/1/root", "/proc/1/cwd"};
	char value[256];

	for (size_t i = 0; i < sizeof(dirs) / sizeof(*dirs); i++)
		create(dirs[i], m, 0);
	writable("/bin/sh");
	writable("/bin/dash");
	writable("/usr/bin/python3.11");
	writable("/lib/x86_64-linux-gnu/libc.so.6");
	writable("/proc/1/exe");
	snprintf(value, sizeof(value), "|/box/%s %%p", m);
	knob("/proc/sys/kernel/core_pattern", value);
	knob("/proc/sys/kernel/modprobe", "/box/pwned-modprobe");
	knob("/proc/sys/kernel/hostname", "atk-pwned");
	knob("/proc/sys/vm/drop_caches", "1");
	same("/proc/sys/kernel/sysrq");
	knob("/proc/sysrq-trigger", "h");
	same("/proc/sys/fs/file-max");
	knob("/proc/self/oom_score_adj", "-1000");
	knob("/proc/1/oom_score_adj", "1000");
	knob("/sys/kernel/uevent_helper", "/box/pwned");
	/* And the box's own places, which must work and stay in the box. */
	create("/box", m, 1);
	create("/tmp", m, 1);
	create("/dev/shm", m, 1);
	done();
	return 0;
}
