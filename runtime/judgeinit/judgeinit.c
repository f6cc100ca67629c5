/*
 * The judge init: PID 1 of a judged sandbox. It forks the submission so the
 * submission is never PID 1, reaps everything, and reports the program's end
 * to the supervisor outside the sandbox.
 *
 * It lives in the mini-isolate binary and runs from a constructor, before
 * the Go runtime starts, when the binary is executed as
 * "<anything> judge-init <socket-fd>". libcontainer executes it through
 * /proc/self/exe of its own init, which is a sealed copy of our binary, so
 * nothing in the sandbox can modify it.
 *
 * Signals: as PID 1 of its PID namespace the init only receives signals it
 * has a handler for from inside the namespace, and it installs none, so the
 * submission cannot kill it. It is not dumpable, so the submission (same
 * uid) cannot ptrace it or open its /proc entries.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sched.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "judgeinit.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#ifndef SHM_STAT_ANY
#define SHM_STAT_ANY 15
#endif
#ifndef SEM_STAT_ANY
#define SEM_STAT_ANY 20
#endif
#ifndef MSG_STAT_ANY
#define MSG_STAT_ANY 13
#endif
extern char **environ;

#ifndef MQUEUE_MAGIC
#define MQUEUE_MAGIC 0x19800202
#endif


static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/*
 * Sends one message, with fd when it is not -1: a pidfd, with which the
 * supervisor signals exactly that process (its pid cannot be reused
 * before the init reaps it). Without one (an old kernel) the message goes
 * alone.
 */
