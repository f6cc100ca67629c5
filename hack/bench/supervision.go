package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/mini-isolate/mini-isolate/manager"
	"github.com/mini-isolate/mini-isolate/policy"
	"github.com/mini-isolate/mini-isolate/runtime/proc"
)

// The supervision scenario runs a program that burns 1 s of CPU through
// the native API, and measures what the manager (the supervisor) and the
// box's judge init use meanwhile: their CPU time, from /proc, and the
// largest sum of their resident sets, sampled every 10 ms.
const (
	scenarioSupervision = "supervision"
	burnMs              = 1000
)

// supervisionCost is what the supervisor and init used during one run.
type supervisionCost struct {
	cpu     time.Duration // supervisor plus init
	ticks   bool          // cpu is in 10 ms ticks, not exact
	rssKiB  int64         // the largest sum of their resident sets
	anonKiB int64         // and of their private (anonymous) parts, at that sample
	elapsed time.Duration
}

// measureSupervision runs the burner rounds times through the manager's
// API and returns each run's cost.
func measureSupervision(ctx context.Context, mgr *boxFrontEnd, progs, cc, tmp string, rounds int, rec *csvRecorder) ([]supervisionCost, error) {
	c, cleanup, err := boxesWithProgram(ctx, mgr, cc, progs, tmp, "burn", apiBox)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	defer cleanup()
	mgrPid, err := c.ServerPID()
	if err != nil {
		return nil, err
	}
	initPid, err := boxInitPid(filepath.Join(filepath.Dir(filepath.Dir(mgr.socket)), "boxes", strconv.Itoa(apiBox)))
	if err != nil {
		return nil, err
	}
	var costs []supervisionCost
	for i := 0; i < rounds && ctx.Err() == nil; i++ {
		cost, err := supervisedRun(c, mgr.cg, mgrPid, initPid)
		if err != nil {
			return costs, err
		}
		costs = append(costs, cost)
		_ = rec.add(scenarioSupervision, "supervisor+init CPU ms", i+1, float64(cost.cpu)/float64(time.Millisecond), 0)
		_ = rec.add(scenarioSupervision, "supervisor+init RSS KiB", i+1, float64(cost.rssKiB), 0)
		_ = rec.add(scenarioSupervision, "supervisor+init private KiB", i+1, float64(cost.anonKiB), 0)
	}
	return costs, nil
}

// supervisedRun runs the burner once, sampling the manager and the init.
func supervisedRun(c *manager.Client, cg bool, mgrPid, initPid int) (supervisionCost, error) {
	spec := &manager.RunSpec{Args: []string{"./burn", strconv.Itoa(burnMs)}}
	spec.Limits.Time = policy.Duration(10 * time.Second)
	done := make(chan error, 1)
	before, exact := cpuOf(mgrPid, initPid)
	t0 := time.Now()
	go func() {
		_, err := c.Do(&manager.Request{Op: "run", Box: apiBox, Cg: cg, Run: spec})
		done <- err
	}()
	var peak, peakAnon int64
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			after, exactAfter := cpuOf(mgrPid, initPid)
			return supervisionCost{cpu: after - before, ticks: !exact || !exactAfter, rssKiB: peak, anonKiB: peakAnon, elapsed: time.Since(t0)}, err
		case <-tick.C:
		}
		mr, ma := procRSS(mgrPid)
		ir, ia := procRSS(initPid)
		if mr+ir > peak {
			peak, peakAnon = mr+ir, ma+ia
		}
	}
}

// cpuOf sums procCPU over pids.
func cpuOf(pids ...int) (time.Duration, bool) {
	var total time.Duration
	exact := true
	for _, pid := range pids {
		d, ok := procCPU(pid)
		total += d
		exact = exact && ok
	}
	return total, exact
}

// boxInitPid reads a box's judge init pid from its container state.
func boxInitPid(boxDir string) (int, error) {
	data, err := os.ReadFile(filepath.Join(boxDir, ".mini-isolate", "container.json"))
	if err != nil {
		return 0, err
	}
	var st struct {
		Target struct {
			InitPid int `json:"initPid"`
		} `json:"target"`
	}
	if err := json.Unmarshal(data, &st); err != nil {
		return 0, err
	}
	return st.Target.InitPid, nil
}

// procCPU is the CPU time a process's threads have used, and whether it
// is exact. It sums each thread's schedstat, in nanoseconds: the user
// and system times of /proc/PID/stat count 10 ms ticks, as coarse as the
// 1 % goal itself, so one tick more or less decides it. Without schedstat
// (a kernel without CONFIG_SCHED_INFO) it falls back to those ticks.
func procCPU(pid int) (time.Duration, bool) {
	if pid <= 0 {
		return 0, true
	}
	if d, err := schedstatCPU(pid); err == nil {
		return d, true
	}
	fields, err := proc.Stat(pid) // from the state field on
	if err != nil || len(fields) < 13 {
		return 0, false
	}
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond, false // USER_HZ is 100
}

// schedstatCPU sums the on-CPU time of pid's threads from
// /proc/PID/task/TID/schedstat. A thread that exits between two calls
// takes its time with it: the manager's threads live as long as it does.
func schedstatCPU(pid int) (time.Duration, error) {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return 0, err
	}
	var total time.Duration
	for _, t := range tasks {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/schedstat", pid, t.Name()))
		if errors.Is(err, os.ErrNotExist) {
			continue // the thread is gone
		}
		if err != nil {
			return 0, err
		}
		f := strings.Fields(string(data))
		if len(f) == 0 {
			return 0, errors.New("empty schedstat")
		}
		ns, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, err
		}
		total += time.Duration(ns)
	}
	return total, nil
}

// procRSS is a process's resident set and its anonymous part, in KiB:
// the rest is file pages, mostly the binary's text, which every process
// of the same binary shares.
func procRSS(pid int) (rss, anon int64) {
	if pid <= 0 {
		return 0, 0
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0
	}
	kib := func(v string) int64 {
		n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
		return n
	}
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			rss = kib(v)
		} else if v, ok := strings.CutPrefix(l, "RssAnon:"); ok {
			anon = kib(v)
		}
	}
	return rss, anon
}
