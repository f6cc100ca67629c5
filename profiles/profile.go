// Package profiles holds language profiles: how a submission in one
// language is compiled and run in a judged sandbox. A profile is a YAML
// file (schema.json describes it); the built-in ones are embedded here and
// a directory of users' own overrides them by name. WriteBundle turns a
// stage of a profile into an OCI bundle that `mini-isolate run` judges.
package profiles

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"

	"github.com/mini-isolate/mini-isolate/policy"
)

// DefaultDir is where users' profiles are read from unless told otherwise.
const DefaultDir = "/etc/mini-isolate/profiles"

// Stage names.
const (
	StageCompile = "compile"
	StageRun     = "run"
)

// OriginBuiltin is the Origin of an embedded profile.
const OriginBuiltin = "built-in"

// The default sandbox user: nobody, as most judges run submissions.
const (
	DefaultUID = 65534
	DefaultGID = 65534
)

//go:embed builtin/*.yaml
var builtinFS embed.FS

// Profile is one language profile.
type Profile struct {
	// Name is the file name without its extension; Origin is OriginBuiltin
	// or the file's path. Neither is part of the file.
	Name   string `json:"-"`
	Origin string `json:"-"`

	Description string `json:"description,omitempty"`
	// Source is the file, in /box, that the caller provides: the source
	// for a compiled language, the program itself for exec.
	Source string `json:"source"`
	// Packages are the Debian packages that provide the toolchain; they
	// only inform people and tests.
	Packages []string `json:"packages,omitempty"`
	User     *User    `json:"user,omitempty"`
	// NoDefaultDirs drops the default directory rules, as isolate's -D.
	NoDefaultDirs bool `json:"noDefaultDirs,omitempty"`
	// Dirs and Env are isolate --dir and --env rules for every stage.
	Dirs    []string `json:"dirs,omitempty"`
	Env     []string `json:"env,omitempty"`
	Seccomp *Seccomp `json:"seccomp,omitempty"`
	Stages  Stages   `json:"stages"`
}

// User is the identity the sandboxed program runs as.
type User struct {
	UID int64 `json:"uid"`
	GID int64 `json:"gid"`
}

// Seccomp adjusts the judge's seccomp policy (policy.JudgeSeccomp).
type Seccomp struct {
	// Allow lifts the block on these syscalls.
	Allow []string `json:"allow,omitempty"`
	// BlockLocks also blocks file locks.
	BlockLocks bool `json:"blockLocks,omitempty"`
}

// Stages are the steps of judging a submission: compile (optional) and run.
type Stages struct {
	Compile *Stage `json:"compile,omitempty"`
	Run     *Stage `json:"run,omitempty"`
}

// Stage is one sandboxed step.
type Stage struct {
	// Command is the program and its arguments, run in /box.
	Command []string `json:"command"`
	// Dirs and Env add to the profile's rules for this stage only.
	Dirs   []string      `json:"dirs,omitempty"`
	Env    []string      `json:"env,omitempty"`
	Limits policy.Limits `json:"limits"`
}

// Stage returns the named stage, or nil when the profile has none.
func (p *Profile) Stage(name string) *Stage {
	switch name {
	case StageCompile:
		return p.Stages.Compile
	case StageRun:
		return p.Stages.Run
	}
	return nil
}

// StageNames lists the stages the profile has, in the order they run.
func (p *Profile) StageNames() []string {
	var names []string
	if p.Stages.Compile != nil {
		names = append(names, StageCompile)
	}
	if p.Stages.Run != nil {
		names = append(names, StageRun)
	}
	return names
}

// setDefaults fills in what a file may leave out.
func (p *Profile) setDefaults() {
	if p.User == nil {
		p.User = &User{UID: DefaultUID, GID: DefaultGID}
	}
	if p.Seccomp == nil {
		p.Seccomp = &Seccomp{}
	}
}

// Set is the profiles in force: the built-in ones overridden by a user
// directory's.
type Set struct {
	byName map[string]*Profile
}

// Get returns the profile called name.
func (s *Set) Get(name string) (*Profile, error) {
	p, ok := s.byName[name]
	if !ok {
		return nil, fmt.Errorf("no profile %q (have: %s)", name, strings.Join(s.Names(), ", "))
	}
	return p, nil
}

