/*
 * Wire format between the supervisor (outside the sandbox) and the judge
 * init (PID 1 inside it). Messages travel over a SOCK_SEQPACKET socket, one
 * record per message, in host byte order. protocol.go mirrors this file.
 */
#ifndef MINI_ISOLATE_JUDGEINIT_H
#define MINI_ISOLATE_JUDGEINIT_H

#include <stdint.h>

/* Supervisor -> init. */
#define JI_RUN 1  /* run one program: struct ji_run, then strings */
#define JI_GO 2   /* let the child exec; may carry cgroup files to join first */
#define JI_QUIT 3 /* no more runs: the init exits */

/* Init (or its child before exec) -> supervisor. */
#define JI_READY 16 /* child forked and waiting; carries SCM_CREDENTIALS */
#define JI_FORKED 20 /* with JI_JOIN: the init forked the child: struct ji_exec (start_ns), its pidfd */
#define JI_EXEC 17   /* child is about to execve: struct ji_exec */
#define JI_FAIL 18  /* child could not start the program: struct ji_fail */
#define JI_EXIT 19  /* the program and all it started are gone: struct ji_exit */

/* ji_run.flags */
#define JI_STDERR_TO_STDOUT 0x1 /* dup stdout onto stderr after redirection */
#define JI_PERSIST 0x2          /* keep serving runs after this one */
#define JI_NO_PATH_SEARCH 0x4   /* execve argv[0] as a path, as isolate does */
#define JI_SET_ID 0x8           /* become ji_run.uid/gid/groups before anything else */
#define JI_CLEAN_IPC 0x10       /* first remove what earlier runs left in IPC and /dev/shm */
/*
 * The last ji_run.njoin fds sent with JI_RUN are cgroup v1 tasks files:
 * the child joins them at once, and neither says JI_READY nor waits for
 * JI_GO; its JI_EXEC says when the init started it. Only a child started
 * by fork, whose set-up may block (on a FIFO), is announced by the init,
 * with JI_FORKED.
 */
#define JI_JOIN 0x20
/*
 * The last fd sent with JI_RUN is a socket of its own for the JI_EXEC of
 * a child in the init's memory, which the supervisor reads when it needs
 * to, not as it comes: a message it wakes for would take the CPU from the
 * child as it execs.
 */
#define JI_QUIET 0x40
/* Fds the supervisor may send with JI_RUN, in this order, as flagged. */
#define JI_FD_STDIN 0x100
#define JI_FD_STDOUT 0x200
#define JI_FD_STDERR 0x400

/*
 * Fds sent with JI_RUN beyond the flagged stdio ones become the program's
 * fds 3, 4, ... (ji_run.keep_fds of them), in order.
 */
#define JI_MAX_FDS 64

#define JI_MAX_MSG (256 * 1024)
#define JI_MAX_RLIMITS 16
#define JI_MAX_GROUPS 256
#define JI_MAX_JOIN 16 /* cgroup files sent with JI_GO or JI_RUN */

struct ji_hdr {
	uint32_t type;
	uint32_t len; /* bytes after the header */
};

struct ji_rlimit {
	uint32_t resource;
	uint32_t pad;
	uint64_t soft, hard;
};

/*
 * Followed by nrlimits struct ji_rlimit, ngroups uint32_t supplementary
 * gids, then NUL-terminated strings: stdin, stdout, stderr (empty:
 * inherit), cwd (empty: inherit), nargs arguments and nenv environment
 * entries.
 *
 * With JI_SET_ID the init runs as root with only the capabilities to change
 * identity and to kill, so that the program, under another uid, cannot
 * touch it; the child drops every capability not in bounding from its
 * bounding set, then becomes uid, gid and groups.
 */
struct ji_run {
	uint32_t flags;
	uint32_t keep_fds; /* fds 3 .. 3+keep_fds-1 pass to the program */
	uint32_t nrlimits;
	uint32_t nargs;
	uint32_t nenv;
	uint32_t ngroups;
	uint32_t uid, gid;
	uint64_t bounding; /* capability bits the program's bounding set keeps */
	uint32_t njoin;    /* with JI_JOIN: cgroup files at the end of the fds */
	uint32_t pad;
};

struct ji_exec {
	uint64_t mono_ns;  /* CLOCK_MONOTONIC just before execve (JI_EXEC) */
	uint64_t start_ns; /* with JI_JOIN: as the init started the child */
};

/* ji_fail.stage */
#define JI_STAGE_STDIN 1
#define JI_STAGE_STDOUT 2
#define JI_STAGE_STDERR 3
#define JI_STAGE_RLIMIT 4
#define JI_STAGE_CHDIR 5
#define JI_STAGE_EXEC 6
#define JI_STAGE_SETUP 7
#define JI_STAGE_IDENTITY 8

struct ji_fail {
	uint32_t stage;
	int32_t err; /* errno */
	char detail[256];
};

struct ji_exit {
	int32_t status; /* wait status of the program */
	uint32_t pad;
	uint64_t utime_us, stime_us; /* rusage of the program and its reaped children */
	uint64_t maxrss_kb;
	uint64_t nvcsw, nivcsw;
	uint64_t mono_ns; /* CLOCK_MONOTONIC once the last process was reaped */
	uint64_t start_ns; /* as the init started the child */
};

#endif
