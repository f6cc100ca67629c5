#include <string.h>
#include <unistd.h>
#include <sys/auxv.h>

/*
 * A set-user-ID or set-group-ID execution may only be the isolate front
 * end. Run before runc's nsenter constructor (default priority), which
 * acts on _LIBCONTAINER_* variables before any Go code, it refuses the
 * roles the binary takes when it runs itself again: a container's init,
 * a hook, the judge init. A user who may run a setuid binary chooses its
 * arguments and environment; its own re-executions run with the real ids
 * root too (runtime.Create), so the kernel does not mark them secure.
 */
__attribute__((constructor(101))) static void refuse_setid_roles(int argc, char **argv, char **envp)
{
	if (!getauxval(AT_SECURE))
		return;
	int role = argc > 1 && argv && argv[1] &&
		   (!strcmp(argv[1], "init") || !strcmp(argv[1], "run-hook") || !strcmp(argv[1], "judge-init"));
	for (char **e = envp; !role && e && *e; e++)
		if (!strncmp(*e, "_LIBCONTAINER_", 14))
			role = 1;
	if (role) {
		static const char msg[] =
			"mini-isolate: refusing to run as a container's init or a hook from a set-user-ID or set-group-ID execution\n";
		(void)!write(2, msg, sizeof(msg) - 1);
		_exit(1);
	}
}
