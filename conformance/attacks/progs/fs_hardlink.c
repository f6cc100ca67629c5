/* Hard links to the host's files into the box, so that the judge's chown of
 * the box after the run would hit them; and renames out of the box. */
#include "atk.h"

static void link_to(const char *target, const char *name)
{
	if (tryf(link(target, name), "link %s -> %s", name, target) >= 0)
		escape("hard-linked %s into the box\n", target);
}

int main(void)
{
	char proc[64];

	link_to("/bin/dash", "/box/dash");
	link_to("/usr/bin/passwd", "/box/passwd");
	link_to("/usr/bin/su", "/box/su");
	link_to("/lib/x86_64-linux-gnu/libc.so.6", "/box/libc");
	link_to("/proc/1/exe", "/box/init-exe");
	int fd = open("/usr/bin/passwd", O_RDONLY);
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if (tryf(linkat(AT_FDCWD, proc, AT_FDCWD, "/box/passwd2", AT_SYMLINK_FOLLOW), "linkat %s (follow)", proc) >= 0)
		escape("hard-linked an open host file into the box\n");
	if (try("linkat(fd, \"\", AT_EMPTY_PATH)", linkat(fd, "", AT_FDCWD, "/box/passwd3", AT_EMPTY_PATH)) >= 0)
		escape("linkat AT_EMPTY_PATH\n");
	close(fd);
	close(open("/box/mine", O_WRONLY | O_CREAT, 0644));
	try("rename /box/mine -> /mine", rename("/box/mine", "/mine"));
	try("rename /box/mine -> /usr/mine", rename("/box/mine", "/usr/mine"));
	try("rename /box/mine -> /tmp/mine", rename("/box/mine", "/tmp/mine"));
	/* Links inside the box are fine, and must stay inside. */
	try("link /box/mine -> /box/mine2", link("/box/mine", "/box/mine2"));
	done();
	return 0;
}
