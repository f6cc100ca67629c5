/* Loads kernel modules: init_module, finit_module, delete_module, and the
 * kernel's own autoloading through socket families and line disciplines. */
#include "atk.h"
#include <sys/ioctl.h>
#include <sys/socket.h>

int main(void)
{
	static char image[4096] = "\177ELF";

	if (try("init_module(garbage)", syscall(SYS_init_module, image, sizeof(image), "")) >= 0)
		escape("init_module\n");
	int fd = open("/proc/self/exe", O_RDONLY);
	if (try("finit_module(self)", syscall(SYS_finit_module, fd, "", 0)) >= 0)
		escape("finit_module\n");
	if (try("delete_module(ext4)", syscall(SYS_delete_module, "ext4", O_NONBLOCK)) >= 0)
		escape("delete_module\n");
	/* Every socket family and type: the kernel asks modprobe for
	 * net-pf-N modules it does not have. */
	int opened = 0;
	for (int fam = 0; fam < 46; fam++) {
		int types[] = {SOCK_STREAM, SOCK_DGRAM, SOCK_RAW, SOCK_SEQPACKET};
		for (int t = 0; t < 4; t++) {
			int s = socket(fam, types[t], 0);
			if (s >= 0) {
				opened++;
				close(s);
			}
		}
	}
	out("TRY socket() for families 0..45: ok (%d opened)\n", opened);
	try("request_key", syscall(SYS_request_key, "user", "atk", NULL, 0));
	int ldisc = 15; /* N_HCI, a module on most kernels */
	int pt = open("/dev/ptmx", O_RDWR | O_NOCTTY);
	try("open /dev/ptmx", pt);
	if (pt >= 0)
		try("TIOCSETD(N_HCI)", ioctl(pt, TIOCSETD, &ldisc));
	done();
	return 0;
}
