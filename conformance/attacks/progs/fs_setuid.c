/* Tries to become root: setuid, capabilities, securebits, a setuid-root
 * binary the judge left visible, and setuid or file-capability files of its
 * own that would become root's when the box is handed back to the judge.
 * argv[1]: setuid-root helper in the box; argv[2]: root-owned directory bound
 * writable; argv[3]: marker name. */
#include "atk.h"
#include <grp.h>
#include <sys/prctl.h>
#include <sys/xattr.h>
#include <linux/capability.h>

int main(int argc, char **argv)
{
	const char *helper = argc > 1 ? argv[1] : "/suid/helper";
	const char *rootdir = argc > 2 ? argv[2] : "/rootdir";
	const char *m = argc > 3 ? argv[3] : "atk-marker";
	char path[4096];

	if (try("setuid(0)", setuid(0)) >= 0)
		escape("setuid(0)\n");
	if (try("setresuid(0,0,0)", setresuid(0, 0, 0)) >= 0)
		escape("setresuid(0)\n");
	if (try("setgid(0)", setgid(0)) >= 0)
		escape("setgid(0)\n");
	gid_t g = 0;
	if (try("setgroups([0])", setgroups(1, &g)) >= 0)
		escape("setgroups\n");
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct d[2] = {{~0u, ~0u, ~0u}, {~0u, ~0u, ~0u}};
	if (try("capset(all)", syscall(SYS_capset, &h, d)) >= 0)
		escape("capset\n");
	if (try("ambient raise CAP_SYS_ADMIN", prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_SYS_ADMIN, 0, 0)) >= 0)
		escape("ambient capability\n");
	try("clear no_new_privs", prctl(PR_SET_NO_NEW_PRIVS, 0, 0, 0, 0));
	try("set securebits", prctl(PR_SET_SECUREBITS, 0x2f, 0, 0, 0));
	try("PR_SET_MM (exe)", prctl(PR_SET_MM, PR_SET_MM_EXE_FILE, 0, 0, 0));

	/* Setuid and setgid files of its own, and a file capability. */
	int src = open("/proc/self/exe", O_RDONLY);
	int dst = open("/box/suidcopy", O_WRONLY | O_CREAT | O_TRUNC, 0755);
	char buf[65536];
	ssize_t n;
	while (src >= 0 && dst >= 0 && (n = read(src, buf, sizeof(buf))) > 0)
		write(dst, buf, (size_t)n);
	close(src);
	close(dst);
	try("chmod /box/suidcopy 06755", chmod("/box/suidcopy", 06755));
	close(open("/box/sgidfile", O_WRONLY | O_CREAT, 0755));
	try("chmod /box/sgidfile 02755", chmod("/box/sgidfile", 02755));
	mkdir("/box/sgiddir", 0777);
	try("chmod /box/sgiddir 02777", chmod("/box/sgiddir", 02777));
	/* VFS_CAP_REVISION_2 with every capability permitted and effective. */
	uint32_t cap[5] = {0x02000001, ~0u, ~0u, ~0u, ~0u};
	if (try("setxattr security.capability", setxattr("/box/suidcopy", "security.capability", cap, sizeof(cap), 0)) >= 0)
		escape("set a file capability\n");
	if (try("setxattr trusted.atk", setxattr("/box/suidcopy", "trusted.atk", "x", 1, 0)) >= 0)
		escape("set a trusted xattr\n");

	/* The host's setuid-root helper: nosuid and no_new_privs must hold. */
	pid_t pid = fork();
	if (try("fork for the setuid helper", pid) == 0) {
		execl(helper, helper, rootdir, m, (char *)NULL);
		out("TRY exec %s: %s\n", helper, ename(errno));
		_exit(127);
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
	snprintf(path, sizeof(path), "%s/%s", rootdir, m);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
	if (tryf(fd, "create %s", path) >= 0) {
		escape("created a file in a root-owned directory\n");
		close(fd);
	}
	done();
	return 0;
}
