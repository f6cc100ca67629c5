/* Host-wide privileged calls: reboot, swap, process accounting, kexec, the
 * kernel log, port I/O, BPF, perf, userfaultfd, quotas, and the "shocker"
 * open_by_handle_at escape. argv[1]: a file for acct and swapon. */
#include "atk.h"
#include <sys/reboot.h>

static void must_fail(const char *label, long rc)
{
	if (try(label, rc) >= 0)
		escape("%s succeeded\n", label);
}

int main(int argc, char **argv)
{
	const char *f = argc > 1 ? argv[1] : "/box/acct";

	close(open(f, O_WRONLY | O_CREAT, 0644));
	/* A wrong magic: if the call were allowed it would still do nothing. */
	must_fail("reboot(bad magic)", syscall(SYS_reboot, 0xfee1dead, 0, 0, NULL));
	must_fail("swapon", syscall(SYS_swapon, f, 0));
	if (try("acct(file)", syscall(SYS_acct, f)) >= 0) {
		escape("process accounting turned on\n");
		syscall(SYS_acct, NULL);
	}
	must_fail("kexec_load", syscall(SYS_kexec_load, 0, 0, NULL, 0));
	char buf[256];
	must_fail("syslog(READ_ALL)", syscall(SYS_syslog, 3, buf, (int)sizeof(buf)));
	must_fail("syslog(CONSOLE_OFF)", syscall(SYS_syslog, 6, NULL, 0));
	must_fail("iopl(3)", syscall(SYS_iopl, 3));
	must_fail("ioperm(0x70)", syscall(SYS_ioperm, 0x70, 2, 1));
	must_fail("bpf(PROG_LOAD)", syscall(SYS_bpf, 5, buf, 64));
	char attr[128] = {0};
	must_fail("perf_event_open", syscall(SYS_perf_event_open, attr, -1, 0, -1, 0));
	try("userfaultfd", syscall(SYS_userfaultfd, 0));
	must_fail("quotactl", syscall(SYS_quotactl, 0x800002 /* Q_GETFMT */, "/dev/vda", 0, buf));
	must_fail("vhangup", syscall(SYS_vhangup));
	must_fail("fanotify_init", syscall(SYS_fanotify_init, 0, 0));
	struct {
		unsigned int bytes;
		int type;
		unsigned char h[8];
	} fh = {8, 1, {2, 0, 0, 0, 0, 0, 0, 0}};
	must_fail("open_by_handle_at(inode 2)", syscall(SYS_open_by_handle_at, AT_FDCWD, &fh, O_RDONLY));
	int mnt;
	char hb[128] = {0};
	*(unsigned int *)hb = 64;
	try("name_to_handle_at(/)", syscall(SYS_name_to_handle_at, AT_FDCWD, "/", hb, &mnt, 0));
	must_fail("setns(/proc/1/ns/net)", syscall(SYS_setns, open("/proc/1/ns/net", O_RDONLY), 0));
	try("personality(ADDR_NO_RANDOMIZE)", syscall(SYS_personality, 0x0040000));
	done();
	return 0;
}
