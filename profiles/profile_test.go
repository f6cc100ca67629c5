package profiles

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mini-isolate/mini-isolate/policy"
)

// minimal is the smallest valid profile; cases below edit it.
const minimal = `source: main
stages:
  run:
    command: [./main]
`

func TestBuiltin(t *testing.T) {
	set, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"c", "cpp", "exec", "go", "java", "node", "python3", "rust"}
	if got := set.Names(); !slices.Equal(got, want) {
		t.Fatalf("built-in profiles %v, want %v", got, want)
	}
	for _, tc := range []struct {
		name    string
		source  string
		compile bool
		// addressSpace: whether the run stage limits RLIMIT_AS; runtimes
		// that reserve large ranges up front must not.
		addressSpace bool
		// minProcs: the fewest processes the compile stage must allow.
		minProcs int64
	}{
		{"c", "main.c", true, true, 4},
		{"cpp", "main.cpp", true, true, 4},
		{"exec", "main", false, true, 0},
		{"go", "main.go", true, false, 64},
		{"java", "Main.java", true, false, 32},
		{"node", "main.js", true, false, 8},
		{"python3", "main.py", true, true, 1},
		{"rust", "main.rs", true, true, 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := set.Get(tc.name)
			if err != nil {
				t.Fatal(err)
			}
			if p.Origin != OriginBuiltin || p.Source != tc.source || p.Description == "" {
				t.Errorf("origin %q source %q description %q", p.Origin, p.Source, p.Description)
			}
			if *p.User != (User{UID: DefaultUID, GID: DefaultGID}) {
				t.Errorf("user %+v, want nobody", *p.User)
			}
			if (p.Stages.Compile != nil) != tc.compile {
				t.Errorf("compile stage present: %v, want %v", p.Stages.Compile != nil, tc.compile)
			}
			for _, name := range p.StageNames() {
				l := p.Stage(name).Limits
				if l.Time <= 0 || l.WallTime <= l.Time || l.Memory <= 0 || l.Processes <= 0 || l.FileSize <= 0 || l.OpenFiles <= 0 || l.Stack <= 0 {
					t.Errorf("stage %s: want time, a longer wall time, memory, processes, file size, open files and stack: %+v", name, l)
				}
			}
			run := p.Stages.Run.Limits
			if (run.AddressSpace > 0) != tc.addressSpace {
				t.Errorf("run stage address-space limit %v, want one: %v", run.AddressSpace, tc.addressSpace)
			}
			if c := p.Stages.Compile; c != nil {
				if c.Limits.Processes < tc.minProcs {
					t.Errorf("compile stage allows %d processes, want at least %d", c.Limits.Processes, tc.minProcs)
				}
				if c.Limits.Time < run.Time {
					t.Errorf("compile stage time %v is below the run stage's %v", c.Limits.Time, run.Time)
				}
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		file string
		doc  string
		// want are substrings of the one-line error, after the file name.
		want []string
		// schema says whether schema.json rejects the document too;
		// some checks (rule syntax, known syscalls) are Go's alone.
		schema bool
	}{
		{"empty", "p.yaml", "", []string{"empty profile"}, true},
		{"not a mapping", "p.yaml", "- a\n- b\n", []string{"(top level)", "want a mapping"}, true},
		{"syntax", "p.yaml", "source: main\nstages: [\n", []string{"line"}, true},
		{"duplicate key", "p.yaml", minimal + "source: other\n", []string{`"source" already set`}, true},
		{"unknown field", "p.yaml", minimal + "sauce: main\n", []string{"sauce: unknown field", "source"}, true},
		{"unknown limit", "p.yaml", minimal + "    limits: {tme: 1}\n", []string{"stages.run.limits.tme: unknown field"}, true},
		{"unknown stage", "p.yaml", minimal + "  test:\n    command: [x]\n", []string{"stages.test: unknown field"}, true},
		{"missing source", "p.yaml", "stages:\n  run:\n    command: [./main]\n", []string{"source: missing"}, true},
		{"source path", "p.yaml", strings.Replace(minimal, "source: main", "source: src/main.c", 1), []string{"source:", "plain file name"}, true},
		{"missing run", "p.yaml", "source: main\nstages:\n  compile:\n    command: [cc]\n", []string{"stages.run: missing"}, true},
		{"missing command", "p.yaml", "source: main\nstages:\n  run:\n    limits: {time: 1}\n", []string{"stages.run.command: missing"}, true},
		{"empty command", "p.yaml", "source: main\nstages:\n  run:\n    command: []\n", []string{"stages.run.command: missing"}, true},
		{"command is a string", "p.yaml", "source: main\nstages:\n  run:\n    command: ./main\n", []string{"stages.run.command: want a list", `"./main"`}, true},
		{"command item type", "p.yaml", "source: main\nstages:\n  run:\n    command: [./main, 5]\n", []string{"stages.run.command[1]: want a string, got number 5"}, true},
		{"time word", "p.yaml", minimal + "    limits: {time: fast}\n", []string{"stages.run.limits.time", "want seconds"}, true},
		{"time quoted", "p.yaml", minimal + "    limits: {time: \"1.5\"}\n", []string{"stages.run.limits.time", "want seconds"}, true},
		{"time negative", "p.yaml", minimal + "    limits: {time: -1}\n", []string{"stages.run.limits.time", "between 0 and 86400"}, true},
		{"wall time absurd", "p.yaml", minimal + "    limits: {wallTime: 100000}\n", []string{"stages.run.limits.wallTime", "between 0 and 86400"}, true},
		{"memory word", "p.yaml", minimal + "    limits: {memory: lots}\n", []string{"stages.run.limits.memory", "want a size"}, true},
		{"memory negative", "p.yaml", minimal + "    limits: {memory: -1}\n", []string{"stages.run.limits.memory", "want a size"}, true},
		{"memory absurd", "p.yaml", minimal + "    limits: {memory: 2TiB}\n", []string{"stages.run.limits.memory", "at most 1TiB"}, false},
		{"size exponent", "p.yaml", minimal + "    limits: {stack: 1e3k}\n", []string{"stages.run.limits.stack", "want a size"}, true},
		{"processes fraction", "p.yaml", minimal + "    limits: {processes: 1.5}\n", []string{"stages.run.limits.processes: want an integer"}, true},
		{"processes absurd", "p.yaml", minimal + "    limits: {processes: 99999999}\n", []string{"stages.run.limits.processes", "between 0 and 4194304"}, true},
		{"open files negative", "p.yaml", minimal + "    limits: {openFiles: -3}\n", []string{"stages.run.limits.openFiles", "between 0 and 1048576"}, true},
		{"root user", "p.yaml", minimal + "user: {uid: 0, gid: 0}\n", []string{"user.uid", "must not run as root"}, true},
		{"user without gid", "p.yaml", minimal + "user: {uid: 1000}\n", []string{"user.gid"}, true},
		{"bad dir rule", "p.yaml", minimal + "dirs: [\"../etc\"]\n", []string{"dirs[0]", "is not allowed"}, false},
		{"bad stage dir rule", "p.yaml", minimal + "    dirs: [\"x:bogus\"]\n", []string{"stages.run.dirs[0]", `unknown option "bogus"`}, false},
		{"bad env rule", "p.yaml", minimal + "env: [\"=x\"]\n", []string{"env[0]", "invalid environment rule"}, true},
		{"bad seccomp", "p.yaml", minimal + "seccomp: {allow: [read]}\n", []string{"seccomp.allow[0]", `"read" is not a syscall the judge policy blocks`}, false},
		{"bad package", "p.yaml", minimal + "packages: [G++]\n", []string{"packages[0]", "Debian package"}, true},
		{"bool type", "p.yaml", minimal + "noDefaultDirs: 1\n", []string{"noDefaultDirs: want true or false"}, true},
		// The schema sees the document, not its file name.
		{"bad name", "Bad Name.yaml", minimal, []string{`profile name "Bad Name"`}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(filepath.Join("/etc/profiles", tc.file), []byte(tc.doc))
			if err == nil {
				t.Fatalf("no error for\n%s", tc.doc)
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") {
				t.Errorf("error is not one line: %q", msg)
			}
			if !strings.HasPrefix(msg, "/etc/profiles/"+tc.file+": ") {
				t.Errorf("error %q does not start with the file name", msg)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not contain %q", msg, w)
				}
			}
			if tc.schema {
				if err := validateSchema(t, []byte(tc.doc)); err == nil {
					t.Errorf("schema.json accepts what the loader rejects:\n%s", tc.doc)
				}
			}
		})
	}
}

