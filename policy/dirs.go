package policy

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/opencontainers/runtime-spec/specs-go"
)

// Options of a directory rule, as isolate spells them after the colon.
const (
	DirRW     = 1 << iota // read-write instead of read-only
	DirNoExec             // no execution
	DirDev                // device files allowed
	DirMaybe              // skip if the outside directory does not exist
	DirFS                 // Out is a filesystem type: proc, sysfs, tmpfs, devpts
	DirTmp                // a fresh private directory, writable by the box
	DirNoRec              // do not bind the mounts below Out
)

var dirOptions = map[string]int{
	"rw": DirRW, "noexec": DirNoExec, "dev": DirDev, "maybe": DirMaybe,
	"fs": DirFS, "tmp": DirTmp, "norec": DirNoRec,
}

// DirRule is one -d/--dir rule: IN[=OUT][:option[:option...]].
type DirRule struct {
	// In is the path inside the box, without the leading slash.
	In string
	// Out is the outside directory ("./x" is relative to the box
	// directory), or the filesystem type with DirFS.
	Out   string
	Flags int
	// Remove, for "IN=", drops any earlier rule for In.
	Remove bool
	// MinimalDev marks the default /dev rule: a fresh /dev holding only
	// null, zero, full, random, urandom, tty and ptmx, not the host's.
	MinimalDev bool
}

// ParseDirRule parses a --dir argument.
func ParseDirRule(arg string) (DirRule, error) {
	spec, opts, _ := strings.Cut(arg, ":")
	in, out, hasOut := strings.Cut(spec, "=")
	in = strings.TrimLeft(in, "/")
	var r DirRule
	if in == "" {
		return r, fmt.Errorf("invalid directory rule %q: empty inside path", arg)
	}
	for _, part := range strings.Split(in, "/") {
		if part == ".." {
			return r, fmt.Errorf("invalid directory rule %q: .. is not allowed", arg)
		}
	}
	r.In = filepath.Clean(in)
	if hasOut && out == "" {
		if opts != "" {
			return r, fmt.Errorf("invalid directory rule %q: a rule that removes a directory takes no options", arg)
		}
		r.Remove = true
		return r, nil
	}
	if opts != "" {
		for _, o := range strings.Split(opts, ":") {
			f, ok := dirOptions[o]
			if !ok {
				return r, fmt.Errorf("invalid directory rule %q: unknown option %q", arg, o)
			}
			r.Flags |= f
		}
	}
	switch {
	case r.Flags&DirTmp != 0:
		if hasOut {
			return r, fmt.Errorf("invalid directory rule %q: a tmp rule takes no outside path", arg)
		}
		if r.Flags&DirFS != 0 {
			return r, fmt.Errorf("invalid directory rule %q: fs and tmp exclude each other", arg)
		}
	case r.Flags&DirFS != 0:
		if !slices.Contains([]string{"proc", "sysfs", "tmpfs", "devpts"}, out) {
			return r, fmt.Errorf("invalid directory rule %q: filesystem must be proc, sysfs, tmpfs or devpts", arg)
		}
		r.Out = out
	case !hasOut:
		r.Out = "/" + r.In
	case strings.HasPrefix(out, "/") || strings.HasPrefix(out, "./"):
		r.Out = out
	default:
		return r, fmt.Errorf("invalid directory rule %q: the outside path must start with / or ./", arg)
	}
	return r, nil
}

// TmpfsInodes caps the files of a tmpfs a rule mounts, /dev/shm's among
// them. Its size bounds only the data: empty files and directories cost
// the kernel memory the size does not count, and tmpfs's default cap
// follows the host's RAM. One per KiB of the 64 MiB.
const TmpfsInodes = "nr_inodes=65536"

// DefaultDirRules are isolate's default rules, with a fresh minimal /dev
// instead of the host's.
func DefaultDirRules() []DirRule {
	return []DirRule{
		{In: "box", Out: "./box", Flags: DirRW},
		{In: "bin", Out: "/bin"},
		{In: "dev", Out: "/dev", Flags: DirDev | DirNoRec, MinimalDev: true},
		{In: "dev/shm", Out: "tmpfs", Flags: DirFS | DirRW},
		{In: "lib", Out: "/lib"},
		{In: "lib64", Out: "/lib64", Flags: DirMaybe},
		{In: "proc", Out: "proc", Flags: DirFS},
		{In: "tmp", Flags: DirTmp},
		{In: "usr", Out: "/usr"},
	}
}

// ApplyDirRules merges user rules into the list: a rule for an inside path
// already there replaces it in place, a removal drops it, others append.
func ApplyDirRules(list, user []DirRule) []DirRule {
	for _, u := range user {
		i := slices.IndexFunc(list, func(r DirRule) bool { return r.In == u.In })
		switch {
		case u.Remove && i >= 0:
			list = slices.Delete(list, i, i+1)
		case u.Remove:
		case i >= 0:
			list[i] = u
		default:
			list = append(list, u)
		}
	}
	return list
}

