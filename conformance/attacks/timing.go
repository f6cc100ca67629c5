package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mini-isolate/mini-isolate/internal/testutil"
)

// slack scales a wait set on a fast machine of this kind to this host
// (testutil.Slowness): waits for a box to start or for the kernel to reap
// must not turn a slow host into a failed attack.
func slack(d time.Duration) time.Duration { return testutil.Slack(d) }

// pidScan is how far sig_kill sweeps pids, and the limits that give it
// time to finish: every pid that a host process has now, with room for
// those started during the suite, up to the host's pid_max. The cost is
// measured on the bare host first, with signal 0 (nothing is delivered),
// so that a slow host or one with pids in the millions gets the time the
// sweep needs instead of a timeout.
type pidScan struct {
	top       int
	cpu, wall string // -t and -w in seconds
}

func measurePidScan() (pidScan, error) {
	top := 0
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return pidScan{}, err
	}
	for _, e := range entries {
		if n, err := strconv.Atoi(e.Name()); err == nil && n > top {
			top = n
		}
	}
	top += 4096
	if data, err := os.ReadFile("/proc/sys/kernel/pid_max"); err == nil {
		if max, err := strconv.Atoi(strings.TrimSpace(string(data))); err == nil && top > max {
			top = max
		}
	}
	began := time.Now()
	for p := 2; p <= top; p++ {
		_ = unix.Kill(p, 0)
	}
	bare := time.Since(began)
	// Ten times the bare cost covers seccomp's filter on every call and a
	// busy host; two seconds is the floor the attacks had.
	cpu := max(2*time.Second, 10*bare)
	return pidScan{top: top, cpu: fmt.Sprintf("%.1f", cpu.Seconds()), wall: fmt.Sprintf("%.1f", (2*cpu + 3*time.Second).Seconds())}, nil
}
