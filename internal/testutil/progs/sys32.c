/* Makes a 32-bit system call (getpid through int 0x80), which the judge's
 * seccomp policy answers by killing the process. */
int main(void)
{
	int r;
	__asm__ volatile("int $0x80" : "=a"(r) : "a"(20) : "memory");
	return r > 0 ? 0 : 1;
}