static int send_msg_fd(int sock, uint32_t type, const void *body, uint32_t len, int fd)
{
	char buf[sizeof(struct ji_hdr) + 512];
	struct ji_hdr h = {.type = type, .len = len};
	union {
		char b[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = {.iov_base = buf, .iov_len = sizeof(h) + len};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
	ssize_t n;

	if (len > sizeof(buf) - sizeof(h))
		return -1;
	memcpy(buf, &h, sizeof(h));
	if (len)
		memcpy(buf + sizeof(h), body, len);
	if (fd >= 0) {
		memset(&ctl, 0, sizeof(ctl));
		msg.msg_control = ctl.b;
		msg.msg_controllen = sizeof(ctl.b);
		struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	do
		n = sendmsg(sock, &msg, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -1 : 0;
}

static int send_msg(int sock, uint32_t type, const void *body, uint32_t len)
{
	return send_msg_fd(sock, type, body, len, -1);
}

static void child_fail(int sock, uint32_t stage, int err, const char *detail)
{
	struct ji_fail f = {.stage = stage, .err = err};

	snprintf(f.detail, sizeof(f.detail), "%s", detail ? detail : "");
	send_msg(sock, JI_FAIL, &f, sizeof(f));
	_exit(127);
}

/* Opens a redirection target as the sandbox user; never through a symlink. */
/*
 * Set while a child runs in the init's memory (spawn): it then points to
 * the init's flag that asks for the child to be started again by fork.
 */
static volatile int *volatile vfork_retry;

static void redirect(int sock, const char *path, int target, int flags, uint32_t stage)
{
	struct stat st;

	/*
	 * Opening a FIFO blocks until its other end is opened, and a child
	 * in the init's memory holds the init still meanwhile: it could not
	 * notice its supervisor leaving, and end the run. Such a run starts
	 * over by fork. Nothing else runs in the sandbox between runs, so the
	 * path cannot become a FIFO after this look.
	 */
	if (vfork_retry && lstat(path, &st) == 0 && S_ISFIFO(st.st_mode)) {
		*vfork_retry = 1;
		_exit(0);
	}

	/*
	 * An output file is the program's own: a symlink an earlier run left
	 * at its path is replaced, not followed, and not a judge error. (A
	 * FIFO stays: communication tasks redirect to FIFOs.)
	 */
	if ((flags & O_CREAT) && lstat(path, &st) == 0 && S_ISLNK(st.st_mode))
		unlink(path);
	int fd = open(path, flags | O_NOFOLLOW | O_CLOEXEC, 0666);

	if (fd < 0)
		child_fail(sock, stage, errno, path);
	if (dup2(fd, target) < 0)
		child_fail(sock, stage, errno, path);
	close(fd);
}

struct run {
	struct ji_run hdr;
	struct ji_rlimit *rlimits;
	gid_t groups[JI_MAX_GROUPS];
	const char *in, *out, *err, *cwd;
	char **argv, **envp;
	int fds[3];	      /* received stdin, stdout, stderr, or -1 */
	int extra[JI_MAX_FDS]; /* received fds for 3, 4, ... */
	int nextra;
	int join[JI_MAX_JOIN]; /* with JI_JOIN: cgroup tasks files to join */
	int njoin;
	int quiet;	   /* with JI_QUIET: where JI_EXEC goes, or -1 */
	uint64_t start_ns; /* CLOCK_MONOTONIC as the init starts the child */
};

/*
 * Becomes the run's user: narrows the bounding set, then sets groups, gid
 * and uid. Leaving uid 0 clears every capability, as the kernel does for a
 * process that is not KEEPCAPS. Returns -1 with errno set.
 */
/*
 * The init's own bounding set, read once: its children start with it, and
 * the init never narrows it, so a child drops only what is in it (about 4
 * capabilities in a box, instead of a call for each of the kernel's 41).
 */
static uint64_t init_bounding = ~0ull;

static void read_bounding(void)
{
	uint64_t set = 0;

	for (int cap = 0; cap < 64; cap++) {
		int in = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);

		if (in < 0) {
			if (errno != EINVAL || cap == 0)
				return; /* cannot tell: children drop every one */
			break;      /* past the kernel's last capability */
		}
		if (in)
			set |= 1ull << cap;
	}
	init_bounding = set;
}

static int become(const struct run *r, const char **what)
{
	for (int cap = 0; cap < 64; cap++) {
		if ((r->hdr.bounding & (1ull << cap)) || !(init_bounding & (1ull << cap)))
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
			if (errno == EINVAL)
				break; /* past the kernel's last capability */
			*what = "drop the bounding set";
			return -1;
		}
	}
	*what = "setgroups";
	if (setgroups(r->hdr.ngroups, r->groups) < 0)
		return -1;
	*what = "setresgid";
	if (setresgid(r->hdr.gid, r->hdr.gid, r->hdr.gid) < 0)
		return -1;
	*what = "setresuid";
	if (setresuid(r->hdr.uid, r->hdr.uid, r->hdr.uid) < 0)
		return -1;
	return 0;
}

/*
 * Reads the directory open at fd from its start, through a dup of fd. A
 * dup shares fd's offset, which an earlier read may have left at the end.
 */
static DIR *read_dir(int fd)
{
	int dupfd = dup(fd);
	DIR *d = dupfd < 0 ? NULL : fdopendir(dupfd);

	if (!d) {
		if (dupfd >= 0)
			close(dupfd);
		return NULL;
	}
	rewinddir(d);
	return d;
}

/*
 * Moves dir's subdirectories into trash (under fresh names) and unlinks
 * everything else, without following symlinks. A directory the program
 * made unwritable is opened up first: moving it rewrites its "..". It
 * belongs to the same user.
 */
static void flatten(int dir, int trash, ino_t trash_ino, unsigned long *next)
{
	DIR *d = read_dir(dir);
	struct dirent *e;
	char name[32];

	if (!d)
		return;
	while ((e = readdir(d)) != NULL) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") || e->d_ino == trash_ino)
			continue;
		if (unlinkat(dir, e->d_name, 0) == 0 || errno != EISDIR)
			continue;
		if (trash < 0)
			continue;
		fchmodat(dir, e->d_name, 0700, 0);
		/* An adopted trash may hold the program's own names. */
		do
			snprintf(name, sizeof(name), "%lu", (*next)++);
		while (renameat2(dir, e->d_name, trash, name, RENAME_NOREPLACE) < 0 && errno == EEXIST);
	}
	closedir(d);
}

/*
 * Adopts one of root's subdirectories as the trash, when none could be
 * made: the program took every name tried, or every inode. Its own
 * entries are then emptied like the rest. Returns it open, its name in
 * name, or -1 when root has no subdirectory (nothing to move).
 */
static int adopt_trash(int root, char *name, size_t size)
{
	DIR *d = read_dir(root);
	struct dirent *e;
	struct stat st;
	int trash = -1;

	if (!d)
		return -1;
	while (trash < 0 && (e = readdir(d)) != NULL) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") ||
		    fstatat(root, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
			continue;
		fchmodat(root, e->d_name, 0700, 0);
		trash = openat(root, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (trash >= 0)
			snprintf(name, size, "%s", e->d_name);
	}
	closedir(d);
	return trash;
}

/*
 * Empties a directory tree in constant memory and file descriptors,
 * whatever its depth: instead of descending, it moves each subdirectory
 * it meets into a hidden directory at the top (or, when the program left
 * no way to make one, one of its own) and empties those one at a time.
 * It never follows a symlink, and a mount point cannot be moved.
 */
static void empty_dir(int root)
{
	char trash_name[NAME_MAX + 1];
	unsigned long next = 0;
	struct stat st;
	int trash = -1;

	for (int i = 0; i < 16 && trash < 0; i++) {
		snprintf(trash_name, sizeof(trash_name), ".judge-init-trash-%d-%d", (int)getpid(), i);
		if (mkdirat(root, trash_name, 0700) == 0)
			trash = openat(root, trash_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	}
	if (trash < 0)
		trash = adopt_trash(root, trash_name, sizeof(trash_name));
	if (trash < 0 || fstat(trash, &st) < 0) {
		/* No directories here (mqueue has none): unlink what there is. */
		flatten(root, -1, 0, &next);
		if (trash >= 0)
			close(trash);
		close(root);
		return;
	}
	flatten(root, trash, st.st_ino, &next);
	for (int more = 1; more;) {
		/* Each pass reads trash from the start (read_dir): one that
		 * began at the last pass's end would see nothing, and leave
		 * every deeper level in place. */
		DIR *d = read_dir(trash);
		struct dirent *e;

		more = 0;
		if (!d)
			break;
		while ((e = readdir(d)) != NULL) {
			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			/* Only an adopted trash holds other than directories. */
			if (unlinkat(trash, e->d_name, 0) == 0) {
				more = 1;
				continue;
			}
			int sub = openat(trash, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub >= 0) {
				flatten(sub, trash, st.st_ino, &next);
				close(sub);
			}
			if (unlinkat(trash, e->d_name, AT_REMOVEDIR) == 0)
				more = 1;
		}
		closedir(d);
	}
	close(trash);
	unlinkat(root, trash_name, AT_REMOVEDIR);
	close(root);
}

/* Empties path if it is a file system of the given type. */
static void empty_fs(const char *path, long magic)
{
	struct statfs sfs;
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return;
	if (fstatfs(fd, &sfs) < 0 || (long)sfs.f_type != magic) {
		close(fd);
		return;
	}
	empty_dir(fd);
}

/* Removes every SysV IPC object of the namespace that the caller owns. */
static void remove_sysv(void)
{
	struct shmid_ds shm;
	struct semid_ds sem;
	struct msqid_ds msq;
	struct shm_info shminfo;
	struct seminfo seminfo;
	struct msginfo msginfo;
	int max, id;

	max = shmctl(0, SHM_INFO, (struct shmid_ds *)(void *)&shminfo);
	for (int i = 0; i <= max; i++) {
		if ((id = shmctl(i, SHM_STAT_ANY, &shm)) >= 0)
			shmctl(id, IPC_RMID, NULL);
	}
	max = semctl(0, 0, SEM_INFO, &seminfo);
	for (int i = 0; i <= max; i++) {
		if ((id = semctl(i, 0, SEM_STAT_ANY, &sem)) >= 0)
			semctl(id, 0, IPC_RMID);
	}
	max = msgctl(0, MSG_INFO, (struct msqid_ds *)(void *)&msginfo);
	for (int i = 0; i <= max; i++) {
		if ((id = msgctl(i, MSG_STAT_ANY, &msq)) >= 0)
			msgctl(id, IPC_RMID, NULL);
	}
}

/*
 * Clears what earlier runs of a box left where the next run would find it
 * and isolate, whose every run has a fresh IPC namespace, leaves nothing:
 * SysV IPC, POSIX shared memory and semaphores (/dev/shm) and message
 * queues (/dev/mqueue). It runs as the run's user, which owns all of it,
 * while nothing else runs in the sandbox.
 */
/* Whether a /proc/sysvipc table lists an object past its header line. */
static int sysv_used(const char *path)
{
	char buf[512];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return 1; /* cannot tell: clean */
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n < 0)
		return 1;
	char *nl = memchr(buf, '\n', (size_t)n);
	return nl && nl + 1 < buf + n;
}

/* Whether a directory has an entry other than . and .. (missing: no). */
static int dir_used(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int used = 0;

	if (!d)
		return errno != ENOENT;
	while (!used && (e = readdir(d)) != NULL)
		used = strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	return used;
}

/*
 * Set when the last run's IPC was cleared after it ended, and nothing ran
 * in the sandbox since: the next run need not check again.
 */
static int ipc_clean;

/* Returns 0 once nothing is left, -1 when that is not sure. */
static int clean_ipc(const struct run *r)
{
	const char *what;
	int status;

	/* Most runs leave nothing: then spare the fork. */
	if (!sysv_used("/proc/sysvipc/shm") && !sysv_used("/proc/sysvipc/sem") && !sysv_used("/proc/sysvipc/msg") &&
	    !dir_used("/dev/shm") && !dir_used("/dev/mqueue"))
		return 0;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (become(r, &what) < 0)
			_exit(1);
		remove_sysv();
		empty_fs("/dev/shm", TMPFS_MAGIC);
		empty_fs("/dev/mqueue", MQUEUE_MAGIC);
		_exit(0);
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return -1;
	}
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/*
 * Joins cgroups through v1 "tasks" files the supervisor opened: writing
 * "0" moves this thread, the whole process, without the global lock (and
 * RCU grace period) that moving another process takes.
 */
static void join_cgroups(int sock, const int *fds, int n)
{
	for (int k = 0; k < n; k++) {
		if (write(fds[k], "0", 1) != 1)
			child_fail(sock, JI_STAGE_SETUP, errno, "join the run's cgroup");
		close(fds[k]);
	}
}

/*
 * Says JI_READY and waits for JI_GO, which may carry cgroup files to join:
 * the supervisor learns the child's host pid from the message's
 * credentials, and may move it itself meanwhile.
 */
static void await_go(int sock)
{
	struct ji_hdr go;
	ssize_t n;
	int fds[JI_MAX_JOIN], nfds = 0;
	union {
		char b[CMSG_SPACE(JI_MAX_JOIN * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = {.iov_base = &go, .iov_len = sizeof(go)};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.b, .msg_controllen = sizeof(ctl.b)};

	if (send_msg(sock, JI_READY, NULL, 0) < 0)
		_exit(127);
	do
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n == 0)
		_exit(127); /* the supervisor is gone: no one to tell */
	if (n < 0)
		child_fail(sock, JI_STAGE_SETUP, errno, "receive the go-ahead");
	if (n != sizeof(go) || go.type != JI_GO)
		child_fail(sock, JI_STAGE_SETUP, EPROTO, "expected the go-ahead");
	if (msg.msg_flags & MSG_CTRUNC)
		child_fail(sock, JI_STAGE_SETUP, EMFILE, "receive the run's cgroup files");
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		nfds = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		if (nfds > JI_MAX_JOIN)
			child_fail(sock, JI_STAGE_SETUP, EMFILE, "receive the run's cgroup files");
		memcpy(fds, CMSG_DATA(c), (size_t)nfds * sizeof(int));
	}
	join_cgroups(sock, fds, nfds);
}

static void child_main(int sock, struct run *r)
{
	uint32_t i;
	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);

	if (r->hdr.flags & JI_JOIN)
		join_cgroups(sock, r->join, r->njoin);
	else
		await_go(sock);

	if (r->hdr.flags & JI_SET_ID) {
		const char *what;
		if (become(r, &what) < 0)
			child_fail(sock, JI_STAGE_IDENTITY, errno, what);
	}
	for (i = 0; i < 3; i++) {
		if (r->fds[i] >= 0 && dup2(r->fds[i], (int)i) < 0)
			child_fail(sock, JI_STAGE_SETUP, errno, "dup2");
	}
	/* Received fds, and our connections, have arbitrary numbers: lift
	 * them out of the way of their targets before placing them at 3, 4,
	 * ...; a connection left at 3 would be overwritten, and the exec
	 * report written to the program's fd instead. */
	int quiet = r->quiet;
	if (r->nextra) {
		int high = fcntl(sock, F_DUPFD_CLOEXEC, 3 + JI_MAX_FDS + 8);
		if (high < 0)
			child_fail(sock, JI_STAGE_SETUP, errno, "dup");
		sock = high;
		if (quiet >= 0 && (quiet = fcntl(quiet, F_DUPFD_CLOEXEC, 3 + JI_MAX_FDS + 8)) < 0)
			child_fail(sock, JI_STAGE_SETUP, errno, "dup");
	}
	int extra[JI_MAX_FDS]; /* r is the init's memory: never written here */
	for (int k = 0; k < r->nextra; k++) {
		extra[k] = fcntl(r->extra[k], F_DUPFD_CLOEXEC, 3 + JI_MAX_FDS + 8);
		if (extra[k] < 0)
			child_fail(sock, JI_STAGE_SETUP, errno, "dup");
	}
	for (int k = 0; k < r->nextra; k++) {
		if (dup2(extra[k], 3 + k) < 0)
			child_fail(sock, JI_STAGE_SETUP, errno, "dup2");
	}
	if (*r->in)
		redirect(sock, r->in, 0, O_RDONLY, JI_STAGE_STDIN);
	if (*r->out)
		redirect(sock, r->out, 1, O_WRONLY | O_CREAT | O_TRUNC, JI_STAGE_STDOUT);
	if (r->hdr.flags & JI_STDERR_TO_STDOUT) {
		if (dup2(1, 2) < 0)
			child_fail(sock, JI_STAGE_STDERR, errno, "stdout");
	} else if (*r->err) {
		redirect(sock, r->err, 2, O_WRONLY | O_CREAT | O_TRUNC, JI_STAGE_STDERR);
	}
	if (*r->cwd && chdir(r->cwd) < 0)
		child_fail(sock, JI_STAGE_CHDIR, errno, r->cwd);
	for (i = 0; i < r->hdr.nrlimits; i++) {
		struct rlimit rl = {.rlim_cur = r->rlimits[i].soft, .rlim_max = r->rlimits[i].hard};
		char what[32];

		if (setrlimit((int)r->rlimits[i].resource, &rl) < 0) {
			snprintf(what, sizeof(what), "resource %u", r->rlimits[i].resource);
			child_fail(sock, JI_STAGE_RLIMIT, errno, what);
		}
	}
	/* Nothing but stdio and the fds the caller passes reaches the program. */
	if (syscall(SYS_close_range, 3 + r->hdr.keep_fds, ~0U, CLOSE_RANGE_CLOEXEC) < 0) {
		for (int fd = 3 + (int)r->hdr.keep_fds; fd < 1024; fd++)
			fcntl(fd, F_SETFD, FD_CLOEXEC);
	}

	struct ji_exec ex = {.mono_ns = mono_ns(), .start_ns = r->start_ns};
	/* A forked child's set-up may have been long (a FIFO): its Exec
	 * goes where it is read at once. */
	send_msg(quiet >= 0 && vfork_retry ? quiet : sock, JI_EXEC, &ex, sizeof(ex));
	/* execvp looks PATH up in environ: the run's. spawn puts the init's
	 * back. */
	environ = r->envp;
	if (r->hdr.flags & JI_NO_PATH_SEARCH)
		execve(r->argv[0], r->argv, r->envp);
	else
		execvp(r->argv[0], r->argv);
	child_fail(sock, JI_STAGE_EXEC, errno, r->argv[0]);
}

/*
 * The child's stack. The child shares the init's memory until it execs or
 * exits, and the init waits meanwhile (CLONE_VFORK), so one stack serves
 * every run.
 */
#define CHILD_STACK (1024 * 1024)
static char *child_stack;

struct spawn_arg {
	int sock;
	struct run *r;
};

static int child_entry(void *p)
{
	struct spawn_arg *a = p;

	child_main(a->sock, a->r);
	return 127; /* child_main execs or exits */
}

/*
 * Starts the child as vfork does: in the init's memory, with the init
 * suspended until the child execs or exits. A fork would copy the page
 * tables of the whole binary and take a copy-on-write fault on every page
 * either side then writes, the costliest part of starting a run on some
 * virtual machines. The child writes nothing of the init's but errno; it
 * reads the request, and keeps what it changes on its own stack. Falls
 * back to fork where clone is refused. *pidfd gets the child's pidfd, or
 * -1; *forked says the child runs apart from us, by fork.
 */
static pid_t spawn(int sock, struct run *r, int *pidfd, int *forked)
{
	struct spawn_arg a = {.sock = sock, .r = r};
	volatile int retry = 0;
	pid_t pid = -1;

	*pidfd = -1;
	if (child_stack) {
		char **env = environ;

		vfork_retry = &retry;
		pid = clone(child_entry, child_stack + CHILD_STACK, CLONE_VM | CLONE_VFORK | CLONE_PIDFD | SIGCHLD, &a,
			    pidfd);
		vfork_retry = NULL;
		environ = env;
		/* The child's setresuid reset the dumpable flag of the memory
		 * it shared with us. */
		prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	}
	if (pid > 0 && retry) {
		/* It left at a FIFO, before anything of the run: reap it. */
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		if (*pidfd >= 0)
			close(*pidfd);
		*pidfd = -1;
		pid = -1;
	}
	if (pid >= 0)
		return pid;
	*forked = 1;
	pid = fork();
	if (pid == 0)
		child_main(sock, r);
	if (pid > 0)
		*pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	return pid;
}

/* Splits n NUL-terminated strings off *p, within end. */
static int take_strings(char **p, char *end, char **out, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		char *nul = memchr(*p, '\0', (size_t)(end - *p));

		if (!nul)
			return -1;
		out[i] = *p;
		*p = nul + 1;
	}
	return 0;
}

