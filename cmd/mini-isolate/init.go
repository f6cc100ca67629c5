package main

import (
	"os"

	// Lets the cgroup managers apply device rules.
	_ "github.com/opencontainers/cgroups/devices"

	"github.com/opencontainers/runc/libcontainer"
	// nsenter runs its C constructor before the Go runtime starts, which is
	// how libcontainer joins namespaces in the re-executed "init" process.
	_ "github.com/opencontainers/runc/libcontainer/nsenter"
)

func init() {
	if len(os.Args) > 1 && os.Args[1] == "init" {
		// Never returns: the container's init execs the user process.
		libcontainer.Init()
	}
}
