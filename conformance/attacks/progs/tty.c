/* Attacks the terminal it was given as stdin: takes it as its controlling
 * terminal, pushes input into it with TIOCSTI (typed into the judge's shell
 * once the run ends), and changes its modes and size. */
#include "atk.h"
#include <sys/ioctl.h>
#include <termios.h>

int main(void)
{
	const char *cmd = "echo ATK-INJECTED\n";
	int injected = 0;

	tryf(isatty(0) ? 0 : -1, "stdin is a terminal");
	try("setsid()", setsid());
	try("TIOCSCTTY(stdin)", ioctl(0, TIOCSCTTY, 0));
	try("TIOCSCTTY(stdin, force)", ioctl(0, TIOCSCTTY, 1));
	int tty = open("/dev/tty", O_RDWR);
	try("open /dev/tty", tty);
	for (const char *p = cmd; *p; p++)
		if (ioctl(0, TIOCSTI, p) == 0)
			injected++;
	out("TRY TIOCSTI on stdin: %s (%d bytes)\n", injected ? "ok" : ename(errno), injected);
	if (tty >= 0) {
		int n = 0;
		for (const char *p = cmd; *p; p++)
			if (ioctl(tty, TIOCSTI, p) == 0)
				n++;
		out("TRY TIOCSTI on /dev/tty: %s (%d bytes)\n", n ? "ok" : ename(errno), n);
	}
	char linux_cmd = 12; /* TIOCL_GETFGCONSOLE */
	try("TIOCLINUX", ioctl(0, TIOCLINUX, &linux_cmd));
	try("TIOCCONS", ioctl(0, TIOCCONS));
	int ldisc = 1;
	try("TIOCSETD", ioctl(0, TIOCSETD, &ldisc));
	/* The terminal's modes and size, shared with the judge's shell. */
	struct termios t;
	if (tcgetattr(0, &t) == 0) {
		t.c_lflag &= ~(ECHO | ICANON | ISIG);
		t.c_oflag &= ~OPOST;
		try("tcsetattr(no echo, raw)", tcsetattr(0, TCSANOW, &t));
	}
	struct winsize ws = {.ws_row = 3, .ws_col = 7};
	try("TIOCSWINSZ 3x7", ioctl(0, TIOCSWINSZ, &ws));
	done();
	return 0;
}
