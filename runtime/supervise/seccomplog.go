package supervise

import (
	"bufio"
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/mini-isolate/mini-isolate/internal/kmsg"
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
// is reaped: the log is followed for up to wait, never longer (a program
// that raised SIGSYS itself left no record).
func findSeccompKill(pid int, since, wait time.Duration) (seccompKill, bool) {
	r, err := kmsg.Open()
	if err != nil {
		return seccompKill{}, false
	}
	defer r.Close()
	var k seccompKill
	found := r.Find(wait, func(rec []byte) bool {
		var ok bool
		k, ok = parseSeccompRecord(rec, pid, since)
		return ok
	})
	return k, found
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
