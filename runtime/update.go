package runtime

import (
	"fmt"

	"github.com/opencontainers/cgroups"
	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runtime-spec/specs-go"
	"github.com/sirupsen/logrus"

	"github.com/mini-isolate/mini-isolate/policy"
	"github.com/mini-isolate/mini-isolate/runtime/judged"
	"github.com/mini-isolate/mini-isolate/runtime/supervise"
	"github.com/mini-isolate/mini-isolate/specconv"
)

// Update changes the cgroup limits of a created, running or paused
// container. Each value means what it means at create (a pids limit of 0
// is 1 process, -1 is unlimited); an absent value, or a zero where the
// kernel has no zero (memory, CPU shares and weights), is left alone.
// Only what was asked is written, so that a setting the kernel now
// refuses (cpu.shares while cpu.idle is 1) cannot block an unrelated one.
// The values that go with another (memory with swap, quota with period)
// are taken from the current settings, as runc does.
func (r *Runtime) Update(id string, res *specs.LinuxResources) error {
	c, err := r.load(id)
	if err != nil {
		return err
	}
	if res == nil {
		return nil
	}
	if err := specconv.ValidateResources(res, "resources"); err != nil {
		return err
	}
	if status, err := c.Status(); err != nil {
		return fmt.Errorf("update %s: %w", id, err)
	} else if status == libcontainer.Stopped {
		return fmt.Errorf("update %s: %w", id, libcontainer.ErrNotRunning)
	}
	sc, err := r.readSidecar(id)
	if err != nil {
		return err
	}
	cur := sc.Resources
	if cur == nil {
		cur = c.Config().Cgroups.Resources
	}
	delta := requested(res, cur)
	merged := mergeResources(cur, delta)
	if sc.Judge != nil {
		if err := updateRunCgroup(c, sc.Judge, delta); err != nil {
			return fmt.Errorf("update %s: %w", id, err)
		}
	}
	m, err := cgroupOf(c)
	if err != nil {
		return fmt.Errorf("update %s: %w", id, err)
	}
	if err := m.Set(delta); err != nil {
		return fmt.Errorf("update %s: %w", id, err)
	}
	sc.Resources = merged
	return r.writeSidecar(id, sc)
}

// updateRunCgroup moves a judged container's memory and pids limits to
// the run's cgroup, where the supervisor enforces them, and leaves the
// container's own cgroup the limits plus the init's headroom. The run's
// cgroup goes first: a smaller limit must hold before the container's
// shrinks.
func updateRunCgroup(c *libcontainer.Container, j *judged.State, delta *cgroups.Resources) error {
	var memory, pids int64 // for the run's cgroup: 0 unchanged, -1 unlimited
	if delta.Memory != 0 {
		memory = delta.Memory
		j.Limits.Memory = policy.Size(max(memory, 0))
	}
	if delta.PidsLimit != nil {
		pids = *delta.PidsLimit
		if pids == 0 {
			pids = 1 // as the cgroup library writes it
		}
		j.Limits.Processes = max(pids, 0)
	}
	if memory == 0 && pids == 0 {
		return nil
	}
	var outer policy.Limits
	if memory > 0 {
		outer.Memory = j.Limits.Memory
	}
	if pids > 0 {
		outer.Processes = j.Limits.Processes
	}
	judged.OuterLimits(delta, outer)
	if memory < 0 {
		delta.Memory, delta.MemorySwap = -1, -1
	}
	st, err := c.State()
	if err != nil {
		return err
	}
	return supervise.SetRunLimits(st.CgroupPaths, "", cgroups.IsCgroup2UnifiedMode(), memory, pids)
}

