package judged

import (
	"runtime"
	"strings"
	"testing"

	"github.com/opencontainers/cgroups"
	"github.com/opencontainers/runtime-spec/specs-go"

	"github.com/mini-isolate/mini-isolate/policy"
	"github.com/mini-isolate/mini-isolate/specconv"
)

func TestOuterLimits(t *testing.T) {
	for _, tc := range []struct {
		name         string
		l            policy.Limits
		memory, pids int64 // 0: left alone
	}{
		{"none", policy.Limits{}, 0, 0},
		{"memory", policy.Limits{Memory: 64 << 20}, 64<<20 + MemoryHeadroom, 0},
		{"pids", policy.Limits{Processes: 10}, 0, 10 + PidsHeadroom},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := &cgroups.Resources{}
			OuterLimits(res, tc.l)
			var pids int64
			if res.PidsLimit != nil {
				pids = *res.PidsLimit
			}
			if res.Memory != tc.memory || res.MemorySwap != tc.memory || pids != tc.pids {
				t.Errorf("memory %d swap %d pids %d, want %d and %d", res.Memory, res.MemorySwap, pids, tc.memory, tc.pids)
			}
		})
	}
}

func TestCPUs(t *testing.T) {
	n := runtime.NumCPU()
	quota, period := int64(150000), uint64(100000)
	for _, tc := range []struct {
		name string
		cpu  *specs.LinuxCPU
		want int
	}{
		{"machine", nil, n},
		{"cpuset", &specs.LinuxCPU{Cpus: "0"}, 1},
		{"quota rounds up", &specs.LinuxCPU{Quota: &quota, Period: &period}, min(n, 2)},
		{"bad cpuset", &specs.LinuxCPU{Cpus: "x"}, n},
	} {
		spec := specconv.Example()
		spec.Linux.Resources = &specs.LinuxResources{CPU: tc.cpu}
		if got := CPUs(spec); got != tc.want {
			t.Errorf("%s: %d CPUs, want %d", tc.name, got, tc.want)
		}
	}
}

func TestSettings(t *testing.T) {
	for _, tc := range []struct {
		name, meta, format string
		annotations        map[string]string
		terminal           bool
		judged             bool
		err                string
	}{
		{name: "plain", judged: false},
		{name: "--meta makes it judged", meta: "/tmp/m", judged: true},
		{name: "annotations", annotations: map[string]string{policy.AnnotationTime: "1"}, judged: true},
		{name: "bad format", meta: "/tmp/m", format: "yaml", err: "--meta-format"},
		{name: "output limit on a terminal", annotations: map[string]string{policy.AnnotationOutputLimit: "1m"}, terminal: true, err: "process.terminal"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := specconv.Example()
			spec.Annotations = tc.annotations
			spec.Process.Terminal = tc.terminal
			j, err := Settings(spec, tc.meta, tc.format)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Errorf("err %v, want one naming %s", err, tc.err)
				}
				return
			}
			if err != nil || (j != nil) != tc.judged {
				t.Errorf("judge %+v, %v; want judged %v", j, err, tc.judged)
			}
		})
	}
}