// tmpName is where a tmp rule's directory lives below the box's tmp/:
// every slash of the inside path becomes a colon, as isolate names them.
func tmpName(in string) string {
	return strings.ReplaceAll(in, "/", ":")
}

// DirMounts turns the rules into OCI mounts. Outside paths starting with
// "./" are relative to dir, and each tmp rule gets a fresh directory below
// dir/tmp, created here and owned by uid:gid, the sandbox's user.
func DirMounts(rules []DirRule, dir string, uid, gid int) ([]specs.Mount, error) {
	var out []specs.Mount
	for _, r := range rules {
		dest := "/" + r.In
		switch {
		case r.MinimalDev:
			out = append(out, specs.Mount{Destination: "/dev", Type: "tmpfs", Source: "tmpfs",
				Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}})
			// POSIX message queues are only found, and cleared between
			// runs, through their file system.
			out = append(out, specs.Mount{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue",
				Options: []string{"nosuid", "noexec", "nodev"}})
		case r.Flags&DirFS != 0:
			opts := []string{"nosuid", "nodev", "noexec"}
			switch r.Out {
			case "tmpfs":
				opts = []string{"nosuid", "nodev", "mode=1777", "size=65536k", TmpfsInodes}
			case "devpts":
				opts = []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}
			case "sysfs":
				opts = append(opts, "ro")
			}
			if r.Flags&DirRW == 0 && r.Out != "tmpfs" && r.Out != "proc" && r.Out != "devpts" {
				opts = append(opts, "ro")
			}
			out = append(out, specs.Mount{Destination: dest, Type: r.Out, Source: r.Out, Options: opts})
		default:
			src := r.Out
			if r.Flags&DirTmp != 0 {
				src = filepath.Join(dir, "tmp", tmpName(r.In))
				if err := os.MkdirAll(src, 0o700); err != nil {
					return nil, fmt.Errorf("tmp directory for /%s: %w", r.In, err)
				}
				if err := os.Chown(src, uid, gid); err != nil {
					return nil, err
				}
			} else if strings.HasPrefix(src, "./") {
				src = filepath.Join(dir, src)
			}
			if fi, err := os.Stat(src); err != nil || !fi.IsDir() {
				if r.Flags&DirMaybe != 0 {
					continue
				}
				if err == nil {
					err = errors.New("not a directory")
				}
				return nil, fmt.Errorf("cannot mount %s on /%s: %v", src, r.In, err)
			}
			opts := []string{"rbind", "nosuid"}
			if r.Flags&DirNoRec != 0 {
				opts[0] = "bind"
			}
			if r.Flags&(DirRW|DirTmp) == 0 {
				opts = append(opts, "ro")
			}
			if r.Flags&DirDev == 0 {
				opts = append(opts, "nodev")
			}
			if r.Flags&DirNoExec != 0 {
				opts = append(opts, "noexec")
			}
			out = append(out, specs.Mount{Destination: dest, Type: "bind", Source: src, Options: opts})
		}
	}
	return out, nil
}

// EnvRule is one -E/--env rule: VAR inherits, VAR=value sets, VAR= unsets.
type EnvRule struct {
	Name  string
	Value string
	// Inherit takes the value from the caller's environment.
	Inherit bool
}

// ParseEnvRule parses an --env argument.
func ParseEnvRule(arg string) (EnvRule, error) {
	name, val, set := strings.Cut(arg, "=")
	if name == "" || strings.ContainsAny(name, "\x00") {
		return EnvRule{}, fmt.Errorf("invalid environment rule %q", arg)
	}
	return EnvRule{Name: name, Value: val, Inherit: !set}, nil
}

// Environment builds a run's environment as isolate does: empty (or the
// caller's with fullEnv) plus LIBC_FATAL_STDERR_=1, then the rules.
func Environment(fullEnv bool, rules []EnvRule, caller []string) []string {
	var names []string
	vals := map[string]string{}
	set := func(k, v string) {
		if _, ok := vals[k]; !ok {
			names = append(names, k)
		}
		vals[k] = v
	}
	if fullEnv {
		for _, kv := range caller {
			if k, v, ok := strings.Cut(kv, "="); ok {
				set(k, v)
			}
		}
	}
	set("LIBC_FATAL_STDERR_", "1")
	for _, r := range rules {
		switch {
		case r.Inherit:
			for _, kv := range caller {
				if k, v, ok := strings.Cut(kv, "="); ok && k == r.Name {
					set(k, v)
				}
			}
		case r.Value == "":
			if _, ok := vals[r.Name]; ok {
				delete(vals, r.Name)
				names = slices.DeleteFunc(names, func(n string) bool { return n == r.Name })
			}
		default:
			set(r.Name, r.Value)
		}
	}
	env := make([]string, 0, len(names))
	for _, n := range names {
		env = append(env, n+"="+vals[n])
	}
	return env
}
