package main

import (
	"os"
	"runtime"
	"syscall"
	"testing"
	"time"
)

func rusageCPU(t *testing.T) time.Duration {
	t.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestSchedstatCPU checks the supervision scenario's CPU clock against
// getrusage over 100 ms of burnt CPU: schedstat must agree with it, not
// count ticks.
func TestSchedstatCPU(t *testing.T) {
	// A running thread's schedstat is brought up to date only at a tick or
	// a switch, and getrusage brings the caller's: so getrusage first, and
	// on this thread alone.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	r0 := rusageCPU(t)
	s0, err := schedstatCPU(os.Getpid())
	if err != nil {
		t.Skipf("no schedstat on this kernel: %v", err)
	}
	for start := rusageCPU(t); rusageCPU(t)-start < 100*time.Millisecond; {
	}
	s1, err := schedstatCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	ds, dr := s1-s0, rusageCPU(t)-r0
	if diff := (ds - dr).Abs(); ds < 100*time.Millisecond || diff > 2*time.Millisecond+dr/100 {
		t.Errorf("schedstat counted %v where getrusage counted %v", ds, dr)
	}
	if exact, ok := procCPU(os.Getpid()); !ok || exact < s1 {
		t.Errorf("procCPU = %v, exact %v; want at least %v from schedstat", exact, ok, s1)
	}
}
