/* Writes to stdout and stderr for ever. */
#include "atk.h"

int main(void)
{
	static char buf[1 << 16];

	memset(buf, 'y', sizeof(buf));
	buf[sizeof(buf) - 1] = '\n';
	out("TRY output flood: ok\n");
	for (unsigned long i = 0;; i++)
		if (write(i % 8 ? 1 : 2, buf, sizeof(buf)) < 0 && errno != EAGAIN)
			return 1;
}
