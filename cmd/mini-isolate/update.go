package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/docker/go-units"
	"github.com/opencontainers/runtime-spec/specs-go"
	"github.com/sirupsen/logrus"
	"github.com/urfave/cli/v2"

	"github.com/mini-isolate/mini-isolate/specconv"
)

var updateCommand = &cli.Command{
	Name:      "update",
	Usage:     "change the resource limits of a running container",
	ArgsUsage: "<container-id>",
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "resources", Aliases: []string{"r"}, Usage: "OCI LinuxResources JSON `FILE` (\"-\" for stdin)"},
		&cli.StringFlag{Name: "blkio-weight", Usage: "block I/O weight, 10 to 1000"},
		&cli.StringFlag{Name: "cpu-period", Usage: "CPU CFS period in microseconds"},
		&cli.StringFlag{Name: "cpu-quota", Usage: "CPU CFS quota in microseconds"},
		&cli.StringFlag{Name: "cpu-share", Usage: "CPU shares (relative weight)"},
		&cli.StringFlag{Name: "cpu-rt-period", Usage: "CPU realtime period in microseconds"},
		&cli.StringFlag{Name: "cpu-rt-runtime", Usage: "CPU realtime runtime in microseconds"},
		&cli.StringFlag{Name: "cpu-burst", Usage: "CPU burst in microseconds"},
		&cli.StringFlag{Name: "cpu-idle", Usage: "set the cgroup's CPU idle flag (0 or 1)"},
		&cli.StringFlag{Name: "cpuset-cpus", Usage: "CPUs to allow, e.g. 0-3 or 0,1"},
		&cli.StringFlag{Name: "cpuset-mems", Usage: "memory nodes to allow, e.g. 0-3 or 0,1"},
		&cli.StringFlag{Name: "memory", Usage: "memory limit, e.g. 256m (-1 for unlimited)"},
		&cli.StringFlag{Name: "memory-reservation", Usage: "memory soft limit"},
		&cli.StringFlag{Name: "memory-swap", Usage: "memory plus swap limit (-1 for unlimited)"},
		&cli.StringFlag{Name: "kernel-memory", Usage: "ignored: kernel memory limits are gone from Linux", Hidden: true},
		&cli.StringFlag{Name: "kernel-memory-tcp", Usage: "ignored: kernel memory limits are gone from Linux", Hidden: true},
		&cli.StringFlag{Name: "pids-limit", Usage: "maximum number of processes (-1 for unlimited)"},
		&cli.StringFlag{Name: "l3-cache-schema", Usage: "Intel RDT L3 cache schema", Hidden: true},
		&cli.StringFlag{Name: "mem-bw-schema", Usage: "Intel RDT memory bandwidth schema", Hidden: true},
	},
	Action: func(c *cli.Context) error {
		if err := checkArgs(c, 1, 1); err != nil {
			return err
		}
		res, err := updateResources(c)
		if err != nil {
			return err
		}
		rt, err := newRuntime(c)
		if err != nil {
			return err
		}
		return rt.Update(c.Args().First(), res)
	},
}

// updateResources reads --resources, then lets the single-value flags
// override it.
func updateResources(c *cli.Context) (*specs.LinuxResources, error) {
	res := &specs.LinuxResources{}
	if path := c.String("resources"); path != "" {
		data, err := readInput(path)
		if err != nil {
			return nil, fmt.Errorf("--resources: %w", err)
		}
		if err := specconv.Decode(data, res); err != nil {
			return nil, fmt.Errorf("--resources: %w", err)
		}
	}
	if c.IsSet("kernel-memory") || c.IsSet("kernel-memory-tcp") {
		logrus.Warn("kernel memory settings are ignored")
	}
	if c.IsSet("l3-cache-schema") || c.IsSet("mem-bw-schema") {
		return nil, errors.New("intel RDT is not available on this host")
	}
	if err := memoryFlags(c, res); err != nil {
		return nil, err
	}
	if err := cpuFlags(c, res); err != nil {
		return nil, err
	}
	if v := c.String("blkio-weight"); v != "" {
		n, err := strconv.ParseUint(v, 10, 16)
		if err != nil {
			return nil, fmt.Errorf("--blkio-weight %q: not a weight", v)
		}
		w := uint16(n)
		if res.BlockIO == nil {
			res.BlockIO = &specs.LinuxBlockIO{}
		}
		res.BlockIO.Weight = &w
	}
	if v := c.String("pids-limit"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("--pids-limit %q: not an integer", v)
		}
		res.Pids = &specs.LinuxPids{Limit: &n}
	}
	return res, nil
}

// memoryFlags applies update's memory flags to res.
func memoryFlags(c *cli.Context, res *specs.LinuxResources) error {
	mem := func() *specs.LinuxMemory {
		if res.Memory == nil {
			res.Memory = &specs.LinuxMemory{}
		}
		return res.Memory
	}
	for _, f := range []struct {
		name string
		dst  func() **int64
	}{
		{"memory", func() **int64 { return &mem().Limit }},
		{"memory-reservation", func() **int64 { return &mem().Reservation }},
		{"memory-swap", func() **int64 { return &mem().Swap }},
	} {
		if v := c.String(f.name); v != "" {
			n, err := parseBytes(v)
			if err != nil {
				return fmt.Errorf("--%s %q: %w", f.name, v, err)
			}
			*f.dst() = &n
		}
	}
	return nil
}

// cpuFlags applies update's CPU flags to res.
func cpuFlags(c *cli.Context, res *specs.LinuxResources) error {
	cpu := func() *specs.LinuxCPU {
		if res.CPU == nil {
			res.CPU = &specs.LinuxCPU{}
		}
		return res.CPU
	}
	for _, f := range []struct {
		name string
		dst  func() **uint64
	}{
		{"cpu-period", func() **uint64 { return &cpu().Period }},
		{"cpu-share", func() **uint64 { return &cpu().Shares }},
		{"cpu-rt-period", func() **uint64 { return &cpu().RealtimePeriod }},
		{"cpu-burst", func() **uint64 { return &cpu().Burst }},
	} {
		if v := c.String(f.name); v != "" {
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				return fmt.Errorf("--%s %q: not a non-negative integer", f.name, v)
			}
			*f.dst() = &n
		}
	}
	for _, f := range []struct {
		name string
		dst  func() **int64
	}{
		{"cpu-quota", func() **int64 { return &cpu().Quota }},
		{"cpu-rt-runtime", func() **int64 { return &cpu().RealtimeRuntime }},
		{"cpu-idle", func() **int64 { return &cpu().Idle }},
	} {
		if v := c.String(f.name); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return fmt.Errorf("--%s %q: not an integer", f.name, v)
			}
			*f.dst() = &n
		}
	}
	if v := c.String("cpuset-cpus"); v != "" {
		cpu().Cpus = v
	}
	if v := c.String("cpuset-mems"); v != "" {
		cpu().Mems = v
	}
	return nil
}

// parseBytes accepts "-1" (unlimited) or a size such as 512m.
func parseBytes(s string) (int64, error) {
	if s == "-1" {
		return -1, nil
	}
	return units.RAMInBytes(s)
}

// readInput reads a JSON document from a file, or from stdin for "-" with
// a bound so that a runaway producer cannot exhaust memory.
func readInput(path string) ([]byte, error) {
	if path != "-" {
		return os.ReadFile(path)
	}
	const limit = 16 << 20
	data, err := io.ReadAll(io.LimitReader(os.Stdin, limit+1))
	if err != nil {
		return nil, err
	}
	if len(data) > limit {
		return nil, fmt.Errorf("input is larger than %d bytes", limit)
	}
	return data, nil
}
