/* Kernel keyrings, which are per user, not per namespace: "put TOKEN MS"
 * stores a key in the user and session keyrings and waits MS milliseconds,
 * "get" looks for it. */
#include "atk.h"

#define KEY_SPEC_SESSION_KEYRING -3
#define KEY_SPEC_USER_KEYRING -4
#define KEYCTL_SEARCH 10
#define KEYCTL_READ 11

int main(int argc, char **argv)
{
	if (argc > 2 && strcmp(argv[1], "put") == 0) {
		try("add_key(user, @u)", syscall(SYS_add_key, "user", "atk-key", argv[2], strlen(argv[2]), KEY_SPEC_USER_KEYRING));
		try("add_key(user, @s)", syscall(SYS_add_key, "user", "atk-key", argv[2], strlen(argv[2]), KEY_SPEC_SESSION_KEYRING));
		out("PUT\n");
		if (argc > 3)
			hold(argv[3]);
	} else {
		long rings[] = {KEY_SPEC_USER_KEYRING, KEY_SPEC_SESSION_KEYRING};
		for (int i = 0; i < 2; i++) {
			long k = syscall(SYS_keyctl, KEYCTL_SEARCH, rings[i], "user", "atk-key", 0);
			tryf(k, "keyctl search %s", i ? "@s" : "@u");
			if (k >= 0) {
				char buf[256] = {0};
				long n = syscall(SYS_keyctl, KEYCTL_READ, k, buf, sizeof(buf) - 1);
				if (n > 0)
					out("READ key: %s\n", buf);
			}
		}
		try("request_key(user, atk-key)", syscall(SYS_request_key, "user", "atk-key", NULL, KEY_SPEC_USER_KEYRING));
	}
	done();
	return 0;
}