// requested turns an update into the cgroup settings to write, with the
// current values that must be written with them.
func requested(res *specs.LinuxResources, cur *cgroups.Resources) *cgroups.Resources {
	d := &cgroups.Resources{SkipDevices: true}
	if res == nil {
		return d
	}
	requestedMemory(d, res.Memory, cur)
	requestedCPU(d, res.CPU, cur)
	if p := res.Pids; p != nil && p.Limit != nil {
		limit := *p.Limit
		d.PidsLimit = &limit
	}
	if b := res.BlockIO; b != nil {
		d.BlkioWeight = deref(b.Weight)
		d.BlkioLeafWeight = deref(b.LeafWeight)
		for _, wd := range b.WeightDevice {
			w := cgroups.NewWeightDevice(wd.Major, wd.Minor, 0, 0)
			if old := findWeight(cur.BlkioWeightDevice, wd.Major, wd.Minor); old != nil {
				w.Weight, w.LeafWeight = old.Weight, old.LeafWeight
			}
			w.Weight = derefOr(wd.Weight, w.Weight)
			w.LeafWeight = derefOr(wd.LeafWeight, w.LeafWeight)
			d.BlkioWeightDevice = append(d.BlkioWeightDevice, w)
		}
		d.BlkioThrottleReadBpsDevice = throttles(b.ThrottleReadBpsDevice)
		d.BlkioThrottleWriteBpsDevice = throttles(b.ThrottleWriteBpsDevice)
		d.BlkioThrottleReadIOPSDevice = throttles(b.ThrottleReadIOPSDevice)
		d.BlkioThrottleWriteIOPSDevice = throttles(b.ThrottleWriteIOPSDevice)
	}
	if len(res.Unified) > 0 {
		d.Unified = res.Unified
	}
	return d
}

func requestedMemory(d *cgroups.Resources, m *specs.LinuxMemory, cur *cgroups.Resources) {
	if m == nil {
		return
	}
	d.Memory = deref(m.Limit)
	d.MemoryReservation = deref(m.Reservation)
	d.MemorySwap = deref(m.Swap)
	d.MemorySwappiness = m.Swappiness
	if m.CheckBeforeUpdate != nil {
		d.MemoryCheckBeforeUpdate = *m.CheckBeforeUpdate
	}
	switch {
	case d.MemorySwap != 0 && d.Memory == 0:
		// A swap limit is checked against the memory limit.
		d.Memory = cur.Memory
	case d.Memory > 0 && m.Swap == nil:
		d.MemorySwap = cur.MemorySwap
	}
	//lint:ignore SA1019 kernel memory is deprecated; we only say it is ignored.
	if m.Kernel != nil || m.KernelTCP != nil {
		logrus.Warn("kernel memory settings are ignored")
	}
}

func requestedCPU(d *cgroups.Resources, c *specs.LinuxCPU, cur *cgroups.Resources) {
	if c == nil {
		return
	}
	if c.Shares != nil && *c.Shares != 0 {
		d.CpuShares = *c.Shares
		d.CpuWeight = cgroups.ConvertCPUSharesToCgroupV2Value(*c.Shares)
	}
	// Quota and period are one setting in cgroup v2 (cpu.max): the one
	// not given keeps its current value.
	d.CpuQuota, d.CpuPeriod = deref(c.Quota), deref(c.Period)
	switch {
	case d.CpuQuota != 0 && d.CpuPeriod == 0:
		d.CpuPeriod = cur.CpuPeriod
	case d.CpuPeriod != 0 && d.CpuQuota == 0:
		d.CpuQuota = cur.CpuQuota
	}
	d.CpuRtRuntime, d.CpuRtPeriod = deref(c.RealtimeRuntime), deref(c.RealtimePeriod)
	d.CpuBurst = c.Burst
	d.CPUIdle = c.Idle
	d.CpusetCpus, d.CpusetMems = c.Cpus, c.Mems
}

// throttles returns one entry per device, the last given winning.
func throttles(list []specs.LinuxThrottleDevice) []*cgroups.ThrottleDevice {
	var out []*cgroups.ThrottleDevice
	for _, t := range list {
		if old := findThrottle(out, t.Major, t.Minor); old != nil {
			old.Rate = t.Rate
			continue
		}
		out = append(out, cgroups.NewThrottleDevice(t.Major, t.Minor, t.Rate))
	}
	return out
}