/* Splits the fds received with JI_RUN into stdio, extra, join and quiet fds. */
static int place_fds(struct run *r, const int *fds, int nfds)
{
	int next = 0, njoin = 0;

	r->quiet = -1;
	if (r->hdr.flags & JI_QUIET) {
		if (nfds < 1)
			return -1;
		r->quiet = fds[--nfds];
	}

	if (r->hdr.flags & JI_JOIN) {
		if (r->hdr.njoin > JI_MAX_JOIN || (int)r->hdr.njoin > nfds)
			return -1;
		njoin = (int)r->hdr.njoin;
	}
	uint32_t want[3] = {JI_FD_STDIN, JI_FD_STDOUT, JI_FD_STDERR};
	for (int i = 0; i < 3; i++) {
		r->fds[i] = -1;
		if ((r->hdr.flags & want[i]) && next < nfds - njoin)
			r->fds[i] = fds[next++];
	}
	r->nextra = 0;
	while (next < nfds - njoin)
		r->extra[r->nextra++] = fds[next++];
	r->njoin = 0;
	while (next < nfds)
		r->join[r->njoin++] = fds[next++];
	if (r->nextra && (uint32_t)r->nextra != r->hdr.keep_fds)
		return -1;
	return 0;
}

/*
 * Parses a JI_RUN message of n bytes in buf into r. Returns 0, 1 on
 * JI_QUIT (*quit set), -1 for a malformed message.
 */
