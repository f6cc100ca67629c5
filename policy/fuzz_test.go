package policy

import (
	"strings"
	"testing"
)

// Fuzz targets for the judge's untrusted text: annotations, isolate's
// directory and environment rules. The invariant is the project's rule for
// bad input: an error of one line, never a panic.

func oneLine(t *testing.T, err error) {
	t.Helper()
	if err != nil && strings.Contains(err.Error(), "\n") {
		t.Errorf("error spans lines: %q", err)
	}
}

func FuzzJudgeAnnotations(f *testing.F) {
	for _, seed := range []string{
		"time=1.5\nwall-time=3\nmeta=/tmp/m",
		"extra-time=0\noutput-limit=64k\nmeta-format=json",
		"judge=false\ntime=1",
		"stderr=e\nstderr-to-stdout=true",
		"time=NaN", "time=1e400", "wall-time=-1s", "output-limit=9999999999999999999",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, text string) {
		a := map[string]string{}
		for _, line := range strings.Split(text, "\n") {
			k, v, _ := strings.Cut(line, "=")
			a[AnnotationPrefix+k] = v
		}
		j, err := JudgeFromAnnotations(a)
		oneLine(t, err)
		if err != nil || j == nil {
			return
		}
		if l := j.Limits; l.Time < 0 || l.ExtraTime < 0 || l.WallTime < 0 || l.Output < 0 {
			t.Errorf("negative limit accepted: %+v", j)
		}
		// What we write back reads back the same.
		back, err := JudgeFromAnnotations(j.Annotations())
		if err != nil {
			t.Fatalf("round trip of %+v: %v", j, err)
		}
		if back.Limits != j.Limits || back.Meta != j.Meta || back.IO != j.IO {
			t.Errorf("round trip: %+v became %+v", j, back)
		}
	})
}

func FuzzParseDirRule(f *testing.F) {
	for _, seed := range []string{"box=./box:rw", "/etc:noexec", "dev/shm=tmpfs:fs:rw", "tmp:tmp", "lib64:maybe", "/x=", "../etc", "/a=b", "/p=proc:fs:tmp", ":::"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, arg string) {
		r, err := ParseDirRule(arg)
		oneLine(t, err)
		if err != nil {
			return
		}
		for _, part := range strings.Split(r.In, "/") {
			if part == ".." {
				t.Errorf("%q: accepted .. in %q", arg, r.In)
			}
		}
		if strings.HasPrefix(r.In, "/") || r.In == "" {
			t.Errorf("%q: inside path %q", arg, r.In)
		}
	})
}

func FuzzParseEnvRule(f *testing.F) {
	for _, seed := range []string{"HOME=/tmp", "PATH", "X=", "=x", "A=B=C"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, arg string) {
		r, err := ParseEnvRule(arg)
		oneLine(t, err)
		if err == nil && (r.Name == "" || strings.Contains(r.Name, "=")) {
			t.Errorf("%q: name %q", arg, r.Name)
		}
	})
}