func TestParseValid(t *testing.T) {
	for _, tc := range []struct {
		name string
		doc  string
		want func(*Profile) bool
	}{
		{"defaults", minimal, func(p *Profile) bool {
			return *p.User == User{UID: 65534, GID: 65534} && p.Seccomp != nil && p.Stages.Compile == nil
		}},
		{"sizes", minimal + "    limits: {memory: 256MiB, stack: 64k, fileSize: 1048576, output: 1.5g, addressSpace: 2 GiB}\n", func(p *Profile) bool {
			l := p.Stages.Run.Limits
			return l.Memory == 256<<20 && l.Stack == 64<<10 && l.FileSize == 1<<20 && l.Output == 3<<29 && l.AddressSpace == 2<<30
		}},
		{"seconds", minimal + "    limits: {time: 1.5, wallTime: 3, extraTime: 0.25}\n", func(p *Profile) bool {
			l := p.Stages.Run.Limits
			return l.Time == policy.Duration(1500*time.Millisecond) && l.WallTime == policy.Duration(3*time.Second) && l.ExtraTime == policy.Duration(250*time.Millisecond)
		}},
		{"user and seccomp", minimal + "user: {uid: 60001, gid: 60002}\nseccomp: {allow: [unshare], blockLocks: true}\n", func(p *Profile) bool {
			return p.User.UID == 60001 && p.User.GID == 60002 && slices.Equal(p.Seccomp.Allow, []string{"unshare"}) && p.Seccomp.BlockLocks
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Parse("x.yaml", []byte(tc.doc))
			if err != nil {
				t.Fatal(err)
			}
			if p.Name != "x" || !tc.want(p) {
				t.Errorf("unexpected profile %q: %+v", p.Name, p)
			}
			if err := validateSchema(t, []byte(tc.doc)); err != nil {
				t.Errorf("schema.json rejects a valid profile: %v", err)
			}
		})
	}
}

