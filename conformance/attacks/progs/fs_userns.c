/* Creates a user namespace with clone() (unshare is blocked) and, with the
 * capabilities it holds there, tries mounts, chroot escapes, device nodes,
 * another hostname and the host's files.
 * argv: host paths of secret files. */
#include "atk.h"
#include <sched.h>
#include <sys/mount.h>
#include <sys/sysmacros.h>

static void write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY);
	if (fd < 0 || write(fd, s, strlen(s)) < 0)
		out("TRY write %s: %s\n", path, ename(errno));
	else
		out("TRY write %s: ok\n", path);
	if (fd >= 0)
		close(fd);
}

static void inside(int argc, char **argv, uid_t uid, gid_t gid)
{
	char buf[128], path[8192];

	write_file("/proc/self/setgroups", "deny");
	snprintf(buf, sizeof(buf), "0 %u 1", uid);
	write_file("/proc/self/uid_map", buf);
	snprintf(buf, sizeof(buf), "0 %u 1", gid);
	write_file("/proc/self/gid_map", buf);
	out("TRY uid in the namespace: ok (%d)\n", (int)getuid());
	if (try("mount tmpfs in userns", mount("tmpfs", "/box", "tmpfs", 0, NULL)) >= 0)
		escape("mount in a user namespace succeeded\n");
	if (try("umount2 /proc/sys in userns", umount2("/proc/sys", MNT_DETACH)) >= 0)
		escape("unmounted a locked mount\n");
	if (try("mknod /box/mem c 1 1 in userns", mknod("/box/mem", S_IFCHR | 0666, makedev(1, 1))) >= 0)
		escape("created a device node\n");
	if (try("sethostname in userns", sethostname("atk-userns", 10)) >= 0)
		escape("changed the hostname\n");
	mkdir("/box/ujail", 0755);
	int old = open("/", O_RDONLY | O_DIRECTORY);
	if (try("chroot in userns", chroot("/box/ujail")) >= 0) {
		fchdir(old);
		for (int i = 0; i < 64; i++)
			chdir("..");
		chroot(".");
		note("chroot inside the user namespace worked\n");
	}
	listdir("/");
	for (int i = 1; i < argc; i++) {
		dump(argv[i]);
		snprintf(path, sizeof(path), "/proc/1/root%s", argv[i]);
		dump(path);
	}
	int fd = open("/proc/1/ns/mnt", O_RDONLY);
	if (try("open init's mount namespace", fd) >= 0)
		try("setns(init's mount namespace)", syscall(SYS_setns, fd, 0));
}

int main(int argc, char **argv)
{
	uid_t uid = getuid();
	gid_t gid = getgid();
	long pid = syscall(SYS_clone, CLONE_NEWUSER | CLONE_NEWNS | SIGCHLD, 0, 0, 0, 0);

	try("clone(NEWUSER|NEWNS)", pid);
	if (pid == 0) {
		inside(argc, argv, uid, gid);
		_exit(0);
	}
	if (pid > 0) {
		note("user namespaces can be created in the box\n");
		waitpid((pid_t)pid, NULL, 0);
	}
	pid = syscall(SYS_clone, CLONE_NEWUSER | CLONE_NEWUTS | CLONE_NEWNET | CLONE_NEWIPC | SIGCHLD, 0, 0, 0, 0);
	try("clone(NEWUSER|NEWUTS|NEWNET|NEWIPC)", pid);
	if (pid == 0) {
		if (sethostname("atk-userns", 10) == 0)
			out("TRY sethostname in a nested UTS namespace: ok\n");
		_exit(0);
	}
	if (pid > 0)
		waitpid((pid_t)pid, NULL, 0);
	/* clone3 with a new user namespace, for completeness. */
	struct {
		uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
	} args = {.flags = CLONE_NEWUSER, .exit_signal = SIGCHLD};
	pid = syscall(435 /* clone3 */, &args, sizeof(args));
	try("clone3(NEWUSER)", pid);
	if (pid == 0)
		_exit(0);
	if (pid > 0)
		waitpid((pid_t)pid, NULL, 0);
	try("unshare(NEWUSER)", unshare(CLONE_NEWUSER));
	done();
	return 0;
}
