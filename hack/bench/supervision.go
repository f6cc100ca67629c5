package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/mini-isolate/mini-isolate/manager"
	"github.com/mini-isolate/mini-isolate/policy"
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
	before := procCPU(mgrPid) + procCPU(initPid)
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
			cpu := procCPU(mgrPid) + procCPU(initPid) - before
			return supervisionCost{cpu: cpu, rssKiB: peak, anonKiB: peakAnon, elapsed: time.Since(t0)}, err
		case <-tick.C:
		}
		mr, ma := procRSS(mgrPid)
		ir, ia := procRSS(initPid)
		if mr+ir > peak {
			peak, peakAnon = mr+ir, ma+ia
		}
	}
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

// procCPU is a process's user plus system time.
func procCPU(pid int) time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil || pid <= 0 {
		return 0
	}
	s := string(data)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(fields) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond // USER_HZ is 100
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
