package runtime

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/opencontainers/cgroups"
	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/types"
)

// Stats returns the container's resource usage in runc's event format.
func (r *Runtime) Stats(id string) (*types.Stats, error) {
	c, err := r.load(id)
	if err != nil {
		return nil, err
	}
	return statsOf(c)
}

func statsOf(c *libcontainer.Container) (*types.Stats, error) {
	st, err := c.Status()
	if err != nil {
		return nil, err
	}
	if st == libcontainer.Stopped {
		return nil, fmt.Errorf("container with id %s is not running", c.ID())
	}
	s, err := c.Stats()
	if err != nil {
		return nil, fmt.Errorf("stats of %s: %w", c.ID(), err)
	}
	return convertStats(s.CgroupStats), nil
}

// Events sends a stats event every interval and an oom event whenever the
// kernel OOM-kills in the container, until the container stops or ctx ends.
func (r *Runtime) Events(ctx context.Context, id string, interval time.Duration, emit func(*types.Event) error) error {
	if interval <= 0 {
		return errors.New("duration interval must be greater than 0")
	}
	c, err := r.load(id)
	if err != nil {
		return err
	}
	if _, err := statsOf(c); err != nil {
		return err
	}
	var oom <-chan struct{}
	if ch, err := c.NotifyOOM(); err == nil {
		oom = ch
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case _, ok := <-oom:
			if !ok {
				// The notifier closes when the cgroup goes away.
				return nil
			}
			if err := emit(&types.Event{Type: "oom", ID: id}); err != nil {
				return err
			}
		case <-tick.C:
			s, err := statsOf(c)
			if err != nil {
				if st, serr := c.Status(); serr == nil && st == libcontainer.Stopped {
					return nil
				}
				return err
			}
			if err := emit(&types.Event{Type: "stats", ID: id, Data: s}); err != nil {
				return err
			}
		}
	}
}

func convertStats(cg *cgroups.Stats) *types.Stats {
	var s types.Stats
	if cg == nil {
		return &s
	}
	cpu := cg.CpuStats
	s.CPU.Usage = types.CpuUsage{
		Total:        cpu.CpuUsage.TotalUsage,
		Percpu:       cpu.CpuUsage.PercpuUsage,
		PercpuKernel: cpu.CpuUsage.PercpuUsageInKernelmode,
		PercpuUser:   cpu.CpuUsage.PercpuUsageInUsermode,
		Kernel:       cpu.CpuUsage.UsageInKernelmode,
		User:         cpu.CpuUsage.UsageInUsermode,
	}
	s.CPU.Throttling = types.Throttling{
		Periods:          cpu.ThrottlingData.Periods,
		ThrottledPeriods: cpu.ThrottlingData.ThrottledPeriods,
		ThrottledTime:    cpu.ThrottlingData.ThrottledTime,
	}
	s.CPU.PSI = cpu.PSI

	mem := cg.MemoryStats
	entry := func(d cgroups.MemoryData) types.MemoryEntry {
		return types.MemoryEntry{Limit: d.Limit, Usage: d.Usage, Max: d.MaxUsage, Failcnt: d.Failcnt}
	}
	s.Memory = types.Memory{
		Cache:     mem.Cache,
		Usage:     entry(mem.Usage),
		Swap:      entry(mem.SwapUsage),
		Kernel:    entry(mem.KernelUsage),
		KernelTCP: entry(mem.KernelTCPUsage),
		Raw:       mem.Stats,
		PSI:       mem.PSI,
	}

	s.Pids = types.Pids{Current: cg.PidsStats.Current, Limit: cg.PidsStats.Limit}

	blk := func(in []cgroups.BlkioStatEntry) []types.BlkioEntry {
		out := make([]types.BlkioEntry, 0, len(in))
		for _, e := range in {
			out = append(out, types.BlkioEntry{Major: e.Major, Minor: e.Minor, Op: e.Op, Value: e.Value})
		}
		return out
	}
	b := cg.BlkioStats
	s.Blkio = types.Blkio{
		IoServiceBytesRecursive: blk(b.IoServiceBytesRecursive),
		IoServicedRecursive:     blk(b.IoServicedRecursive),
		IoQueuedRecursive:       blk(b.IoQueuedRecursive),
		IoServiceTimeRecursive:  blk(b.IoServiceTimeRecursive),
		IoWaitTimeRecursive:     blk(b.IoWaitTimeRecursive),
		IoMergedRecursive:       blk(b.IoMergedRecursive),
		IoTimeRecursive:         blk(b.IoTimeRecursive),
		SectorsRecursive:        blk(b.SectorsRecursive),
		PSI:                     b.PSI,
	}

	s.Hugetlb = make(map[string]types.Hugetlb, len(cg.HugetlbStats))
	for size, h := range cg.HugetlbStats {
		s.Hugetlb[size] = types.Hugetlb{Usage: h.Usage, Max: h.MaxUsage, Failcnt: h.Failcnt}
	}
	return &s
}
