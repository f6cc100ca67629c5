package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// A scenario that times sub-millisecond differences waits for a quiet
// host first: the scenario before it can leave minutes of work behind
// (the manager refilling and recycling its pool after fifty --init and
// --cleanup cycles), which would land on its rounds and not on the
// baseline's, a bare fork+exec.
const (
	settleWindow = 250 * time.Millisecond
	settleBusy   = 0.2 // CPUs' worth of busy time over a window, at most
	settleMax    = 20 * time.Second
)

// settle waits until the host's CPUs together were busy for at most
// settleBusy of one over a settleWindow (on any number of CPUs: one busy
// thread is what it looks for), or settleMax has passed; it returns how
// long it waited and whether the host got quiet.
func settle(ctx context.Context) (time.Duration, bool, error) {
	start := time.Now()
	prevIdle, prevTotal, err := readCPUStat()
	if err != nil {
		return 0, false, err
	}
	for time.Since(start) < settleMax {
		select {
		case <-ctx.Done():
			return time.Since(start), false, ctx.Err()
		case <-time.After(settleWindow):
		}
		idle, total, err := readCPUStat()
		if err != nil {
			return time.Since(start), false, err
		}
		if quiet(prevIdle, prevTotal, idle, total, runtime.NumCPU()) {
			return time.Since(start), true, nil
		}
		prevIdle, prevTotal = idle, total
	}
	return time.Since(start), false, nil
}

// quiet says whether the CPU time between two readings of /proc/stat
// was busy for at most settleBusy of one of ncpu CPUs. iowait, counted as
// idle, can go backwards: such a window is not taken as quiet.
func quiet(idle0, total0, idle1, total1 uint64, ncpu int) bool {
	if total1 <= total0 || idle1 < idle0 || idle1-idle0 > total1-total0 {
		return false
	}
	busy := float64((total1-total0)-(idle1-idle0)) / float64(total1-total0)
	return busy*float64(ncpu) <= settleBusy
}

func readCPUStat() (idle, total uint64, err error) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, err
	}
	line, _, _ := strings.Cut(string(data), "\n")
	return parseCPUStat(line)
}

// parseCPUStat reads /proc/stat's first line: the time all CPUs spent in
// each state, in ticks. Idle counts idle and iowait; guest time is
// already in user and nice.
func parseCPUStat(line string) (idle, total uint64, err error) {
	f := strings.Fields(line)
	if len(f) < 6 || f[0] != "cpu" {
		return 0, 0, fmt.Errorf("/proc/stat: want the cpu line, got %q", line)
	}
	for i, s := range f[1:min(len(f), 9)] { // user nice system idle iowait irq softirq steal
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("/proc/stat: %w", err)
		}
		total += v
		if i == 3 || i == 4 {
			idle += v
		}
	}
	if total == 0 {
		return 0, 0, errors.New("/proc/stat: no CPU time")
	}
	return idle, total, nil
}
