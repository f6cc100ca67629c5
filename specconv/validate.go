package specconv

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sync"

	"github.com/opencontainers/runc/libcontainer/seccomp"
	lcspecconv "github.com/opencontainers/runc/libcontainer/specconv"
	"github.com/opencontainers/runtime-spec/specs-go"
)

// FieldError is a validation failure of one field of config.json. Its text is
// the one line a user sees: the JSON path of the field and what is wrong.
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string {
	return "config.json: " + e.Field + ": " + e.Msg
}

func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// semver is the grammar the spec gives for ociVersion (SemVer 2.0.0),
// compiled on first use: every command pays for package init, few validate.
var semver = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$`)
})

// Validate checks the parts of a spec that must be right before anything is
// created, so that a bad config.json fails with a line naming the field and
// leaves nothing behind. bundle is the bundle's absolute path; relative paths
// in the spec are resolved against it.
func Validate(spec *specs.Spec, bundle string) error {
	if err := validateVersion(spec.Version); err != nil {
		return err
	}
	if err := validateRoot(spec.Root, bundle); err != nil {
		return err
	}
	if spec.Process == nil {
		return fieldErr("process", "missing: a container needs a process to run")
	}
	if err := ValidateProcess(spec.Process, "process"); err != nil {
		return err
	}
	for i, m := range spec.Mounts {
		field := fmt.Sprintf("mounts[%d]", i)
		if m.Destination == "" {
			return fieldErr(field+".destination", "missing")
		}
	}
	if err := validateHooks(spec.Hooks); err != nil {
		return err
	}
	if spec.Linux != nil {
		if err := validateLinux(spec.Linux); err != nil {
			return err
		}
	}
	return nil
}

func validateVersion(v string) error {
	if v == "" {
		return fieldErr("ociVersion", "missing")
	}
	m := semver().FindStringSubmatch(v)
	if m == nil {
		return fieldErr("ociVersion", "%q is not a semantic version (want 1.x.y)", v)
	}
	if m[1] != "1" {
		return fieldErr("ociVersion", "version %q is not supported (this runtime implements %s)", v, specs.Version)
	}
	return nil
}

func validateRoot(root *specs.Root, bundle string) error {
	if root == nil {
		return fieldErr("root", "missing")
	}
	if root.Path == "" {
		return fieldErr("root.path", "missing")
	}
	path := root.Path
	if !filepath.IsAbs(path) {
		path = filepath.Join(bundle, path)
	}
	fi, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fieldErr("root.path", "rootfs %s does not exist", path)
		}
		return fieldErr("root.path", "%v", err)
	}
	if !fi.IsDir() {
		return fieldErr("root.path", "rootfs %s is not a directory", path)
	}
	return nil
}

// ValidateProcess checks a process object, from config.json or from
// `exec --process`. field is the JSON path used in errors.
func ValidateProcess(p *specs.Process, field string) error {
	if len(p.Args) == 0 || p.Args[0] == "" {
		return fieldErr(field+".args", "missing: there is no program to run")
	}
	if p.Cwd == "" {
		return fieldErr(field+".cwd", "missing")
	}
	if !filepath.IsAbs(p.Cwd) {
		return fieldErr(field+".cwd", "%q is not an absolute path", p.Cwd)
	}
	if p.OOMScoreAdj != nil && (*p.OOMScoreAdj < -1000 || *p.OOMScoreAdj > 1000) {
		return fieldErr(field+".oomScoreAdj", "%d is out of range [-1000, 1000]", *p.OOMScoreAdj)
	}
	// An unknown capability is not an error: runtime-spec 1.2 says one
	// that cannot be granted SHOULD NOT fail the container, and
	// libcontainer warns and leaves it out, as runc does.
	seen := map[string]bool{}
	for i, rl := range p.Rlimits {
		f := fmt.Sprintf("%s.rlimits[%d]", field, i)
		if _, ok := RlimitNumber(rl.Type); !ok {
			return fieldErr(f+".type", "unknown rlimit %q", rl.Type)
		}
		if seen[rl.Type] {
			return fieldErr(f+".type", "%s is set twice", rl.Type)
		}
		seen[rl.Type] = true
		if rl.Soft > rl.Hard {
			return fieldErr(f, "soft limit %d is above hard limit %d", rl.Soft, rl.Hard)
		}
	}
	return nil
}

func validateHooks(h *specs.Hooks) error {
	if h == nil {
		return nil
	}
	lists := []struct {
		name  string
		hooks []specs.Hook
	}{
		//lint:ignore SA1019 runtimes must still run prestart hooks.
		{"prestart", h.Prestart}, {"createRuntime", h.CreateRuntime}, {"createContainer", h.CreateContainer},
		{"startContainer", h.StartContainer}, {"poststart", h.Poststart}, {"poststop", h.Poststop},
	}
	for _, l := range lists {
		for i, hook := range l.hooks {
			f := fmt.Sprintf("hooks.%s[%d]", l.name, i)
			if !filepath.IsAbs(hook.Path) {
				return fieldErr(f+".path", "%q is not an absolute path", hook.Path)
			}
			if hook.Timeout != nil && *hook.Timeout <= 0 {
				return fieldErr(f+".timeout", "%d: must be a positive number of seconds", *hook.Timeout)
			}
		}
	}
	return nil
}

func validateLinux(l *specs.Linux) error {
	known := lcspecconv.KnownNamespaces()
	seen := map[specs.LinuxNamespaceType]bool{}
	for i, ns := range l.Namespaces {
		f := fmt.Sprintf("linux.namespaces[%d]", i)
		if !slices.Contains(known, string(ns.Type)) {
			return fieldErr(f+".type", "unknown namespace type %q", ns.Type)
		}
		if seen[ns.Type] {
			return fieldErr(f+".type", "namespace %q is listed twice", ns.Type)
		}
		seen[ns.Type] = true
		if ns.Path != "" {
			if !filepath.IsAbs(ns.Path) {
				return fieldErr(f+".path", "%q is not an absolute path", ns.Path)
			}
			if _, err := os.Stat(ns.Path); err != nil {
				return fieldErr(f+".path", "%v", err)
			}
		}
	}
	if p := l.RootfsPropagation; p != "" {
		valid := []string{"private", "rprivate", "slave", "rslave", "shared", "rshared", "unbindable", "runbindable"}
		if !slices.Contains(valid, p) {
			return fieldErr("linux.rootfsPropagation", "unknown propagation %q", p)
		}
	}
	for i, p := range l.MaskedPaths {
		if !filepath.IsAbs(p) {
			return fieldErr(fmt.Sprintf("linux.maskedPaths[%d]", i), "%q is not an absolute path", p)
		}
	}
	for i, p := range l.ReadonlyPaths {
		if !filepath.IsAbs(p) {
			return fieldErr(fmt.Sprintf("linux.readonlyPaths[%d]", i), "%q is not an absolute path", p)
		}
	}
	for i, d := range l.Devices {
		f := fmt.Sprintf("linux.devices[%d]", i)
		if !filepath.IsAbs(d.Path) {
			return fieldErr(f+".path", "%q is not an absolute path", d.Path)
		}
		if !slices.Contains([]string{"c", "b", "u", "p"}, d.Type) {
			return fieldErr(f+".type", "unknown device type %q (want c, b, u or p)", d.Type)
		}
	}
	if r := l.Resources; r != nil {
		if err := ValidateResources(r, "linux.resources"); err != nil {
			return err
		}
	}
	if s := l.Seccomp; s != nil {
		if err := validateSeccomp(s); err != nil {
			return err
		}
	}
	return nil
}

// ValidateResources rejects resource values no kernel accepts. field is the
// JSON path used in errors.
func ValidateResources(r *specs.LinuxResources, field string) error {
	if m := r.Memory; m != nil {
		for _, v := range []struct {
			name string
			val  *int64
		}{{"limit", m.Limit}, {"reservation", m.Reservation}, {"swap", m.Swap}} {
			if v.val != nil && *v.val < -1 {
				return fieldErr(field+".memory."+v.name, "%d: must be -1 (unlimited) or a byte count", *v.val)
			}
		}
		if m.Swappiness != nil && *m.Swappiness > 100 {
			return fieldErr(field+".memory.swappiness", "%d is out of range [0, 100]", *m.Swappiness)
		}
	}
	if p := r.Pids; p != nil && p.Limit != nil && *p.Limit < -1 {
		return fieldErr(field+".pids.limit", "%d: must be -1 (unlimited) or a positive count", *p.Limit)
	}
	if c := r.CPU; c != nil && c.Quota != nil && *c.Quota < -1 {
		return fieldErr(field+".cpu.quota", "%d: must be -1 (unlimited) or a positive number of microseconds", *c.Quota)
	}
	return nil
}

func validateSeccomp(s *specs.LinuxSeccomp) error {
	actions := seccomp.KnownActions()
	if s.DefaultAction != "" && !slices.Contains(actions, string(s.DefaultAction)) {
		return fieldErr("linux.seccomp.defaultAction", "unknown action %q", s.DefaultAction)
	}
	archs := seccomp.KnownArchs()
	for i, a := range s.Architectures {
		if !slices.Contains(archs, string(a)) {
			return fieldErr(fmt.Sprintf("linux.seccomp.architectures[%d]", i), "unknown architecture %q", a)
		}
	}
	ops := seccomp.KnownOperators()
	for i, sc := range s.Syscalls {
		f := fmt.Sprintf("linux.seccomp.syscalls[%d]", i)
		if len(sc.Names) == 0 {
			return fieldErr(f+".names", "missing")
		}
		if !slices.Contains(actions, string(sc.Action)) {
			return fieldErr(f+".action", "unknown action %q", sc.Action)
		}
		for j, a := range sc.Args {
			if !slices.Contains(ops, string(a.Op)) {
				return fieldErr(fmt.Sprintf("%s.args[%d].op", f, j), "unknown operator %q", a.Op)
			}
		}
	}
	return nil
}

var rlimits = map[string]int{
	"RLIMIT_CPU": 0, "RLIMIT_FSIZE": 1, "RLIMIT_DATA": 2, "RLIMIT_STACK": 3,
	"RLIMIT_CORE": 4, "RLIMIT_RSS": 5, "RLIMIT_NPROC": 6, "RLIMIT_NOFILE": 7,
	"RLIMIT_MEMLOCK": 8, "RLIMIT_AS": 9, "RLIMIT_LOCKS": 10, "RLIMIT_SIGPENDING": 11,
	"RLIMIT_MSGQUEUE": 12, "RLIMIT_NICE": 13, "RLIMIT_RTPRIO": 14, "RLIMIT_RTTIME": 15,
}

// RlimitNumber maps an OCI rlimit name such as RLIMIT_NOFILE to its number.
func RlimitNumber(name string) (int, bool) {
	n, ok := rlimits[name]
	return n, ok
}
