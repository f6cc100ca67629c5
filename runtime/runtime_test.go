package runtime

import (
	"reflect"
	"testing"

	"github.com/opencontainers/cgroups"
	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func TestParseSignal(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want unix.Signal
		ok   bool
	}{
		{"9", unix.SIGKILL, true},
		{"KILL", unix.SIGKILL, true},
		{"SIGTERM", unix.SIGTERM, true},
		{"usr1", unix.SIGUSR1, true},
		{"sigHup", unix.SIGHUP, true},
		{"0", 0, false},
		{"-1", 0, false},
		{"65", 0, false},
		{"NOPE", 0, false},
		{"", 0, false},
	} {
		got, err := ParseSignal(tc.in)
		if (err == nil) != tc.ok || (tc.ok && got != tc.want) {
			t.Errorf("ParseSignal(%q) = %v, %v; want %v ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestParseSubCgroups(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want map[string]string
		ok   bool
	}{
		{nil, nil, true},
		{[]string{"sub"}, map[string]string{"": "sub"}, true},
		{[]string{"cpu,memory:a", "pids:b"}, map[string]string{"cpu": "a", "memory": "a", "pids": "b"}, true},
		{[]string{"a", "b"}, nil, false},
		{[]string{"cpu:"}, nil, false},
		{[]string{"cpu:a", "cpu:b"}, nil, false},
	} {
		got, err := ParseSubCgroups(tc.in)
		if (err == nil) != tc.ok || (tc.ok && !reflect.DeepEqual(got, tc.want)) {
			t.Errorf("ParseSubCgroups(%q) = %v, %v; want %v ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestApplyResources(t *testing.T) {
	i64 := func(v int64) *int64 { return &v }
	u64 := func(v uint64) *uint64 { return &v }
	u16 := func(v uint16) *uint16 { return &v }
	base := func() *cgroups.Resources {
		return &cgroups.Resources{Memory: 100, MemorySwap: 200, CpuShares: 1024, CpuQuota: 5000, CpuPeriod: 10000, BlkioWeight: 500}
	}
	for _, tc := range []struct {
		name  string
		in    specs.LinuxResources
		check func(*cgroups.Resources) bool
	}{
		{"zeros change nothing", specs.LinuxResources{
			Memory:  &specs.LinuxMemory{Limit: i64(0), Reservation: i64(0)},
			CPU:     &specs.LinuxCPU{Shares: u64(0), Quota: i64(0), Period: u64(0)},
			BlockIO: &specs.LinuxBlockIO{Weight: u16(0)},
		}, func(r *cgroups.Resources) bool { return reflect.DeepEqual(r, base()) }},
		{"memory limit", specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(300)}},
			func(r *cgroups.Resources) bool { return r.Memory == 300 && r.MemorySwap == 200 }},
		{"unlimited memory unlimits swap", specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(-1)}},
			func(r *cgroups.Resources) bool { return r.Memory == -1 && r.MemorySwap == -1 }},
		{"shares", specs.LinuxResources{CPU: &specs.LinuxCPU{Shares: u64(512)}},
			func(r *cgroups.Resources) bool { return r.CpuShares == 512 && r.CpuWeight != 0 }},
		{"quota alone", specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: i64(2000)}},
			func(r *cgroups.Resources) bool { return r.CpuQuota == 2000 && r.CpuPeriod == 10000 }},
		{"pids", specs.LinuxResources{Pids: &specs.LinuxPids{Limit: i64(7)}},
			func(r *cgroups.Resources) bool { return r.PidsLimit != nil && *r.PidsLimit == 7 }},
		{"throttle upsert", specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{
			ThrottleReadBpsDevice: []specs.LinuxThrottleDevice{{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 8, Minor: 0}, Rate: 10}, {LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 8, Minor: 0}, Rate: 20}},
		}}, func(r *cgroups.Resources) bool {
			return len(r.BlkioThrottleReadBpsDevice) == 1 && r.BlkioThrottleReadBpsDevice[0].Rate == 20
		}},
	} {
		r := base()
		applyResources(r, &tc.in)
		if !tc.check(r) {
			t.Errorf("%s: got %+v", tc.name, r)
		}
	}
}
