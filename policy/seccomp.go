package policy

import (
	"fmt"
	"slices"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// SeccompOptions adjust the judge's default seccomp policy.
type SeccompOptions struct {
	// Allow lifts the block on these syscalls (a profile may need, say,
	// unshare for a build tool).
	Allow []string
	// BlockLocks also blocks file locks (fcntl F_SETLK and friends, flock),
	// a channel between boxes that share files, as isolate can.
	BlockLocks bool
}

// Syscalls the judge policy denies, and how. The policy is a deny-list over
// an allow-everything default, as isolate's: allow-lists break whenever a
// libc starts using a new syscall (rseq, clone3, ...).
var (
	// The kernel reads int and unsigned int arguments (socket's family,
	// fcntl's and ioctl's cmd) as 32 bits; comparing all 64 would let a
	// caller slip past with junk in the upper half.
	low32 uint64 = 0xffffffff

	// Privileged or host-wide operations no submission needs: EPERM, as
	// the kernel itself answers an unprivileged caller.
	seccompEPERM = []string{
		"mount", "umount", "umount2", "pivot_root", "chroot", "move_mount", "open_tree", "fsopen",
		"fsconfig", "fsmount", "fspick", "mount_setattr",
		"ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd",
		"bpf", "perf_event_open", "userfaultfd", "fanotify_init", "lookup_dcookie",
		"kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
		"reboot", "swapon", "swapoff", "acct", "quotactl", "quotactl_fd", "nfsservctl",
		"settimeofday", "clock_settime", "clock_adjtime", "adjtimex", "stime",
		"unshare", "setns", "open_by_handle_at", "name_to_handle_at",
		"iopl", "ioperm", "vhangup", "sethostname", "setdomainname", "syslog",
	}
	// What isolate blocks, answered the way isolate does.
	seccompENOSYS = []string{
		"keyctl", "add_key", "request_key",
		"io_uring_setup", "io_uring_enter", "io_uring_register",
	}
)

// JudgeSeccomp is the seccomp policy of judged sandboxes. Blocked calls
// fail with EPERM (privileged operations) or ENOSYS (keyrings and
// io_uring, as isolate); 32-bit and x32 system calls kill the process
// (SIGSYS), because only the native architecture is in the filter.
func JudgeSeccomp(o SeccompOptions) (*specs.LinuxSeccomp, error) {
	known := map[string]bool{}
	for _, n := range append(append([]string{}, seccompEPERM...), seccompENOSYS...) {
		known[n] = true
	}
	for _, n := range []string{"personality", "socket", "fcntl", "flock", "clone", "clone3", "ioctl"} {
		known[n] = true
	}
	for _, n := range o.Allow {
		if !known[n] {
			return nil, fmt.Errorf("seccomp: %q is not a syscall the judge policy blocks", n)
		}
	}
	allowed := func(n string) bool { return slices.Contains(o.Allow, n) }
	keep := func(list []string) []string {
		return slices.DeleteFunc(slices.Clone(list), allowed)
	}
	eperm, enosys := uint(unix.EPERM), uint(unix.ENOSYS)
	s := &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Architectures: []specs.Arch{specs.ArchX86_64},
	}
	if l := keep(seccompEPERM); len(l) > 0 {
		s.Syscalls = append(s.Syscalls, specs.LinuxSyscall{Names: l, Action: specs.ActErrno, ErrnoRet: &eperm})
	}
	if l := keep(seccompENOSYS); len(l) > 0 {
		s.Syscalls = append(s.Syscalls, specs.LinuxSyscall{Names: l, Action: specs.ActErrno, ErrnoRet: &enosys})
	}
	for _, r := range argRules {
		if !allowed(r.name) {
			s.Syscalls = append(s.Syscalls, r.rules()...)
		}
	}
	if o.BlockLocks {
		s.Syscalls = append(s.Syscalls, lockRules()...)
	}
	return s, nil
}

// argRule denies one syscall for some of its arguments.
type argRule struct {
	name  string
	rules func() []specs.LinuxSyscall
}

