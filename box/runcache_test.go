package box

import (
	"os"
	"testing"

	"github.com/mini-isolate/mini-isolate/policy"
	"github.com/mini-isolate/mini-isolate/runtime/supervise"
)

// Through the cache, a key is the one containerKey computes for the same
// inputs, whichever input changed since the last.
func TestRunCacheKey(t *testing.T) {
	m := &Manager{Config: &Config{CPUs: map[int]string{}, Mems: map[int]string{}}, Cache: NewRunCache()}
	base := Box{ID: 3, Dir: "/b/3", UID: 1003, GID: 1003, Container: "c"}
	rules := withProc(policy.DefaultDirRules())
	for _, tc := range []struct {
		name     string
		change   func(b *Box, rules []policy.DirRule) []policy.DirRule
		shareNet bool
		cpus     string
	}{
		{"first", nil, false, ""},
		{"the same again", nil, false, ""},
		{"shared network", nil, true, ""},
		{"another container", func(b *Box, r []policy.DirRule) []policy.DirRule { b.Container = "d"; return r }, false, ""},
		{"a rule more", func(b *Box, r []policy.DirRule) []policy.DirRule {
			return append(r, policy.DirRule{In: "x", Out: "/x"})
		}, false, ""},
		{"a rule changed in place", func(b *Box, r []policy.DirRule) []policy.DirRule {
			r[0].Flags ^= 1
			return r
		}, false, ""},
		{"pinned CPUs", nil, false, "1"},
		{"back to the first", nil, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, r := base, append([]policy.DirRule(nil), rules...)
			if tc.change != nil {
				r = tc.change(&b, r)
			}
			m.Config.CPUs[b.ID] = tc.cpus
			got, err := m.key(&b, r, tc.shareNet)
			if err != nil {
				t.Fatal(err)
			}
			want, err := m.containerKey(&b, r, tc.shareNet)
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("cached key %s, want %s", got, want)
			}
		})
	}
}

// A rule the caller changes in its own slice after a run is seen at the
// next: the cache keeps a copy of the rules.
func TestRunCacheKeyRulesReused(t *testing.T) {
	m := &Manager{Config: &Config{}, Cache: NewRunCache()}
	b := &Box{ID: 3, Dir: "/b/3", UID: 1003, GID: 1003, Container: "c"}
	r := withProc(policy.DefaultDirRules())
	first, err := m.key(b, r, false)
	if err != nil {
		t.Fatal(err)
	}
	r[0].Out = "/elsewhere"
	got, err := m.key(b, r, false)
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := m.containerKey(b, r, false); got != want || got == first {
		t.Errorf("key after the rule changed in place %s, want %s (before: %s)", got, want, first)
	}
}

// Through the cache, the state is what the file says now, however it
// was overwritten, and a copy the caller may change.
func TestRunCacheState(t *testing.T) {
	m := &Manager{Cache: NewRunCache()}
	b := &Box{ID: 1, Dir: t.TempDir()}
	if err := os.Mkdir(b.private(), 0o700); err != nil {
		t.Fatal(err)
	}
	states := []containerState{
		{Key: "a", Target: &supervise.Target{InitPid: 10, CgroupPaths: map[string]string{"pids": "/p/a"}}},
		{Key: "a", Target: &supervise.Target{InitPid: 11, CgroupPaths: map[string]string{"pids": "/p/a"}}},
		{Key: "b", Target: &supervise.Target{InitPid: 11, CgroupPaths: map[string]string{"pids": "/p/b"}}},
		{Key: "b"},
	}
	for i, want := range states {
		if err := writeState(b, want); err != nil {
			t.Fatal(err)
		}
		for pass := 0; pass < 3; pass++ {
			got, err := m.state(b)
			if err != nil {
				t.Fatal(err)
			}
			if got.Key != want.Key || (got.Target == nil) != (want.Target == nil) ||
				got.Target != nil && (got.Target.InitPid != want.Target.InitPid || got.Target.CgroupPaths["pids"] != want.Target.CgroupPaths["pids"]) {
				t.Fatalf("state %d, read %d: key %q, target %+v; want %q, %+v", i, pass, got.Key, deref(got.Target), want.Key, deref(want.Target))
			}
			if got.Target != nil {
				got.Target.InitPid = -1 // the caller's copy
				got.Target.CgroupPaths["pids"] = "changed"
			}
		}
	}
}

// deref is *t, or the zero Target for nil.
func deref(t *supervise.Target) supervise.Target {
	if t == nil {
		return supervise.Target{}
	}
	return *t
}
