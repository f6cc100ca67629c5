package runtime

import (
	"fmt"

	"github.com/opencontainers/cgroups"
	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/configs"
	"github.com/opencontainers/runtime-spec/specs-go"
	"github.com/sirupsen/logrus"

	"github.com/mini-isolate/mini-isolate/policy"
	"github.com/mini-isolate/mini-isolate/runtime/judged"
	"github.com/mini-isolate/mini-isolate/runtime/supervise"
	"github.com/mini-isolate/mini-isolate/specconv"
)

// Update changes the cgroup limits of a running container. An absent or
// zero field leaves the current value alone (Docker sends explicit zeros
// for what it does not change); -1 means unlimited where the kernel has
// such a value.
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
	sc, err := r.readSidecar(id)
	if err != nil {
		return err
	}
	cfg := c.Config()
	applyResources(cfg.Cgroups.Resources, res)
	// Device rules cannot be updated; do not rewrite what is there.
	cfg.Cgroups.SkipDevices = true
	if sc.Judge != nil {
		return r.updateJudged(c, cfg, sc, res)
	}
	if err := c.Set(cfg); err != nil {
		return fmt.Errorf("update %s: %w", id, err)
	}
	return nil
}

// updateJudged updates a judged container, whose memory and pids limits
// are enforced on the run's cgroup: they land there, and the container's
// own cgroup keeps them plus the headroom its init needs. The new limits
// are recorded for the state.
func (r *Runtime) updateJudged(c *libcontainer.Container, cfg configs.Config, sc *sidecar, res *specs.LinuxResources) error {
	lim := &sc.Judge.Limits
	var memory, pids int64 // for the run's cgroup: 0 unchanged, -1 unlimited
	if m := res.Memory; m != nil && m.Limit != nil && *m.Limit != 0 {
		memory = *m.Limit
		lim.Memory = policy.Size(max(memory, 0))
	}
	if p := res.Pids; p != nil && p.Limit != nil && *p.Limit != 0 {
		pids = *p.Limit
		lim.Processes = max(pids, 0)
	}
	if memory == 0 && pids == 0 {
		if err := c.Set(cfg); err != nil {
			return fmt.Errorf("update %s: %w", c.ID(), err)
		}
		return nil
	}
	outer := cfg.Cgroups.Resources
	if memory < 0 {
		outer.Memory, outer.MemorySwap = -1, -1
	}
	if pids < 0 {
		outer.PidsLimit = &pids
	}
	judged.OuterLimits(outer, *lim)
	st, err := c.State()
	if err != nil {
		return fmt.Errorf("update %s: %w", c.ID(), err)
	}
	v2 := cgroups.IsCgroup2UnifiedMode()
	// The run's cgroup first: a smaller limit must hold before the
	// container's shrinks; a child's limit above its parent's is allowed
	// meanwhile, and the parent's follows at once.
	if err := supervise.SetRunLimits(st.CgroupPaths, "", v2, memory, pids); err != nil {
		return fmt.Errorf("update %s: %w", c.ID(), err)
	}
	if err := c.Set(cfg); err != nil {
		return fmt.Errorf("update %s: %w", c.ID(), err)
	}
	return r.writeSidecar(c.ID(), sc)
}