// argRules deny calls, or some of their arguments, that no namespace
// confines.
var argRules = []argRule{
	// AF_VSOCK reaches the hypervisor, which no namespace isolates.
	{"socket", func() []specs.LinuxSyscall {
		return []specs.LinuxSyscall{errnoIf("socket", unix.EAFNOSUPPORT, specs.LinuxSeccompArg{Index: 0, Value: low32, ValueTwo: unix.AF_VSOCK, Op: specs.OpMaskedEqual})}
	}},
	// Deny the flags that weaken the address-space protections; the query,
	// PER_LINUX32 and UNAME26 still pass. The mask includes bit 31, which
	// no flag uses and the query (0xffffffff) sets, so that the query does
	// not match.
	{"personality", func() []specs.LinuxSyscall {
		var list []specs.LinuxSyscall
		for _, flag := range []uint64{0x0040000 /* ADDR_NO_RANDOMIZE */, 0x0200000 /* READ_IMPLIES_EXEC */, 0x1000000 /* ADDR_LIMIT_3GB */, 0x0800000 /* ADDR_LIMIT_32BIT */, 0x0100000 /* MMAP_PAGE_ZERO */} {
			list = append(list, errnoIf("personality", unix.EPERM, specs.LinuxSeccompArg{Index: 0, Value: flag | 0x80000000, ValueTwo: flag, Op: specs.OpMaskedEqual}))
		}
		return list
	}},
	// unshare is denied above; clone must not create namespaces either.
	// CLONE_NEWTIME shares its bit with the exit signal in clone(2).
	{"clone", func() []specs.LinuxSyscall {
		var list []specs.LinuxSyscall
		for _, flag := range []uint64{unix.CLONE_NEWNS, unix.CLONE_NEWCGROUP, unix.CLONE_NEWUTS, unix.CLONE_NEWIPC,
			unix.CLONE_NEWUSER, unix.CLONE_NEWPID, unix.CLONE_NEWNET} {
			list = append(list, errnoIf("clone", unix.EPERM, specs.LinuxSeccompArg{Index: 0, Value: flag, ValueTwo: flag, Op: specs.OpMaskedEqual}))
		}
		return list
	}},
	// Its flags sit behind a pointer, out of seccomp's reach; libcs fall
	// back to clone on ENOSYS.
	{"clone3", func() []specs.LinuxSyscall {
		enosys := uint(unix.ENOSYS)
		return []specs.LinuxSyscall{{Names: []string{"clone3"}, Action: specs.ActErrno, ErrnoRet: &enosys}}
	}},
	// Terminal ioctls that push input into, or take over, a terminal the
	// sandbox was handed: TIOCSTI, TIOCSCTTY, TIOCLINUX.
	{"ioctl", func() []specs.LinuxSyscall {
		var list []specs.LinuxSyscall
		for _, cmd := range []uint64{unix.TIOCSTI, unix.TIOCSCTTY, unix.TIOCLINUX} {
			list = append(list, errnoIf("ioctl", unix.EPERM, specs.LinuxSeccompArg{Index: 1, Value: low32, ValueTwo: cmd, Op: specs.OpMaskedEqual}))
		}
		return list
	}},
}

// lockRules block file locks, a channel between boxes that share files.
func lockRules() []specs.LinuxSyscall {
	var list []specs.LinuxSyscall
	for _, cmd := range []uint64{unix.F_SETLK, unix.F_SETLKW, unix.F_OFD_SETLK, unix.F_OFD_SETLKW, unix.F_SETLEASE, unix.F_NOTIFY} {
		list = append(list, errnoIf("fcntl", unix.EPERM, specs.LinuxSeccompArg{Index: 1, Value: low32, ValueTwo: cmd, Op: specs.OpMaskedEqual}))
	}
	enosys := uint(unix.ENOSYS)
	return append(list, specs.LinuxSyscall{Names: []string{"flock"}, Action: specs.ActErrno, ErrnoRet: &enosys})
}

// errnoIf fails a call with errno when its argument matches.
func errnoIf(name string, errno unix.Errno, arg specs.LinuxSeccompArg) specs.LinuxSyscall {
	e := uint(errno)
	return specs.LinuxSyscall{Names: []string{name}, Action: specs.ActErrno, ErrnoRet: &e, Args: []specs.LinuxSeccompArg{arg}}
}
