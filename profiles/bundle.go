package profiles

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/opencontainers/runtime-spec/specs-go"

	"github.com/mini-isolate/mini-isolate/specconv"
)

// Where a bundle keeps its rootfs (empty, read-only) and the box that is
// bound read-write at /box.
const (
	RootDir = "root"
	BoxDir  = "box"
)

// BundleOptions shape the bundle made from one stage of a profile.
type BundleOptions struct {
	// Stage is StageCompile or StageRun ("" means run).
	Stage string
	// Args replace the stage's command when set.
	Args []string
	// Limits replace the stage's limits when set.
	Limits *Limits
	// Dirs and Env are the caller's rules, applied after the profile's.
	Dirs []specconv.DirRule
	Env  []specconv.EnvRule
	// Stdin, Stdout and Stderr are paths in the sandbox, relative to /box.
	Stdin, Stdout, Stderr string
	StderrToStdout        bool
	// Meta is the host path of the report ("-" for stdout).
	Meta string
	// UID and GID replace the profile's user when not zero.
	UID, GID int64
}

// baseDirRules are isolate's default rules with a tmpfs on /tmp: a fresh
// /tmp per container, so nothing one run leaves there reaches the next.
func baseDirRules() []specconv.DirRule {
	tmp := specconv.DirRule{In: "tmp", Out: "tmpfs", Flags: specconv.DirFS | specconv.DirRW}
	return specconv.ApplyDirRules(specconv.DefaultDirRules(), []specconv.DirRule{tmp})
}

