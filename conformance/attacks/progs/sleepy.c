/* Sleeps argv[1] milliseconds, then says it survived: the victim of another box. */
#include "atk.h"

int main(int argc, char **argv)
{
	out("TRY sleep in the victim box: ok\nAWAKE\n");
	hold(argc > 1 ? argv[1] : "1000");
	out("SURVIVED\n");
	done();
	return 0;
}