// mergeResources is cur with delta applied: the settings the container
// has after the update. Every entry of a device listed twice is updated.
func mergeResources(cur, delta *cgroups.Resources) *cgroups.Resources {
	m := *cur
	setNonZero(&m.Memory, delta.Memory)
	setNonZero(&m.MemorySwap, delta.MemorySwap)
	setNonZero(&m.MemoryReservation, delta.MemoryReservation)
	if delta.MemorySwappiness != nil {
		m.MemorySwappiness = delta.MemorySwappiness
	}
	if delta.CpuShares != 0 {
		m.CpuShares, m.CpuWeight = delta.CpuShares, delta.CpuWeight
	}
	setNonZero(&m.CpuQuota, delta.CpuQuota)
	setNonZero(&m.CpuPeriod, delta.CpuPeriod)
	setNonZero(&m.CpuRtRuntime, delta.CpuRtRuntime)
	setNonZero(&m.CpuRtPeriod, delta.CpuRtPeriod)
	if delta.CpuBurst != nil {
		m.CpuBurst = delta.CpuBurst
	}
	if delta.CPUIdle != nil {
		m.CPUIdle = delta.CPUIdle
	}
	setNonZero(&m.CpusetCpus, delta.CpusetCpus)
	setNonZero(&m.CpusetMems, delta.CpusetMems)
	if delta.PidsLimit != nil {
		m.PidsLimit = delta.PidsLimit
	}
	setNonZero(&m.BlkioWeight, delta.BlkioWeight)
	setNonZero(&m.BlkioLeafWeight, delta.BlkioLeafWeight)
	m.BlkioWeightDevice = mergeWeights(cur.BlkioWeightDevice, delta.BlkioWeightDevice)
	m.BlkioThrottleReadBpsDevice = mergeThrottles(cur.BlkioThrottleReadBpsDevice, delta.BlkioThrottleReadBpsDevice)
	m.BlkioThrottleWriteBpsDevice = mergeThrottles(cur.BlkioThrottleWriteBpsDevice, delta.BlkioThrottleWriteBpsDevice)
	m.BlkioThrottleReadIOPSDevice = mergeThrottles(cur.BlkioThrottleReadIOPSDevice, delta.BlkioThrottleReadIOPSDevice)
	m.BlkioThrottleWriteIOPSDevice = mergeThrottles(cur.BlkioThrottleWriteIOPSDevice, delta.BlkioThrottleWriteIOPSDevice)
	if len(delta.Unified) > 0 {
		m.Unified = map[string]string{}
		for k, v := range cur.Unified {
			m.Unified[k] = v
		}
		for k, v := range delta.Unified {
			m.Unified[k] = v
		}
	}
	m.Devices = nil // recorded in libcontainer's state; never updated
	return &m
}

func mergeWeights(cur, upd []*cgroups.WeightDevice) []*cgroups.WeightDevice {
	if len(cur)+len(upd) == 0 {
		return nil
	}
	out := make([]*cgroups.WeightDevice, 0, len(cur)+len(upd))
	for _, d := range cur {
		c := *d
		if u := findWeight(upd, d.Major, d.Minor); u != nil {
			c.Weight, c.LeafWeight = u.Weight, u.LeafWeight
		}
		out = append(out, &c)
	}
	for _, u := range upd {
		if findWeight(cur, u.Major, u.Minor) == nil {
			out = append(out, u)
		}
	}
	return out
}

func mergeThrottles(cur, upd []*cgroups.ThrottleDevice) []*cgroups.ThrottleDevice {
	if len(cur)+len(upd) == 0 {
		return nil
	}
	out := make([]*cgroups.ThrottleDevice, 0, len(cur)+len(upd))
	for _, d := range cur {
		c := *d
		if u := findThrottle(upd, d.Major, d.Minor); u != nil {
			c.Rate = u.Rate
		}
		out = append(out, &c)
	}
	for _, u := range upd {
		if findThrottle(cur, u.Major, u.Minor) == nil {
			out = append(out, u)
		}
	}
	return out
}

func findWeight(list []*cgroups.WeightDevice, major, minor int64) *cgroups.WeightDevice {
	for _, d := range list {
		if d.Major == major && d.Minor == minor {
			return d
		}
	}
	return nil
}

func findThrottle(list []*cgroups.ThrottleDevice, major, minor int64) *cgroups.ThrottleDevice {
	for _, d := range list {
		if d.Major == major && d.Minor == minor {
			return d
		}
	}
	return nil
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func derefOr[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}

func setNonZero[T comparable](dst *T, v T) {
	var zero T
	if v != zero {
		*dst = v
	}
}
