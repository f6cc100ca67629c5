// Package reexec holds the entry points of a mini-isolate binary run again
// by itself: as libcontainer's container init, and as a host hook. Both
// binaries (the command line and the manager) call Main from an init
// function, before anything else runs.
package reexec

// The C guard in guard.c runs before nsenter's constructor.

// #cgo CFLAGS: -Wall
import "C"

import (
	"fmt"
	"os"

	// Lets the cgroup managers apply device rules.
	_ "github.com/opencontainers/cgroups/devices"
	"github.com/opencontainers/runc/libcontainer"
	// nsenter runs its C constructor before the Go runtime starts, which is
	// how libcontainer joins namespaces in the re-executed "init" process.
	_ "github.com/opencontainers/runc/libcontainer/nsenter"

	"github.com/mini-isolate/mini-isolate/runtime"
)

// Main becomes what the binary's arguments ask for, if they ask for a
// re-executed role, and returns otherwise.
func Main() {
	if len(os.Args) < 2 || (os.Args[1] != "init" && os.Args[1] != runtime.HookArg) {
		return
	}
	// guard.c refuses these first; this is in case the kernel did not
	// mark a set-ID execution secure.
	if os.Getuid() != os.Geteuid() || os.Getgid() != os.Getegid() {
		fmt.Fprintln(os.Stderr, "mini-isolate: refusing to run as a container's init or a hook set-user-ID or set-group-ID")
		os.Exit(1)
	}
	if os.Args[1] == "init" {
		// Never returns: the container's init execs the user process.
		libcontainer.Init()
	}
	// A prestart or createRuntime hook, run for libcontainer.
	os.Exit(runtime.HookMain(os.Args[2:]))
}
