/* Changes the host name and domain name. */
#include "atk.h"
#include <sys/utsname.h>

int main(void)
{
	struct utsname u;

	uname(&u);
	out("UNAME before: %s %s\n", u.nodename, u.domainname);
	if (try("sethostname(atk-pwned)", sethostname("atk-pwned", 9)) >= 0)
		escape("sethostname\n");
	if (try("setdomainname(atk-pwned)", setdomainname("atk-pwned", 9)) >= 0)
		escape("setdomainname\n");
	int fd = open("/proc/sys/kernel/hostname", O_WRONLY);
	if (try("open /proc/sys/kernel/hostname", fd) >= 0 && write(fd, "atk-pwned", 9) == 9)
		escape("wrote /proc/sys/kernel/hostname\n");
	fd = open("/proc/sys/kernel/domainname", O_WRONLY);
	if (try("open /proc/sys/kernel/domainname", fd) >= 0 && write(fd, "atk-pwned", 9) == 9)
		escape("wrote /proc/sys/kernel/domainname\n");
	uname(&u);
	out("UNAME after: %s %s\n", u.nodename, u.domainname);
	done();
	return 0;
}