static int parse_run(char *buf, size_t n, const int *fds, int nfds, struct run *r, int *quit)
{
	struct ji_hdr h;

	if (n < sizeof(h))
		return -1;
	memcpy(&h, buf, sizeof(h));
	if (h.type == JI_QUIT) {
		*quit = 1;
		return 1;
	}
	if (h.type != JI_RUN || h.len != n - sizeof(h) || h.len < sizeof(r->hdr))
		return -1;

	char *p = buf + sizeof(h), *end = buf + n;
	memcpy(&r->hdr, p, sizeof(r->hdr));
	p += sizeof(r->hdr);
	if (r->hdr.nrlimits > JI_MAX_RLIMITS || r->hdr.nargs == 0 || r->hdr.nargs > 65536 || r->hdr.nenv > 65536)
		return -1;
	if ((size_t)(end - p) < r->hdr.nrlimits * sizeof(struct ji_rlimit))
		return -1;
	r->rlimits = (struct ji_rlimit *)(void *)p;
	p += r->hdr.nrlimits * sizeof(struct ji_rlimit);
	if (r->hdr.ngroups > JI_MAX_GROUPS || (size_t)(end - p) < r->hdr.ngroups * sizeof(uint32_t))
		return -1;
	for (uint32_t i = 0; i < r->hdr.ngroups; i++) {
		uint32_t g;
		memcpy(&g, p, sizeof(g));
		r->groups[i] = (gid_t)g;
		p += sizeof(g);
	}

	char *fixed[4];
	r->argv = calloc(r->hdr.nargs + 1, sizeof(char *));
	r->envp = calloc(r->hdr.nenv + 1, sizeof(char *));
	if (!r->argv || !r->envp)
		return -1;
	if (take_strings(&p, end, fixed, 4) < 0 || take_strings(&p, end, r->argv, r->hdr.nargs) < 0 ||
	    take_strings(&p, end, r->envp, r->hdr.nenv) < 0)
		return -1;
	r->in = fixed[0];
	r->out = fixed[1];
	r->err = fixed[2];
	r->cwd = fixed[3];
	return place_fds(r, fds, nfds);
}

