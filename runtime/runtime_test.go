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
		{"0", 0, true}, // a liveness check, as kill(1) -0
		{"SIG0", 0, false},
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
		{[]string{"cpu:"}, map[string]string{"cpu": ""}, true}, // the container's own cgroup, as with runc
		{[]string{",cpu:a"}, nil, false},
		{[]string{"cpu:a", "cpu:b"}, nil, false},
	} {
		got, err := ParseSubCgroups(tc.in)
		if (err == nil) != tc.ok || (tc.ok && !reflect.DeepEqual(got, tc.want)) {
			t.Errorf("ParseSubCgroups(%q) = %v, %v; want %v ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestUpdateResources(t *testing.T) {
	i64 := func(v int64) *int64 { return &v }
	u64 := func(v uint64) *uint64 { return &v }
	u16 := func(v uint16) *uint16 { return &v }
	dev := func(minor int64, rate uint64) specs.LinuxThrottleDevice {
		return specs.LinuxThrottleDevice{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 8, Minor: minor}, Rate: rate}
	}
	pids := int64(50)
	idle := int64(1)
	w512 := cgroups.ConvertCPUSharesToCgroupV2Value(512)
	cur := func() *cgroups.Resources {
		return &cgroups.Resources{
			Memory: 100, MemorySwap: 200, CpuShares: 1024, CpuWeight: 39, CpuQuota: 5000, CpuPeriod: 10000,
			BlkioWeight: 500, PidsLimit: &pids, CPUIdle: &idle,
			// The same device twice, as a config may list it.
			BlkioThrottleReadBpsDevice: []*cgroups.ThrottleDevice{
				cgroups.NewThrottleDevice(8, 0, 1), cgroups.NewThrottleDevice(8, 0, 2), cgroups.NewThrottleDevice(8, 16, 3),
			},
		}
	}
	for _, tc := range []struct {
		name   string
		in     specs.LinuxResources
		write  cgroups.Resources // what is written; SkipDevices is always set
		merged func(*cgroups.Resources)
	}{
		{"zeros write nothing", specs.LinuxResources{
			Memory:  &specs.LinuxMemory{Limit: i64(0), Reservation: i64(0)},
			CPU:     &specs.LinuxCPU{Shares: u64(0), Quota: i64(0), Period: u64(0)},
			BlockIO: &specs.LinuxBlockIO{Weight: u16(0)},
		}, cgroups.Resources{}, func(*cgroups.Resources) {}},
		{"memory limit, with the current swap", specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(300)}},
			cgroups.Resources{Memory: 300, MemorySwap: 200}, func(r *cgroups.Resources) { r.Memory = 300 }},
		{"swap, with the current memory", specs.LinuxResources{Memory: &specs.LinuxMemory{Swap: i64(400)}},
			cgroups.Resources{Memory: 100, MemorySwap: 400}, func(r *cgroups.Resources) { r.MemorySwap = 400 }},
		{"unlimited memory", specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(-1)}},
			cgroups.Resources{Memory: -1}, func(r *cgroups.Resources) { r.Memory = -1 }},
		{"shares alone: idle is not rewritten", specs.LinuxResources{CPU: &specs.LinuxCPU{Shares: u64(512)}},
			cgroups.Resources{CpuShares: 512, CpuWeight: w512}, func(r *cgroups.Resources) { r.CpuShares, r.CpuWeight = 512, w512 }},
		{"idle alone: shares are not rewritten", specs.LinuxResources{CPU: &specs.LinuxCPU{Idle: i64(0)}},
			cgroups.Resources{CPUIdle: i64(0)}, func(r *cgroups.Resources) { r.CPUIdle = i64(0) }},
		{"quota, with the current period", specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: i64(2000)}},
			cgroups.Resources{CpuQuota: 2000, CpuPeriod: 10000}, func(r *cgroups.Resources) { r.CpuQuota = 2000 }},
		{"period, with the current quota", specs.LinuxResources{CPU: &specs.LinuxCPU{Period: u64(20000)}},
			cgroups.Resources{CpuQuota: 5000, CpuPeriod: 20000}, func(r *cgroups.Resources) { r.CpuPeriod = 20000 }},
		{"pids 0 is a limit, as at create", specs.LinuxResources{Pids: &specs.LinuxPids{Limit: i64(0)}},
			cgroups.Resources{PidsLimit: i64(0)}, func(r *cgroups.Resources) { r.PidsLimit = i64(0) }},
		{"pids unlimited", specs.LinuxResources{Pids: &specs.LinuxPids{Limit: i64(-1)}},
			cgroups.Resources{PidsLimit: i64(-1)}, func(r *cgroups.Resources) { r.PidsLimit = i64(-1) }},
		{"a device listed twice: both entries change, one write", specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{
			ThrottleReadBpsDevice: []specs.LinuxThrottleDevice{dev(0, 10), dev(0, 20), dev(32, 5)},
		}}, cgroups.Resources{BlkioThrottleReadBpsDevice: []*cgroups.ThrottleDevice{
			cgroups.NewThrottleDevice(8, 0, 20), cgroups.NewThrottleDevice(8, 32, 5),
		}}, func(r *cgroups.Resources) {
			r.BlkioThrottleReadBpsDevice = []*cgroups.ThrottleDevice{
				cgroups.NewThrottleDevice(8, 0, 20), cgroups.NewThrottleDevice(8, 0, 20),
				cgroups.NewThrottleDevice(8, 16, 3), cgroups.NewThrottleDevice(8, 32, 5),
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			delta := requested(&tc.in, cur())
			want := tc.write
			want.SkipDevices = true
			if !reflect.DeepEqual(*delta, want) {
				t.Errorf("written:\n got %+v\nwant %+v", *delta, want)
			}
			wantMerged := cur()
			tc.merged(wantMerged)
			if got := mergeResources(cur(), delta); !reflect.DeepEqual(got, wantMerged) {
				t.Errorf("after the update:\n got %+v\nwant %+v", got, wantMerged)
			}
		})
	}
}
