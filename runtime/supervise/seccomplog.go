package supervise

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Audit architectures of the syscalls a seccomp kill reports.
const (
	auditArchX8664 = 0xc000003e
	auditArchI386  = 0x40000003
	x32SyscallBit  = 0x40000000
)

// seccompKill is what the kernel logs when seccomp kills a process.
type seccompKill struct {
	arch    uint32
	syscall int
}

// String names the syscall as the report shows it: "getpid (i386)".
func (k seccompKill) String() string {
	switch {
	case k.arch == auditArchI386:
		return syscallName(k.syscall, "x86") + " (i386)"
	case k.arch == auditArchX8664 && k.syscall&x32SyscallBit != 0:
		return syscallName(k.syscall&^x32SyscallBit, "x32") + " (x32)"
	case k.arch == auditArchX8664:
		return syscallName(k.syscall, "amd64")
	}
	return fmt.Sprintf("syscall %d (audit arch %#x)", k.syscall, k.arch)
}

// findSeccompKill looks in the kernel log for the seccomp kill of pid (a
// host pid) logged at or after since (CLOCK_MONOTONIC). The kernel prints
// it from its audit thread, so it may arrive a moment after the process
// is reaped: the log is followed for up to wait. The log is read through
// a raw non-blocking descriptor: an *os.File would park in Go's poller at
// the log's end, until the kernel's next message, however long that takes
// (forever, for a program that raised SIGSYS itself on a quiet host).
func findSeccompKill(pid int, since, wait time.Duration) (seccompKill, bool) {
	fd, err := unix.Open("/dev/kmsg", unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return seccompKill{}, false
	}
	defer unix.Close(fd)
	deadline := time.Now().Add(wait)
	buf := make([]byte, 8192)
	for {
		n, err := unix.Read(fd, buf)
		switch {
		case err == nil && n > 0:
			if k, ok := parseSeccompRecord(buf[:n], pid, since); ok {
				return k, true
			}
		case errors.Is(err, unix.EPIPE), errors.Is(err, unix.EINTR):
			// Records were overwritten while we read: go on with newer ones.
		case errors.Is(err, unix.EAGAIN):
			if time.Now().After(deadline) {
				return seccompKill{}, false
			}
			time.Sleep(5 * time.Millisecond)
		default:
			return seccompKill{}, false
		}
	}
}

// parseSeccompRecord reads one /dev/kmsg record,
// "PRI,SEQ,USEC,FLAGS;audit: type=1326 ... pid=P ... arch=A syscall=N ...",
// and reports it when it is a seccomp record of pid no older than since.
func parseSeccompRecord(rec []byte, pid int, since time.Duration) (seccompKill, bool) {
	head, msg, ok := bytes.Cut(rec, []byte{';'})
	if !ok || !bytes.Contains(msg, []byte("type=1326 ")) {
		return seccompKill{}, false
	}
	fields := strings.Split(string(head), ",")
	if len(fields) < 3 {
		return seccompKill{}, false
	}
	if usec, err := strconv.ParseInt(fields[2], 10, 64); err != nil || time.Duration(usec)*time.Microsecond < since {
		return seccompKill{}, false
	}
	kv := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(msg))
	sc.Split(bufio.ScanWords)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			kv[k] = v
		}
	}
	if kv["pid"] != strconv.Itoa(pid) {
		return seccompKill{}, false
	}
	arch, err1 := strconv.ParseUint(kv["arch"], 16, 32)
	nr, err2 := strconv.Atoi(kv["syscall"])
	if err1 != nil || err2 != nil {
		return seccompKill{}, false
	}
	return seccompKill{arch: uint32(arch), syscall: nr}, true
}
