package profiles

import (
	"fmt"
	"regexp"
	"strings"
	"sync"

	"github.com/mini-isolate/mini-isolate/policy"
)

var packageRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9][a-z0-9+.-]+$`) })

// Validate checks a decoded profile; the error names the first bad field.
func (p *Profile) Validate() error {
	if err := validFileName(p.Source); err != nil {
		return fieldErr("source", "%s", err)
	}
	for i, pkg := range p.Packages {
		if !packageRE().MatchString(pkg) {
			return fieldErr(fmt.Sprintf("packages[%d]", i), "%q is not a Debian package name", pkg)
		}
	}
	if u := p.User; u != nil {
		for _, id := range []struct {
			field string
			v     int64
		}{{"user.uid", u.UID}, {"user.gid", u.GID}} {
			if id.v <= 0 || id.v >= 1<<32-1 {
				return fieldErr(id.field, "%d: want an id between 1 and 4294967294; a sandbox must not run as root", id.v)
			}
		}
	}
	if err := validRules("", p.Dirs, p.Env); err != nil {
		return err
	}
	if s := p.Seccomp; s != nil {
		for i, n := range s.Allow {
			if _, err := policy.JudgeSeccomp(policy.SeccompOptions{Allow: []string{n}}); err != nil {
				return fieldErr(fmt.Sprintf("seccomp.allow[%d]", i), "%q is not a syscall the judge policy blocks", n)
			}
		}
	}
	if p.Stages.Run == nil {
		return fieldErr("stages.run", "missing: every profile needs a run stage")
	}
	for _, name := range p.StageNames() {
		if err := p.Stage(name).validate("stages." + name); err != nil {
			return err
		}
	}
	return nil
}

func (s *Stage) validate(path string) error {
	if len(s.Command) == 0 || s.Command[0] == "" {
		return fieldErr(path+".command", "missing: want the program and its arguments")
	}
	for i, a := range s.Command {
		if strings.IndexByte(a, 0) >= 0 {
			return fieldErr(fmt.Sprintf("%s.command[%d]", path, i), "contains a NUL byte")
		}
	}
	if err := validRules(path, s.Dirs, s.Env); err != nil {
		return err
	}
	return s.Limits.Validate(path + ".limits")
}

func validRules(path string, dirs, env []string) error {
	for i, d := range dirs {
		if _, err := policy.ParseDirRule(d); err != nil {
			return fieldErr(fmt.Sprintf("%s[%d]", join(path, "dirs"), i), "%s", err)
		}
	}
	for i, e := range env {
		if _, err := policy.ParseEnvRule(e); err != nil {
			return fieldErr(fmt.Sprintf("%s[%d]", join(path, "env"), i), "%s", err)
		}
	}
	return nil
}

func validFileName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("missing: want the name of the file the caller puts in /box")
	case name == "." || name == ".." || strings.ContainsAny(name, "/\x00"):
		return fmt.Errorf("%q: want a plain file name, without /", name)
	}
	return nil
}