// WriteBundle writes dir/config.json for a stage of p, with the rootfs
// skeleton: an empty dir/root and dir/box, which the sandbox user owns
// when WriteBundle runs as root. It refuses to overwrite a config.json.
func WriteBundle(dir string, p *Profile, o BundleOptions) (_ *specs.Spec, retErr error) {
	if o.Stage == "" {
		o.Stage = StageRun
	}
	stage := p.Stage(o.Stage)
	if stage == nil {
		return nil, fmt.Errorf("profile %s has no %s stage (it has: %s)", p.Name, o.Stage, strings.Join(p.StageNames(), ", "))
	}
	limits := stage.Limits
	if o.Limits != nil {
		limits = *o.Limits
	}
	if err := limits.Validate("limits"); err != nil {
		return nil, err
	}
	args := stage.Command
	if len(o.Args) > 0 {
		args = o.Args
	}
	uid, gid := p.User.UID, p.User.GID
	if o.UID != 0 {
		uid = o.UID
	}
	if o.GID != 0 {
		gid = o.GID
	}
	for _, p := range []*string{&o.Stdin, &o.Stdout, &o.Stderr} {
		if strings.IndexByte(*p, 0) >= 0 {
			return nil, fmt.Errorf("redirection %q: contains a NUL byte", *p)
		}
	}
	if o.StderrToStdout && o.Stderr != "" {
		return nil, errors.New("stderr-to-stdout conflicts with a stderr file")
	}
	if o.Meta != "" && o.Meta != "-" {
		abs, err := filepath.Abs(o.Meta)
		if err != nil {
			return nil, fmt.Errorf("meta: %w", err)
		}
		o.Meta = abs
	}

	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("bundle: %w", err)
	}
	config := filepath.Join(abs, specconv.ConfigName)
	if _, err := os.Lstat(config); err == nil {
		return nil, fmt.Errorf("%s already exists; remove it first", config)
	}
	// A failed call leaves the directory as it found it.
	var made []string
	defer func() {
		if retErr != nil {
			for _, d := range slices.Backward(made) {
				_ = os.Remove(d)
			}
		}
	}()
	box := filepath.Join(abs, BoxDir)
	for _, d := range []string{abs, filepath.Join(abs, RootDir), box} {
		made = append(made, missingDirs(d)...)
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("bundle: %w", err)
		}
	}
	if os.Geteuid() == 0 {
		// The program writes its output files into /box as its own user.
		if err := os.Chown(box, int(uid), int(gid)); err != nil {
			return nil, fmt.Errorf("bundle: %w", err)
		}
	}

	rules := baseDirRules()
	if p.NoDefaultDirs {
		rules = nil
	}
	for _, list := range [][]string{p.Dirs, stage.Dirs} {
		for _, d := range list {
			r, err := specconv.ParseDirRule(d)
			if err != nil {
				return nil, err
			}
			rules = specconv.ApplyDirRules(rules, []specconv.DirRule{r})
		}
	}
	rules = specconv.ApplyDirRules(rules, o.Dirs)
	mounts, err := specconv.DirMounts(rules, abs, int(uid), int(gid))
	if err != nil {
		return nil, err
	}
	for i := range mounts {
		// Relative to the bundle, so that the bundle can be moved.
		if rel, ok := strings.CutPrefix(mounts[i].Source, abs+"/"); ok {
			mounts[i].Source = rel
		}
	}

	var envRules []specconv.EnvRule
	for _, list := range [][]string{p.Env, stage.Env} {
		for _, e := range list {
			r, err := specconv.ParseEnvRule(e)
			if err != nil {
				return nil, err
			}
			envRules = append(envRules, r)
		}
	}
	envRules = append(envRules, o.Env...)

	seccomp, err := specconv.JudgeSeccomp(specconv.SeccompOptions{Allow: p.Seccomp.Allow, BlockLocks: p.Seccomp.BlockLocks})
	if err != nil {
		return nil, err
	}
	judge := specconv.Judge{
		Time:           time.Duration(limits.Time),
		ExtraTime:      time.Duration(limits.ExtraTime),
		WallTime:       time.Duration(limits.WallTime),
		OutputLimit:    int64(limits.Output),
		Meta:           o.Meta,
		Stdin:          o.Stdin,
		Stdout:         o.Stdout,
		Stderr:         o.Stderr,
		StderrToStdout: o.StderrToStdout,
	}
	resources := &specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}}}
	if limits.Memory > 0 {
		m := int64(limits.Memory)
		resources.Memory = &specs.LinuxMemory{Limit: &m}
	}
	if limits.Processes > 0 {
		resources.Pids = &specs.LinuxPids{Limit: &limits.Processes}
	}
	base := specconv.Example()
	spec := &specs.Spec{
		Version:  specs.Version,
		Hostname: "sandbox",
		Root:     &specs.Root{Path: RootDir, Readonly: true},
		Process: &specs.Process{
			Args:            args,
			Env:             specconv.Environment(false, envRules, os.Environ()),
			Cwd:             "/box",
			User:            specs.User{UID: uint32(uid), GID: uint32(gid)},
			Rlimits:         rlimits(&limits),
			NoNewPrivileges: true,
			Capabilities:    &specs.LinuxCapabilities{},
		},
		Mounts:      mounts,
		Annotations: judge.Annotations(),
		Linux: &specs.Linux{
			Namespaces: []specs.LinuxNamespace{
				{Type: specs.PIDNamespace}, {Type: specs.MountNamespace}, {Type: specs.IPCNamespace},
				{Type: specs.UTSNamespace}, {Type: specs.CgroupNamespace}, {Type: specs.NetworkNamespace},
			},
			Resources:     resources,
			Seccomp:       seccomp,
			MaskedPaths:   base.Linux.MaskedPaths,
			ReadonlyPaths: base.Linux.ReadonlyPaths,
		},
	}
	if err := specconv.ValidateJudge(spec); err != nil {
		return nil, err
	}
	data, err := json.MarshalIndent(spec, "", "\t")
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(config, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, fmt.Errorf("bundle: %w", err)
	}
	if _, err := f.Write(append(data, '\n')); err != nil {
		f.Close()
		return nil, fmt.Errorf("bundle: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("bundle: %w", err)
	}
	return spec, nil
}

// missingDirs returns dir and those of its parents that do not exist yet,
// outermost first: what os.MkdirAll(dir) is about to make.
func missingDirs(dir string) []string {
	var missing []string
	for d := dir; d != filepath.Dir(d); d = filepath.Dir(d) {
		if _, err := os.Lstat(d); err == nil {
			break
		}
		missing = append(missing, d)
	}
	slices.Reverse(missing)
	return missing
}

// rlimits are the stage's limits that are rlimits, plus no core files and
// no locked memory, as isolate sets them.
func rlimits(l *Limits) []specs.POSIXRlimit {
	list := []specs.POSIXRlimit{{Type: "RLIMIT_CORE"}, {Type: "RLIMIT_MEMLOCK"}}
	add := func(typ string, v int64) {
		if v > 0 {
			list = append(list, specs.POSIXRlimit{Type: typ, Soft: uint64(v), Hard: uint64(v)})
		}
	}
	add("RLIMIT_AS", int64(l.AddressSpace))
	add("RLIMIT_STACK", int64(l.Stack))
	add("RLIMIT_FSIZE", int64(l.FileSize))
	add("RLIMIT_NOFILE", l.OpenFiles)
	return list
}
