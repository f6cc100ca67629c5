/* Changes the time: settimeofday, clock_settime, adjtimex, clock_adjtime,
 * and the RTC. */
#include "atk.h"
#include <sys/time.h>
#include <sys/timex.h>

int main(void)
{
	struct timeval tv;
	struct timespec ts;

	gettimeofday(&tv, NULL);
	tv.tv_sec += 86400 * 3;
	if (try("settimeofday(+3 days)", settimeofday(&tv, NULL)) >= 0)
		escape("settimeofday\n");
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec -= 86400 * 3;
	if (try("clock_settime(REALTIME, -3 days)", clock_settime(CLOCK_REALTIME, &ts)) >= 0)
		escape("clock_settime\n");
	struct timex tx = {.modes = ADJ_FREQUENCY, .freq = 500 << 16};
	if (try("adjtimex(freq +500ppm)", adjtimex(&tx)) >= 0)
		escape("adjtimex\n");
	struct timex off = {.modes = ADJ_SETOFFSET, .time = {.tv_sec = 3600}};
	if (try("clock_adjtime(REALTIME, +1h)", syscall(SYS_clock_adjtime, CLOCK_REALTIME, &off)) >= 0)
		escape("clock_adjtime\n");
	struct timex q = {0};
	try("adjtimex(query)", adjtimex(&q));
	try("open /dev/rtc0", open("/dev/rtc0", O_RDWR));
	try("unshare(CLONE_NEWTIME)", syscall(SYS_unshare, 0x80 /* CLONE_NEWTIME */));
	done();
	return 0;
}
