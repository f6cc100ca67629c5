/* Makes an x32 system call (getpid with the x32 bit, through the 64-bit
 * syscall instruction). Every x86_64 kernel passes it to seccomp, which the
 * judge's policy answers by killing the process; bare, it returns the pid
 * where the kernel has the x32 ABI and ENOSYS where it does not. Exit
 * status: 0 when it returned a pid, 1 when it failed. */
#include <unistd.h>
#include <sys/syscall.h>

int main(void)
{
	return syscall(0x40000000 | SYS_getpid) > 0 ? 0 : 1;
}