/*
 * Receives JI_RUN (and the fds sent with it). Returns 0, 1 on JI_QUIT (*quit
 * set) or end of stream, -1 with errno set (or 0 for a malformed message)
 * when the request cannot be served. A request refused leaves nothing
 * open or allocated.
 */
static int recv_run(int sock, char *buf, struct run *r, int *quit)
{
	union {
		char b[CMSG_SPACE((3 + JI_MAX_FDS + JI_MAX_JOIN + 1) * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = {.iov_base = buf, .iov_len = JI_MAX_MSG};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.b, .msg_controllen = sizeof(ctl.b)};
	int nfds = 0, fds[3 + JI_MAX_FDS + JI_MAX_JOIN + 1];
	ssize_t n;

	do
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0 && errno != ECONNRESET)
		return -1;
	if (n <= 0)
		return 1;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		int k = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		for (int i = 0; i < k; i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(c) + (size_t)i * sizeof(int), sizeof(int));
			if (nfds < (int)(sizeof(fds) / sizeof(fds[0])))
				fds[nfds++] = fd;
			else
				close(fd);
		}
	}
	int rc = -1;
	if (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC))
		errno = (msg.msg_flags & MSG_TRUNC) ? EMSGSIZE : EMFILE;
	else
		rc = parse_run(buf, (size_t)n, fds, nfds, r, quit);
	if (rc != 0) {
		for (int i = 0; i < nfds; i++)
			close(fds[i]);
		free(r->argv);
		free(r->envp);
		r->argv = r->envp = NULL;
	}
	return rc;
}