func TestLoadOverrides(t *testing.T) {
	write := func(t *testing.T, dir, name, content string, mode os.FileMode) {
		t.Helper()
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		// Not subject to the umask, so that the mode is the one asked for.
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("override and add", func(t *testing.T) {
		dir := t.TempDir()
		write(t, dir, "cpp.yaml", "description: our C++\n"+strings.Replace(minimal, "source: main", "source: sol.cc", 1), 0o644)
		write(t, dir, "pascal.yml", "description: Free Pascal\n"+minimal, 0o644)
		write(t, dir, "README", "not a profile", 0o644)
		if err := os.Mkdir(filepath.Join(dir, "old.yaml"), 0o755); err != nil {
			t.Fatal(err)
		}
		set, err := Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		cpp, err := set.Get("cpp")
		if err != nil {
			t.Fatal(err)
		}
		if cpp.Origin != filepath.Join(dir, "cpp.yaml") || cpp.Description != "our C++" || cpp.Source != "sol.cc" || cpp.Stages.Compile != nil {
			t.Errorf("cpp not overridden: %+v", cpp)
		}
		if p, err := set.Get("pascal"); err != nil || p.Origin != filepath.Join(dir, "pascal.yml") {
			t.Errorf("pascal: %v %+v", err, p)
		}
		if p, err := set.Get("c"); err != nil || p.Origin != OriginBuiltin {
			t.Errorf("c should stay built-in: %v %+v", err, p)
		}
		if len(set.Names()) != 9 {
			t.Errorf("profiles %v, want the 8 built-in ones plus pascal", set.Names())
		}
	})
	for _, tc := range []struct {
		name  string
		files map[string]string
		mode  os.FileMode
		want  []string
	}{
		{"invalid user profile", map[string]string{"go.yaml": minimal + "    limits: {time: forever}\n"}, 0o644, []string{"go.yaml: stages.run.limits.time"}},
		{"defined twice", map[string]string{"go.yaml": minimal, "go.yml": minimal}, 0o644, []string{"go.yml", `profile "go" is also defined by`, "go.yaml"}},
		{"world-writable", map[string]string{"go.yaml": minimal}, 0o666, []string{"go.yaml: writable by every user"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, content := range tc.files {
				write(t, dir, name, content, tc.mode)
			}
			_, err := Load(dir)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
	t.Run("missing directory", func(t *testing.T) {
		set, err := Load(filepath.Join(t.TempDir(), "none"))
		if err != nil || len(set.Names()) != 8 {
			t.Errorf("want the built-in profiles alone: %v %v", err, set)
		}
	})
	t.Run("unknown name", func(t *testing.T) {
		set, _ := Builtin()
		if _, err := set.Get("cobol"); err == nil || !strings.Contains(err.Error(), `no profile "cobol" (have: c, cpp,`) {
			t.Errorf("error %v", err)
		}
	})
}

// TestYAMLRoundTrip checks that `profile show` prints what reads back as
// the same profile, and that schema.json accepts it.
func TestYAMLRoundTrip(t *testing.T) {
	set, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range set.List() {
		t.Run(p.Name, func(t *testing.T) {
			data, err := p.YAML()
			if err != nil {
				t.Fatal(err)
			}
			back, err := Parse(p.Name+".yaml", data)
			if err != nil {
				t.Fatalf("%v\n%s", err, data)
			}
			back.Origin = p.Origin
			if !reflect.DeepEqual(back, p) {
				t.Errorf("round trip changed the profile:\n%s", data)
			}
			if err := validateSchema(t, data); err != nil {
				t.Errorf("schema.json rejects the rendered profile: %v", err)
			}
		})
	}
}
