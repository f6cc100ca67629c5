/* Mounts, unmounts and pivots, with the old and the new mount API, and
 * tries the cgroup v1 release_agent escape. */
#include "atk.h"
#include <sys/mount.h>

#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif

static void check_mount(const char *label, long rc)
{
	if (try(label, rc) >= 0)
		escape("%s succeeded\n", label);
}

int main(void)
{
	mkdir("/box/m", 0755);
	mkdir("/box/old", 0755);
	check_mount("mount tmpfs on /box/m", mount("tmpfs", "/box/m", "tmpfs", 0, "size=1m"));
	check_mount("bind / on /box/m", mount("/", "/box/m", NULL, MS_BIND | MS_REC, NULL));
	check_mount("remount / read-write", mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND, NULL));
	check_mount("remount /usr read-write", mount(NULL, "/usr", NULL, MS_REMOUNT | MS_BIND, NULL));
	check_mount("mount proc on /box/m", mount("proc", "/box/m", "proc", 0, NULL));
	check_mount("mount sysfs on /box/m", mount("sysfs", "/box/m", "sysfs", 0, NULL));
	check_mount("mount devtmpfs on /box/m", mount("devtmpfs", "/box/m", "devtmpfs", 0, NULL));
	check_mount("mount cgroup (rdma) on /box/m", mount("cgroup", "/box/m", "cgroup", 0, "rdma"));
	check_mount("mount cgroup (memory) on /box/m", mount("cgroup", "/box/m", "cgroup", 0, "memory"));
	check_mount("mount /dev/vda on /box/m", mount("/dev/vda", "/box/m", "ext4", 0, NULL));
	check_mount("umount2 /proc/sys", umount2("/proc/sys", MNT_DETACH));
	check_mount("umount2 /proc/keys", umount2("/proc/keys", MNT_DETACH));
	check_mount("umount2 /box", umount2("/box", MNT_DETACH));
	check_mount("umount2 /usr", umount2("/usr", MNT_DETACH));
	check_mount("umount /dev/shm", umount("/dev/shm"));
	check_mount("pivot_root(/box, /box/old)", syscall(SYS_pivot_root, "/box", "/box/old"));
	long fs = syscall(430 /* fsopen */, "tmpfs", 0);
	check_mount("fsopen(tmpfs)", fs);
	long tree = syscall(428 /* open_tree */, AT_FDCWD, "/", OPEN_TREE_CLONE | 0x8000 /* AT_RECURSIVE */);
	check_mount("open_tree(/, clone)", tree);
	check_mount("move_mount", syscall(429, (int)tree, "", AT_FDCWD, "/box/m", 4 /* MOVE_MOUNT_F_EMPTY_PATH */));
	check_mount("fspick(/)", syscall(433, AT_FDCWD, "/", 0));
	struct {
		uint64_t set, clr, prop, userns;
	} attr = {.clr = 1 /* MOUNT_ATTR_RDONLY */};
	check_mount("mount_setattr(/usr, clear ro)", syscall(442, AT_FDCWD, "/usr", 0, &attr, sizeof(attr)));
	/* cgroup v1 release_agent: only reachable through a cgroup mount. */
	int fd = open("/box/m/release_agent", O_WRONLY);
	if (try("open release_agent", fd) >= 0) {
		escape("release_agent is writable\n");
		close(fd);
	}
	listdir("/sys/fs/cgroup");
	done();
	return 0;
}
