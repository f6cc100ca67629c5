package policy

import (
	"fmt"

	"github.com/opencontainers/runtime-spec/specs-go"

	"github.com/mini-isolate/mini-isolate/specconv"
)

// SpecOptions describe a judged sandbox, for Spec.
type SpecOptions struct {
	// Root is the root filesystem, mounted read-only; Hostname names the
	// sandbox.
	Root, Hostname string
	// Args, Env, Cwd and User are the process's.
	Args []string
	Env  []string
	Cwd  string
	User specs.User
	// Mounts are the directory rules' mounts (DirMounts).
	Mounts []specs.Mount
	// Limits: Memory and Processes become the OCI resources, the rest
	// the process's rlimits (unless InitCapabilities is set).
	Limits  Limits
	Seccomp SeccompOptions
	// ShareNet keeps the host's network namespace.
	ShareNet bool
	// CPUs and Mems pin the sandbox (a cpuset); CgroupsPath names its
	// cgroup.
	CPUs, Mems, CgroupsPath string
	// Judge, when set, is written as the spec's annotations.
	Judge *Judge
	// InitCapabilities, when set, makes the process a box's judge init: it
	// runs as root with only these capabilities and starts each run as
	// the box's user with that run's own limits and rlimits.
	InitCapabilities []string
}

// Spec is the config.json of a judged sandbox, as boxes and language
// profiles make them: a read-only root, private namespaces (the network's
// too unless shared), no capabilities and no_new_privs for the program,
// the judge's seccomp policy and rlimits, and the host paths the OCI
// example masks.
func Spec(o SpecOptions) (*specs.Spec, error) {
	seccomp, err := JudgeSeccomp(o.Seccomp)
	if err != nil {
		return nil, err
	}
	if err := o.Limits.Validate("limits"); err != nil {
		return nil, err
	}
	base := specconv.Example()
	ns := []specs.LinuxNamespace{
		{Type: specs.PIDNamespace}, {Type: specs.MountNamespace}, {Type: specs.IPCNamespace},
		{Type: specs.UTSNamespace}, {Type: specs.CgroupNamespace},
	}
	if !o.ShareNet {
		ns = append(ns, specs.LinuxNamespace{Type: specs.NetworkNamespace})
	}
	process := &specs.Process{
		Args:            o.Args,
		Env:             o.Env,
		Cwd:             o.Cwd,
		User:            o.User,
		NoNewPrivileges: true,
		Capabilities:    &specs.LinuxCapabilities{},
	}
	if o.InitCapabilities != nil {
		// The init: root, with what it needs to start each run as the
		// box's user, so that the program cannot renice, limit or signal
		// it. Each run sets its own rlimits.
		process.User = specs.User{}
		process.Capabilities = &specs.LinuxCapabilities{
			Bounding: o.InitCapabilities, Effective: o.InitCapabilities, Permitted: o.InitCapabilities,
		}
	} else {
		for _, rl := range o.Limits.Rlimits() {
			name, ok := rlimitNames[rl.Resource]
			if !ok {
				return nil, fmt.Errorf("rlimit %d has no name", rl.Resource)
			}
			process.Rlimits = append(process.Rlimits, specs.POSIXRlimit{Type: name, Soft: rl.Soft, Hard: rl.Hard})
		}
	}
	spec := &specs.Spec{
		Version:  specs.Version,
		Hostname: o.Hostname,
		Root:     &specs.Root{Path: o.Root, Readonly: true},
		Process:  process,
		Mounts:   o.Mounts,
		Linux: &specs.Linux{
			Namespaces:    ns,
			CgroupsPath:   o.CgroupsPath,
			Resources:     resources(o),
			Seccomp:       seccomp,
			MaskedPaths:   base.Linux.MaskedPaths,
			ReadonlyPaths: base.Linux.ReadonlyPaths,
		},
	}
	if o.Judge != nil {
		spec.Annotations = o.Judge.Annotations()
	}
	if err := ValidateJudge(spec); err != nil {
		return nil, err
	}
	return spec, nil
}

// resources deny every device (the mounts give the few a program needs),
// and carry the memory, pids and cpuset limits.
func resources(o SpecOptions) *specs.LinuxResources {
	r := &specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}}}
	if o.Limits.Memory > 0 {
		m := int64(o.Limits.Memory)
		r.Memory = &specs.LinuxMemory{Limit: &m}
	}
	if o.Limits.Processes > 0 {
		p := o.Limits.Processes
		r.Pids = &specs.LinuxPids{Limit: &p}
	}
	if o.CPUs != "" {
		r.CPU = &specs.LinuxCPU{Cpus: o.CPUs, Mems: o.Mems}
	}
	return r
}

// rlimitNames are the OCI names of the rlimits Limits.Rlimits gives.
var rlimitNames = func() map[int]string {
	m := map[int]string{}
	for _, name := range []string{"RLIMIT_CORE", "RLIMIT_MEMLOCK", "RLIMIT_AS", "RLIMIT_STACK", "RLIMIT_FSIZE", "RLIMIT_NOFILE"} {
		if n, ok := specconv.RlimitNumber(name); ok {
			m[n] = name
		}
	}
	return m
}()