static void close_received(struct run *r)
{
	for (int i = 0; i < 3; i++) {
		if (r->fds[i] >= 0)
			close(r->fds[i]);
	}
	for (int k = 0; k < r->nextra; k++)
		close(r->extra[k]);
	for (int k = 0; k < r->njoin; k++)
		close(r->join[k]);
	if (r->quiet >= 0)
		close(r->quiet);
}

/*
 * Waits, between runs, for the next request on sock or a new connection
 * on listener (-1: none). A supervisor may keep its connection open for
 * its next run (JI_PERSIST); another that connects meanwhile, holding the
 * box's lock, is served instead, and the idle one is hung up on. Returns 1
 * when sock has a request (or hung up), 0 when a connection is waiting.
 */
static int await_request(int sock, int listener)
{
	if (listener < 0)
		return 1;
	for (;;) {
		struct pollfd pfd[2] = {{.fd = sock, .events = POLLIN | POLLRDHUP}, {.fd = listener, .events = POLLIN}};

		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return 1; /* let recvmsg say what is wrong */
		}
		/* A request already sent is served first. */
		if (pfd[0].revents)
			return 1;
		if (pfd[1].revents)
			return 0; /* a connection, or a broken listener accept reports */
	}
}

/*
 * Serves runs on one connection, accepted on listener (-1: none). Returns
 * the last program's status when a run without JI_PERSIST ends, *quit = 1
 * on JI_QUIT, and 0 with *quit = 0 when the peer goes away or another
 * connection supersedes it.
 */
