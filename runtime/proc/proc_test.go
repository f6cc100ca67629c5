package proc

import (
	"fmt"
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

func TestParseStartTime(t *testing.T) {
	const tail = " 1 1 0 -1 4194560 100 0 0 0 0 0 0 0 0 20 0 1 0 %s 2000 100 18446744073709551615\n"
	for _, c := range []struct {
		name, line string
		want       uint64
		err        bool
	}{
		{"plain", "42 (sh) S" + fmt.Sprintf(tail, "12345"), 12345, false},
		{"a command name with spaces and parentheses", "42 (a) (b c) R" + fmt.Sprintf(tail, "7"), 7, false},
		{"a zombie", "42 (sh) Z" + fmt.Sprintf(tail, "12345"), 0, true},
		{"a dead task", "42 (sh) X" + fmt.Sprintf(tail, "12345"), 0, true},
		{"cut short", "42 (sh) S 1 1 0", 0, true},
		{"no command name", "42 sh S" + fmt.Sprintf(tail, "1"), 0, true},
		{"not a number", "42 (sh) S" + fmt.Sprintf(tail, "x"), 0, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := parseStartTime([]byte(c.line))
			if (err != nil) != c.err || got != c.want {
				t.Errorf("parseStartTime(%q) = %d, %v; want %d, error %v", c.line, got, err, c.want, c.err)
			}
		})
	}
}

// TestStartTimeAsFields checks the in-place read against the fields of
// real stat lines.
func TestStartTimeAsFields(t *testing.T) {
	for _, pid := range []int{1, os.Getpid()} {
		fields, err := Stat(pid)
		if err != nil {
			t.Fatal(err)
		}
		got, err := StartTime(pid)
		if err != nil || fmt.Sprint(got) != fields[19] {
			t.Errorf("pid %d: StartTime = %d, %v; field 22 is %s", pid, got, err, fields[19])
		}
	}
}