func applyResources(dst *cgroups.Resources, res *specs.LinuxResources) {
	if m := res.Memory; m != nil {
		setInt(&dst.Memory, m.Limit)
		setInt(&dst.MemoryReservation, m.Reservation)
		setInt(&dst.MemorySwap, m.Swap)
		if m.Limit != nil && *m.Limit == -1 && m.Swap == nil {
			// An unlimited memory limit needs an unlimited swap limit.
			dst.MemorySwap = -1
		}
		if m.Swappiness != nil {
			dst.MemorySwappiness = m.Swappiness
		}
		if m.CheckBeforeUpdate != nil {
			dst.MemoryCheckBeforeUpdate = *m.CheckBeforeUpdate
		}
		//lint:ignore SA1019 kernel memory is deprecated; we only say it is ignored.
		if (m.Kernel != nil && *m.Kernel != 0) || (m.KernelTCP != nil && *m.KernelTCP != 0) {
			logrus.Debug("update: kernel memory limits are not supported and are ignored")
		}
	}
	if c := res.CPU; c != nil {
		if c.Shares != nil && *c.Shares != 0 {
			dst.CpuShares = *c.Shares
			dst.CpuWeight = cgroups.ConvertCPUSharesToCgroupV2Value(*c.Shares)
		}
		setInt(&dst.CpuQuota, c.Quota)
		setUint(&dst.CpuPeriod, c.Period)
		setInt(&dst.CpuRtRuntime, c.RealtimeRuntime)
		setUint(&dst.CpuRtPeriod, c.RealtimePeriod)
		if c.Burst != nil {
			dst.CpuBurst = c.Burst
		}
		if c.Idle != nil {
			dst.CPUIdle = c.Idle
		}
		if c.Cpus != "" {
			dst.CpusetCpus = c.Cpus
		}
		if c.Mems != "" {
			dst.CpusetMems = c.Mems
		}
	}
	if p := res.Pids; p != nil && p.Limit != nil && *p.Limit != 0 {
		limit := *p.Limit
		dst.PidsLimit = &limit
	}
	if b := res.BlockIO; b != nil {
		if b.Weight != nil && *b.Weight != 0 {
			dst.BlkioWeight = *b.Weight
		}
		if b.LeafWeight != nil && *b.LeafWeight != 0 {
			dst.BlkioLeafWeight = *b.LeafWeight
		}
		for _, wd := range b.WeightDevice {
			dst.BlkioWeightDevice = upsertWeight(dst.BlkioWeightDevice, wd)
		}
		dst.BlkioThrottleReadBpsDevice = upsertThrottle(dst.BlkioThrottleReadBpsDevice, b.ThrottleReadBpsDevice)
		dst.BlkioThrottleWriteBpsDevice = upsertThrottle(dst.BlkioThrottleWriteBpsDevice, b.ThrottleWriteBpsDevice)
		dst.BlkioThrottleReadIOPSDevice = upsertThrottle(dst.BlkioThrottleReadIOPSDevice, b.ThrottleReadIOPSDevice)
		dst.BlkioThrottleWriteIOPSDevice = upsertThrottle(dst.BlkioThrottleWriteIOPSDevice, b.ThrottleWriteIOPSDevice)
	}
	for k, v := range res.Unified {
		if dst.Unified == nil {
			dst.Unified = map[string]string{}
		}
		dst.Unified[k] = v
	}
}

func setInt(dst *int64, v *int64) {
	if v != nil && *v != 0 {
		*dst = *v
	}
}

func setUint(dst *uint64, v *uint64) {
	if v != nil && *v != 0 {
		*dst = *v
	}
}

func upsertWeight(list []*cgroups.WeightDevice, wd specs.LinuxWeightDevice) []*cgroups.WeightDevice {
	for _, d := range list {
		if d.Major == wd.Major && d.Minor == wd.Minor {
			if wd.Weight != nil {
				d.Weight = *wd.Weight
			}
			if wd.LeafWeight != nil {
				d.LeafWeight = *wd.LeafWeight
			}
			return list
		}
	}
	var w, lw uint16
	if wd.Weight != nil {
		w = *wd.Weight
	}
	if wd.LeafWeight != nil {
		lw = *wd.LeafWeight
	}
	return append(list, cgroups.NewWeightDevice(wd.Major, wd.Minor, w, lw))
}

func upsertThrottle(list []*cgroups.ThrottleDevice, updates []specs.LinuxThrottleDevice) []*cgroups.ThrottleDevice {
next:
	for _, td := range updates {
		for _, d := range list {
			if d.Major == td.Major && d.Minor == td.Minor {
				d.Rate = td.Rate
				continue next
			}
		}
		list = append(list, cgroups.NewThrottleDevice(td.Major, td.Minor, td.Rate))
	}
	return list
}