static int serve(int sock, int listener, char *buf, int *quit)
{
	int last = 0;
	sigset_t chld;

	/* SIGCHLD is read from a signalfd, so it must stay blocked here; the
	 * child unblocks it before exec. */
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	int sigfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sigfd < 0)
		return 126;

	*quit = 0;
	for (int served = 0;; served++) {
		struct run r;
		int rc, status = 0;
		pid_t child, pid;
		struct rusage ru, main_ru;

		/* Only between runs: a connection just accepted is about to
		 * send its first request. */
		if (served && !await_request(sock, listener)) {
			close(sigfd);
			return 0;
		}
		memset(&r, 0, sizeof(r));
		errno = 0;
		rc = recv_run(sock, buf, &r, quit);
		if (rc < 0) {
			/* Say why before hanging up, rather than leave the supervisor
			 * to guess. */
			struct ji_fail f = {.stage = JI_STAGE_SETUP, .err = errno ? errno : EBADMSG};
			snprintf(f.detail, sizeof(f.detail), "receive the run request");
			send_msg(sock, JI_FAIL, &f, sizeof(f));
		}
		if (rc != 0) {
			close(sigfd);
			return rc > 0 ? last : 126;
		}

		int clean = (r.hdr.flags & (JI_CLEAN_IPC | JI_SET_ID)) == (JI_CLEAN_IPC | JI_SET_ID);
		if (clean && !ipc_clean)
			(void)clean_ipc(&r);
		ipc_clean = 0;
		int pidfd, forked = 0;
		/* The set-up's wall clock starts here, as at READY. */
		r.start_ns = mono_ns();
		child = spawn(sock, &r, &pidfd, &forked);
		if (child < 0) {
			struct ji_fail f = {.stage = JI_STAGE_SETUP, .err = errno};
			snprintf(f.detail, sizeof(f.detail), "fork");
			send_msg(sock, JI_FAIL, &f, sizeof(f));
			/* A box's init serves on: keep nothing of this run. */
			close_received(&r);
			free(r.argv);
			free(r.envp);
			close(sigfd);
			return 126;
		}
		if ((r.hdr.flags & JI_JOIN) && forked) {
			/* Its set-up may block: its clock starts now. */
			struct ji_exec st = {.start_ns = r.start_ns};
			send_msg_fd(sock, JI_FORKED, &st, sizeof(st), pidfd);
		}
		if (pidfd >= 0)
			close(pidfd);
		close_received(&r);
		free(r.argv);
		free(r.envp);

		/*
		 * Reap until nothing is left. Once the program itself has exited,
		 * whatever it left behind is killed: nothing outlives a run.
		 */
		memset(&main_ru, 0, sizeof(main_ru));
		int gone = 0, all_gone = 0, leftovers = 0;
		for (;;) {
			pid = wait4(-1, &rc, WNOHANG, &ru);
			if (pid < 0) {
				if (errno == EINTR)
					continue;
				all_gone = errno == ECHILD;
				break;
			}
			if (pid == child) {
				status = rc;
				main_ru = ru;
				leftovers = 1;
			}
			if (pid > 0)
				continue;
			/*
			 * What the program left behind is the init's now (orphans
			 * come here, a subreaper among them). Only when wait4 finds
			 * some does kill(-1) walk the host's processes: most programs
			 * leave none, and the report waits for this.
			 */
			if (leftovers) {
				leftovers = 0;
				kill(-1, SIGKILL);
				continue;
			}
			/*
			 * Wait for a child to change state or the supervisor to go
			 * away. Without a supervisor no limit holds any more, so the
			 * run ends. Only the hang-up is polled: until it execs, the
			 * child reads the supervisor's messages on this socket.
			 */
			struct pollfd pfd[2] = {{.fd = sigfd, .events = POLLIN}, {.fd = sock, .events = POLLRDHUP}};
			if (poll(pfd, 2, -1) < 0 && errno != EINTR)
				break;
			if (pfd[0].revents & POLLIN) {
				struct signalfd_siginfo si;
				while (read(sigfd, &si, sizeof(si)) == sizeof(si))
					;
			}
			if (!gone && (pfd[1].revents & (POLLRDHUP | POLLHUP | POLLERR))) {
				gone = 1;
				kill(-1, SIGKILL);
			}
		}

		struct ji_exit ex = {
		    .status = status,
		    .utime_us = (uint64_t)main_ru.ru_utime.tv_sec * 1000000u + (uint64_t)main_ru.ru_utime.tv_usec,
		    .stime_us = (uint64_t)main_ru.ru_stime.tv_sec * 1000000u + (uint64_t)main_ru.ru_stime.tv_usec,
		    .maxrss_kb = (uint64_t)main_ru.ru_maxrss,
		    .nvcsw = (uint64_t)main_ru.ru_nvcsw,
		    .nivcsw = (uint64_t)main_ru.ru_nivcsw,
		    .mono_ns = mono_ns(),
		    .start_ns = r.start_ns,
		};
		send_msg(sock, JI_EXIT, &ex, sizeof(ex));
		/* Nothing of the run is left: clear its IPC now, while the
		 * supervisor does its accounting, rather than on the next run's
		 * request, which checks again unless this surely worked. The
		 * supervisor goes first: woken on this CPU, it would wait for
		 * the clearing, and so would the report. */
		if (clean) {
			sched_yield();
			ipc_clean = all_gone && clean_ipc(&r) == 0;
		}
		if (WIFEXITED(status))
			last = WEXITSTATUS(status);
		else if (WIFSIGNALED(status))
			last = 128 + WTERMSIG(status);
		if (!(r.hdr.flags & JI_PERSIST)) {
			close(sigfd);
			return last;
		}
	}
}