// Names lists the profiles by name.
func (s *Set) Names() []string {
	names := make([]string, 0, len(s.byName))
	for n := range s.byName {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// List returns the profiles sorted by name.
func (s *Set) List() []*Profile {
	var list []*Profile
	for _, n := range s.Names() {
		list = append(list, s.byName[n])
	}
	return list
}

// nameRE is what a profile's file name, less its extension, must match.
var nameRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9][a-z0-9._+-]{0,63}$`) })

// Builtin returns the embedded profiles alone.
func Builtin() (*Set, error) {
	s := &Set{byName: map[string]*Profile{}}
	entries, err := builtinFS.ReadDir("builtin")
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		data, err := builtinFS.ReadFile("builtin/" + e.Name())
		if err != nil {
			return nil, err
		}
		p, err := Parse("builtin/"+e.Name(), data)
		if err != nil {
			return nil, err
		}
		p.Origin = OriginBuiltin
		s.byName[p.Name] = p
	}
	return s, nil
}

// Load returns the built-in profiles overridden by the *.yaml and *.yml
// files of dir. A dir that does not exist adds nothing; other files are
// ignored. Any invalid profile fails the whole load, with a line naming
// its file and field.
func Load(dir string) (*Set, error) {
	s, err := Builtin()
	if err != nil {
		return nil, err
	}
	if dir == "" {
		return s, nil
	}
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("profiles directory: %w", err)
	}
	fromDir := map[string]string{}
	for _, e := range entries {
		ext := filepath.Ext(e.Name())
		if e.IsDir() || (ext != ".yaml" && ext != ".yml") {
			continue
		}
		path := filepath.Join(dir, e.Name())
		p, err := ReadFile(path)
		if err != nil {
			return nil, err
		}
		if prev, dup := fromDir[p.Name]; dup {
			return nil, fmt.Errorf("%s: profile %q is also defined by %s", path, p.Name, prev)
		}
		fromDir[p.Name] = path
		s.byName[p.Name] = p
	}
	return s, nil
}

// ReadFile reads and validates one profile file.
func ReadFile(path string) (*Profile, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	// A profile decides what the sandbox sees of the host, and spec runs
	// as root: a file anyone can rewrite would let anyone widen it.
	if fi.Mode().Perm()&0o002 != 0 {
		return nil, fmt.Errorf("%s: writable by every user; refusing to use it (chmod o-w)", path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	p, err := Parse(path, data)
	if err != nil {
		return nil, err
	}
	p.Origin = path
	return p, nil
}

// Parse decodes and validates a profile. file names it in errors and gives
// the profile its name.
func Parse(file string, data []byte) (*Profile, error) {
	base := filepath.Base(file)
	name := strings.TrimSuffix(base, filepath.Ext(base))
	if !nameRE().MatchString(name) {
		return nil, fmt.Errorf("%s: profile name %q: want lowercase letters, digits, '.', '_', '+' or '-', starting with a letter or digit", file, name)
	}
	var p Profile
	if err := decodeYAML(data, &p); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	p.Name = name
	p.setDefaults()
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return &p, nil
}

// MissingTools lists the programs the profile's stages run that this host
// lacks. Only absolute commands are checked: the sandbox sees the host's
// /usr, while a relative command is the submission's own.
func MissingTools(p *Profile) []string {
	var missing []string
	for _, name := range p.StageNames() {
		cmd := p.Stage(name).Command[0]
		if !filepath.IsAbs(cmd) {
			continue
		}
		if _, err := os.Stat(cmd); err != nil && !slices.Contains(missing, cmd) {
			missing = append(missing, cmd)
		}
	}
	return missing
}

// YAML renders the profile the way the built-in files are written: fields
// in declaration order, short lists inline. It reads back as the same
// profile.
func (p *Profile) YAML() ([]byte, error) {
	js, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(js, &doc); err != nil {
		return nil, err
	}
	restyle(&doc)
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// restyle undoes the JSON look of a document decoded from JSON: strings
// unquoted where YAML allows, short lists of plain words inline.
func restyle(n *yaml.Node) {
	switch n.Kind {
	case yaml.ScalarNode:
		n.Style = 0
	case yaml.MappingNode:
		n.Style = 0
	case yaml.SequenceNode:
		// Inline when short and flat, as in the built-in files.
		width, flat := 0, true
		for _, c := range n.Content {
			flat = flat && c.Kind == yaml.ScalarNode && !strings.ContainsAny(c.Value, ":#,[]{}'\"")
			width += len(c.Value) + 2
		}
		n.Style = 0
		if flat && width <= 60 {
			n.Style = yaml.FlowStyle
		}
	}
	for _, c := range n.Content {
		restyle(c)
	}
}
