package policy

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/runtime-spec/specs-go"

	"github.com/mini-isolate/mini-isolate/specconv"
)

func TestJudgeFromAnnotations(t *testing.T) {
	p := AnnotationPrefix
	for _, tc := range []struct {
		name string
		in   map[string]string
		want *Judge
		err  string
	}{
		{"no annotations", nil, nil, ""},
		{"others only", map[string]string{"org.example": "x"}, nil, ""},
		{"judge off", map[string]string{p + "judge": "false"}, nil, ""},
		// Pod annotations reach the pause container too; it is never judged.
		{"containerd pod sandbox", map[string]string{p + "time": "1", "io.kubernetes.cri.container-type": "sandbox"}, nil, ""},
		{"CRI-O pod sandbox", map[string]string{p + "time": "1", "io.kubernetes.cri-o.ContainerType": "sandbox"}, nil, ""},
		{"pod container", map[string]string{p + "time": "1", "io.kubernetes.cri.container-type": "container"}, &Judge{Limits: Limits{Time: Duration(time.Second)}, MetaFormat: "isolate"}, ""},
		{"judge on", map[string]string{p + "judge": "true"}, &Judge{MetaFormat: "isolate"}, ""},
		{"all", map[string]string{
			p + "time": "1.5", p + "extra-time": "0.5", p + "wall-time": "3000ms", p + "output-limit": "64k",
			p + "meta": "/tmp/m", p + "meta-format": "json", p + "stdin": "in.txt", p + "stdout": "out.txt",
			p + "stderr-to-stdout": "true",
		}, &Judge{
			Limits: Limits{Time: Duration(1500 * time.Millisecond), ExtraTime: Duration(500 * time.Millisecond), WallTime: Duration(3 * time.Second), Output: 64 << 10},
			Meta:   "/tmp/m", MetaFormat: "json", IO: IO{Stdin: "in.txt", Stdout: "out.txt", StderrToStdout: true},
		}, ""},
		{"zero extra time", map[string]string{p + "extra-time": "0"}, &Judge{MetaFormat: "isolate"}, ""},
		// Decimal seconds are exact to the nanosecond, not float-truncated.
		{"decimal seconds", map[string]string{p + "time": "1.51713"}, &Judge{Limits: Limits{Time: Duration(1517130 * time.Microsecond)}, MetaFormat: "isolate"}, ""},
		{"meta to stdout", map[string]string{p + "meta": "-"}, &Judge{Meta: "-", MetaFormat: "isolate"}, ""},
		{"zero time", map[string]string{p + "time": "0"}, nil, p + "time"},
		{"NaN", map[string]string{p + "time": "NaN"}, nil, p + "time"},
		{"inf", map[string]string{p + "wall-time": "+Inf"}, nil, p + "wall-time"},
		{"too long", map[string]string{p + "wall-time": "25h"}, nil, p + "wall-time"},
		{"negative extra", map[string]string{p + "extra-time": "-0.1"}, nil, p + "extra-time"},
		{"output limit", map[string]string{p + "output-limit": "0"}, nil, p + "output-limit"},
		{"huge output limit", map[string]string{p + "output-limit": "2t"}, nil, p + "output-limit"},
		{"meta format", map[string]string{p + "meta-format": "yaml"}, nil, p + "meta-format"},
		{"empty stdin", map[string]string{p + "stdin": ""}, nil, p + "stdin"},
		{"stderr twice", map[string]string{p + "stderr": "e", p + "stderr-to-stdout": "1"}, nil, p + "stderr-to-stdout"},
		{"bool", map[string]string{p + "stderr-to-stdout": "yes please"}, nil, p + "stderr-to-stdout"},
		{"judge off with limits", map[string]string{p + "judge": "false", p + "time": "1"}, nil, p + "judge"},
	} {
		got, err := JudgeFromAnnotations(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), "annotations."+tc.err+":") {
				t.Errorf("%s: err %v, want one naming %s", tc.name, err, tc.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got %+v, %v; want %+v", tc.name, got, err, tc.want)
		}
	}
}

func TestJudgeAnnotationsRoundTrip(t *testing.T) {
	j := &Judge{Limits: Limits{Time: Duration(2 * time.Second), ExtraTime: Duration(250 * time.Millisecond), WallTime: Duration(5 * time.Second), Output: 1 << 20},
		Meta: "/var/meta", MetaFormat: "json", IO: IO{Stdin: "in", Stdout: "out", Stderr: "err"}}
	back, err := JudgeFromAnnotations(j.Annotations())
	if err != nil || !reflect.DeepEqual(back, j) {
		t.Errorf("round trip: %+v, %v", back, err)
	}
}

func TestValidateJudge(t *testing.T) {
	spec := specconv.Example()
	if err := ValidateJudge(spec); err != nil {
		t.Errorf("the example spec: %v", err)
	}
	spec.Linux.Namespaces[0] = specs.LinuxNamespace{Type: specs.PIDNamespace, Path: "/proc/1/ns/pid"}
	if err := ValidateJudge(spec); err == nil {
		t.Error("a joined pid namespace was accepted")
	}
}
