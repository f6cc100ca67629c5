/* System V and POSIX IPC as a channel between boxes or between runs of one
 * box: "put TOKEN MS" creates shared memory, a semaphore, a message queue,
 * a POSIX shared memory object and a POSIX message queue holding TOKEN and
 * keeps them MS milliseconds; "get" looks for all of them. */
#include "atk.h"
#include <mqueue.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>

#define KEY 0x41544b31

struct msg {
	long type;
	char text[128];
};

int main(int argc, char **argv)
{
	if (argc > 2 && strcmp(argv[1], "put") == 0) {
		const char *tok = argv[2];
		int id = shmget(KEY, 4096, IPC_CREAT | 0666);
		try("shmget(create)", id);
		if (id >= 0) {
			char *p = shmat(id, NULL, 0);
			if (p != (void *)-1)
				snprintf(p, 4096, "%s", tok);
		}
		try("semget(create)", semget(KEY, 1, IPC_CREAT | 0666));
		int q = msgget(KEY, IPC_CREAT | 0666);
		try("msgget(create)", q);
		struct msg m = {.type = 1};
		snprintf(m.text, sizeof(m.text), "%s", tok);
		if (q >= 0)
			try("msgsnd", msgsnd(q, &m, sizeof(m.text), IPC_NOWAIT));
		int fd = shm_open("/atk-shm", O_RDWR | O_CREAT, 0666);
		try("shm_open(create)", fd);
		if (fd >= 0)
			write(fd, tok, strlen(tok));
		struct mq_attr a = {.mq_maxmsg = 4, .mq_msgsize = 128};
		mqd_t mq = mq_open("/atk-mq", O_RDWR | O_CREAT, 0666, &a);
		try("mq_open(create)", (long)mq);
		if (mq != (mqd_t)-1)
			try("mq_send", mq_send(mq, tok, strlen(tok), 0));
		out("PUT\n");
		if (argc > 3)
			hold(argv[3]);
		done();
		return 0;
	}
	int id = shmget(KEY, 0, 0);
	if (try("shmget(find)", id) >= 0) {
		char *p = shmat(id, NULL, SHM_RDONLY);
		if (p != (void *)-1)
			out("FOUND sysv-shm: %.100s\n", p);
	}
	if (try("semget(find)", semget(KEY, 0, 0)) >= 0)
		out("FOUND sysv-sem\n");
	int q = msgget(KEY, 0);
	if (try("msgget(find)", q) >= 0) {
		struct msg m;
		if (msgrcv(q, &m, sizeof(m.text), 0, IPC_NOWAIT) > 0)
			out("FOUND sysv-msg: %.100s\n", m.text);
		else
			out("FOUND sysv-msg\n");
	}
	int fd = shm_open("/atk-shm", O_RDONLY, 0);
	if (try("shm_open(find)", fd) >= 0) {
		char buf[128] = {0};
		read(fd, buf, sizeof(buf) - 1);
		out("FOUND posix-shm: %s\n", buf);
	}
	mqd_t mq = mq_open("/atk-mq", O_RDONLY | O_NONBLOCK);
	if (try("mq_open(find)", (long)mq) >= 0) {
		char buf[256] = {0};
		mq_receive(mq, buf, sizeof(buf), NULL);
		out("FOUND posix-mq: %s\n", buf);
	}
	listdir("/dev/shm");
	dump("/proc/sysvipc/shm");
	done();
	return 0;
}
