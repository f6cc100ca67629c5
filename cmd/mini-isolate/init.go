package main

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

func init() {
	if len(os.Args) > 1 && os.Args[1] == "init" {
		// Never returns: the container's init execs the user process.
		libcontainer.Init()
	}
	if len(os.Args) > 1 && os.Args[1] == runtime.HookArg {
		// A prestart or createRuntime hook, run for libcontainer.
		os.Exit(runtime.HookMain(os.Args[2:]))
	}
}
