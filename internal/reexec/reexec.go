// Package reexec holds the entry points of a mini-isolate binary run again
// by itself: as libcontainer's container init, and as a host hook. Both
// binaries (the command line and the manager) call Main from an init
// function, before anything else runs.
package reexec

import (
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
	if len(os.Args) < 2 {
		return
	}
	switch os.Args[1] {
	case "init":
		// Never returns: the container's init execs the user process.
		libcontainer.Init()
	case runtime.HookArg:
		// A prestart or createRuntime hook, run for libcontainer.
		os.Exit(runtime.HookMain(os.Args[2:]))
	}
}
