package proc

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestOpen(t *testing.T) {
	self := os.Getpid()
	start, err := StartTime(self)
	if err != nil || start == 0 {
		t.Fatalf("start time of self: %d, %v", start, err)
	}
	for _, tc := range []struct {
		name    string
		pid     int
		start   uint64
		wantErr string
	}{
		{"self, checked", self, start, ""},
		{"self, unchecked", self, 0, ""},
		{"reused pid", self, start + 1, "another process"},
		{"no pid", 0, 0, "not a pid"},
		{"no such process", 1 << 30, 0, "process"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fd, err := Open(tc.pid, tc.start)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				defer unix.Close(fd)
				if Exited(fd, 0) {
					t.Error("a live process reads as exited")
				}
				return
			}
			if err == nil {
				unix.Close(fd)
				t.Fatal("opened")
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %q, want %q", err, tc.wantErr)
			}
		})
	}
}

func TestExitedAndZombie(t *testing.T) {
	cmd := exec.Command("/bin/sh", "-c", "read x")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	start, err := StartTime(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	fd, err := Open(cmd.Process.Pid, start)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if Exited(fd, 10*time.Millisecond) {
		t.Fatal("running child reads as exited")
	}
	stdin.Close()
	// Not reaped yet: a zombie has exited, and is gone for StartTime.
	if !Exited(fd, 5*time.Second) {
		t.Error("exited child does not read as exited")
	}
	if _, err := StartTime(cmd.Process.Pid); err == nil {
		t.Error("a zombie has a start time")
	}
	_ = cmd.Wait()
}