__attribute__((constructor)) static void judge_init(int argc, char **argv, char **envp)
{
	(void)envp;
	if (argc < 3 || strcmp(argv[1], "judge-init") != 0)
		return;

	/* "judge-init FD" serves one connection; "judge-init -l FD" accepts
	 * connection after connection on a listening socket: a box. */
	int listening = argc >= 4 && strcmp(argv[2], "-l") == 0;
	char *end;
	long sock = strtol(argv[listening ? 3 : 2], &end, 10);
	if (*end || sock < 3 || sock > 65535)
		_exit(126);
	/* kill(-1) below must only ever reach a sandbox's own processes. */
	if (getpid() != 1) {
		fprintf(stderr, "judge-init: must run as PID 1 of its own PID namespace\n");
		_exit(126);
	}

	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	read_bounding();
	/* Start the program with a clean signal state, whatever we inherited. */
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (int sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	fcntl((int)sock, F_SETFD, FD_CLOEXEC);

	/* Its lowest page is a guard: an overflow faults instead of writing
	 * into the init's memory. Only the pages used become resident. */
	char *stack = mmap(NULL, CHILD_STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (stack != MAP_FAILED && mprotect(stack, 4096, PROT_NONE) == 0)
		child_stack = stack;
	char *buf = malloc(JI_MAX_MSG);
	int quit = 0;
	if (!buf)
		_exit(126);
	if (!listening)
		_exit(serve((int)sock, -1, buf, &quit));
	for (;;) {
		int conn = accept4((int)sock, NULL, NULL, SOCK_CLOEXEC);
		if (conn < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			_exit(126);
		}
		serve(conn, (int)sock, buf, &quit);
		close(conn);
		if (quit)
			_exit(0);
	}
}
