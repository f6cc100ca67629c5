package profiles

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/opencontainers/runtime-spec/specs-go"

	"github.com/mini-isolate/mini-isolate/policy"
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
	Limits *policy.Limits
	// Dirs and Env are the caller's rules, applied after the profile's.
	Dirs []policy.DirRule
	Env  []policy.EnvRule
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
func baseDirRules() []policy.DirRule {
	tmp := policy.DirRule{In: "tmp", Out: "tmpfs", Flags: policy.DirFS | policy.DirRW}
	return policy.ApplyDirRules(policy.DefaultDirRules(), []policy.DirRule{tmp})
}

// WriteBundle writes dir/config.json for a stage of p, with the rootfs
// skeleton: an empty dir/root and dir/box, which the sandbox user owns
// when WriteBundle runs as root. It refuses to overwrite a config.json.
func WriteBundle(dir string, p *Profile, o BundleOptions) (_ *specs.Spec, retErr error) {
	st, err := resolveStage(p, &o)
	if err != nil {
		return nil, err
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
	if made, err = makeSkeleton(abs, st.uid, st.gid); err != nil {
		return nil, err
	}
	spec, err := bundleSpec(abs, p, st, &o)
	if err != nil {
		return nil, err
	}
	if err := writeConfig(config, spec); err != nil {
		return nil, err
	}
	return spec, nil
}

// stageSettings are a stage's settings with the caller's options applied.
type stageSettings struct {
	stage    *Stage
	limits   policy.Limits
	args     []string
	uid, gid int64
}

// resolveStage applies the caller's options to the stage and checks them.
func resolveStage(p *Profile, o *BundleOptions) (*stageSettings, error) {
	if o.Stage == "" {
		o.Stage = StageRun
	}
	stage := p.Stage(o.Stage)
	if stage == nil {
		return nil, fmt.Errorf("profile %s has no %s stage (it has: %s)", p.Name, o.Stage, strings.Join(p.StageNames(), ", "))
	}
	st := &stageSettings{stage: stage, limits: stage.Limits, args: stage.Command, uid: p.User.UID, gid: p.User.GID}
	if o.Limits != nil {
		st.limits = *o.Limits
	}
	if err := st.limits.Validate("limits"); err != nil {
		return nil, err
	}
	if len(o.Args) > 0 {
		st.args = o.Args
	}
	if o.UID != 0 {
		st.uid = o.UID
	}
	if o.GID != 0 {
		st.gid = o.GID
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
	return st, nil
}

// makeSkeleton makes the bundle's directories and returns those it made.
func makeSkeleton(abs string, uid, gid int64) ([]string, error) {
	var made []string
	box := filepath.Join(abs, BoxDir)
	for _, d := range []string{abs, filepath.Join(abs, RootDir), box} {
		made = append(made, missingDirs(d)...)
		if err := os.MkdirAll(d, 0o755); err != nil {
			return made, fmt.Errorf("bundle: %w", err)
		}
	}
	if os.Geteuid() == 0 {
		// The program writes its output files into /box as its own user.
		if err := os.Chown(box, int(uid), int(gid)); err != nil {
			return made, fmt.Errorf("bundle: %w", err)
		}
	}
	return made, nil
}

// bundleSpec is the judged spec of the stage: the profile's directory
// and environment rules, then the stage's, then the caller's.
func bundleSpec(abs string, p *Profile, st *stageSettings, o *BundleOptions) (*specs.Spec, error) {
	rules := baseDirRules()
	if p.NoDefaultDirs {
		rules = nil
	}
	for _, d := range slices.Concat(p.Dirs, st.stage.Dirs) {
		r, err := policy.ParseDirRule(d)
		if err != nil {
			return nil, err
		}
		rules = policy.ApplyDirRules(rules, []policy.DirRule{r})
	}
	rules = policy.ApplyDirRules(rules, o.Dirs)
	mounts, err := policy.DirMounts(rules, abs, int(st.uid), int(st.gid))
	if err != nil {
		return nil, err
	}
	for i := range mounts {
		// Relative to the bundle, so that the bundle can be moved.
		if rel, ok := strings.CutPrefix(mounts[i].Source, abs+"/"); ok {
			mounts[i].Source = rel
		}
	}
	var envRules []policy.EnvRule
	for _, e := range slices.Concat(p.Env, st.stage.Env) {
		r, err := policy.ParseEnvRule(e)
		if err != nil {
			return nil, err
		}
		envRules = append(envRules, r)
	}
	envRules = append(envRules, o.Env...)
	return policy.Spec(policy.SpecOptions{
		Root:     RootDir,
		Hostname: "sandbox",
		Args:     st.args,
		Env:      policy.Environment(false, envRules, os.Environ()),
		Cwd:      "/box",
		User:     specs.User{UID: uint32(st.uid), GID: uint32(st.gid)},
		Mounts:   mounts,
		Limits:   st.limits,
		Seccomp:  policy.SeccompOptions{Allow: p.Seccomp.Allow, BlockLocks: p.Seccomp.BlockLocks},
		Judge: &policy.Judge{
			Limits: st.limits,
			IO:     policy.IO{Stdin: o.Stdin, Stdout: o.Stdout, Stderr: o.Stderr, StderrToStdout: o.StderrToStdout},
			Meta:   o.Meta,
		},
	})
}

// writeConfig writes config.json, which must not exist yet.
func writeConfig(config string, spec *specs.Spec) error {
	data, err := json.MarshalIndent(spec, "", "\t")
	if err != nil {
		return err
	}
	f, err := os.OpenFile(config, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("bundle: %w", err)
	}
	if _, err := f.Write(append(data, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("bundle: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("bundle: %w", err)
	}
	return nil
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
