package runtime

import (
	"fmt"
	"runtime/debug"

	"github.com/opencontainers/runc/libcontainer/capabilities"
	"github.com/opencontainers/runc/libcontainer/configs"
	"github.com/opencontainers/runc/libcontainer/seccomp"
	lcspecconv "github.com/opencontainers/runc/libcontainer/specconv"
	runcfeatures "github.com/opencontainers/runc/types/features"
	"github.com/opencontainers/runtime-spec/specs-go"
	"github.com/opencontainers/runtime-spec/specs-go/features"
)

// AnnotationVersion reports mini-isolate's version in `features`.
const AnnotationVersion = "io.github.mini-isolate.version"

// Features describes what this build supports, in the runtime-spec
// features format that Docker and containerd read.
func Features(version, commit string) *features.Features {
	yes, no := true, false
	f := &features.Features{
		OCIVersionMin: "1.0.0",
		OCIVersionMax: specs.Version,
		Hooks:         configs.KnownHookNames(),
		MountOptions:  lcspecconv.KnownMountOptions(),
		Annotations: map[string]string{
			AnnotationVersion: version,
			// Callers that key on runc's annotations get the libcontainer
			// release we are built on; checkpointing is not offered.
			runcfeatures.AnnotationRuncVersion:           libcontainerVersion(),
			runcfeatures.AnnotationRuncCommit:            commit,
			runcfeatures.AnnotationRuncCheckpointEnabled: "false",
		},
		Linux: &features.Linux{
			Namespaces:   lcspecconv.KnownNamespaces(),
			Capabilities: capabilities.KnownCapabilities(),
			Cgroup: &features.Cgroup{
				V1:          &yes,
				V2:          &yes,
				Systemd:     &yes,
				SystemdUser: &yes,
				Rdma:        &yes,
			},
			Seccomp:  &features.Seccomp{Enabled: &no},
			Apparmor: &features.Apparmor{Enabled: &yes},
			Selinux:  &features.Selinux{Enabled: &yes},
			IntelRdt: &features.IntelRdt{Enabled: &yes, Schemata: &yes, Monitoring: &yes},
			MemoryPolicy: &features.MemoryPolicy{
				Modes: lcspecconv.KnownMemoryPolicyModes(),
				Flags: lcspecconv.KnownMemoryPolicyFlags(),
			},
			MountExtensions: &features.MountExtensions{IDMap: &features.IDMap{Enabled: &yes}},
			NetDevices:      &features.NetDevices{Enabled: &yes},
		},
		PotentiallyUnsafeConfigAnnotations: []string{"bundle", "org.systemd.property."},
	}
	if seccomp.Enabled {
		f.Linux.Seccomp = &features.Seccomp{
			Enabled:        &yes,
			Actions:        seccomp.KnownActions(),
			Operators:      seccomp.KnownOperators(),
			Archs:          seccomp.KnownArchs(),
			KnownFlags:     seccomp.KnownFlags(),
			SupportedFlags: seccomp.SupportedFlags(),
		}
		f.Annotations[runcfeatures.AnnotationLibseccompVersion] = SeccompVersion()
	}
	return f
}

// SeccompVersion is the libseccomp version linked in, or "" without seccomp.
func SeccompVersion() string {
	major, minor, micro := seccomp.Version()
	if major+minor+micro == 0 {
		return ""
	}
	return fmt.Sprintf("%d.%d.%d", major, minor, micro)
}

func libcontainerVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, m := range bi.Deps {
			if m.Path == "github.com/opencontainers/runc" {
				return m.Version
			}
		}
	}
	return "unknown"
}
