/* File locks as a channel between boxes sharing a read-only directory:
 * "hold FILE MS" takes every kind of lock and holds it; "probe FILE" looks
 * for the other box's locks. */
#include "atk.h"
#include <sys/file.h>

int main(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	int fd = open(argv[2], O_RDONLY);
	try("open the shared file", fd);
	if (strcmp(argv[1], "hold") == 0) {
		struct flock fl = {.l_type = F_RDLCK, .l_whence = SEEK_SET};
		try("flock(LOCK_SH)", flock(fd, LOCK_SH));
		try("fcntl(F_SETLK, read lock)", fcntl(fd, F_SETLK, &fl));
		struct flock ofd = {.l_type = F_RDLCK, .l_whence = SEEK_SET};
		try("fcntl(F_OFD_SETLK, read lock)", fcntl(fd, F_OFD_SETLK, &ofd));
		try("fcntl(F_SETLEASE, read lease)", fcntl(fd, F_SETLEASE, F_RDLCK));
		out("HOLDING\n");
		hold(argc > 3 ? argv[3] : "1500");
	} else {
		struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
		try("fcntl(F_GETLK)", fcntl(fd, F_GETLK, &fl));
		if (fl.l_type != F_UNLCK)
			escape("sees the other box's lock (type %d, pid %d)\n", fl.l_type, (int)fl.l_pid);
		struct flock ofd = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
		try("fcntl(F_OFD_GETLK)", fcntl(fd, F_OFD_GETLK, &ofd));
		if (ofd.l_type != F_UNLCK)
			escape("sees the other box's OFD lock\n");
		if (try("flock(LOCK_EX|LOCK_NB)", flock(fd, LOCK_EX | LOCK_NB)) < 0 && errno == EWOULDBLOCK)
			escape("the other box's flock blocks this one\n");
		int fd2 = open(argv[2], O_RDONLY);
		try("open the shared file again", fd2);
		dump("/proc/locks");
	}
	done();
	return 0;
}
