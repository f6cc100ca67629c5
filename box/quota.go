package box

import (
	"errors"
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// From <linux/quota.h>: quotactl commands and the dqblk of Q_SETQUOTA.
const (
	qSetQuota = 0x800008
	usrQuota  = 0
	qifLimits = 0x5 // QIF_BLIMITS | QIF_ILIMITS
)

type ifDqblk struct {
	BHardLimit, BSoftLimit, CurSpace, IHardLimit, ISoftLimit, CurInodes, BTime, ITime uint64
	Valid                                                                             uint32
	_                                                                                 uint32
}

// setQuota limits the box user's disk use on the filesystem holding dir to
// blocks KiB and inodes files, as isolate's --quota does.
func setQuota(dir string, uid int, blocks, inodes uint64) error {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("quota: %w", err)
	}
	defer unix.Close(fd)
	q := ifDqblk{BHardLimit: blocks, BSoftLimit: blocks, IHardLimit: inodes, ISoftLimit: inodes, Valid: qifLimits}
	cmd := uintptr(qSetQuota<<8 | usrQuota)
	_, _, errno := unix.Syscall6(unix.SYS_QUOTACTL_FD, uintptr(fd), cmd, uintptr(uid), uintptr(unsafe.Pointer(&q)), 0, 0)
	switch {
	case errno == 0:
		return nil
	case errors.Is(errno, unix.ESRCH), errors.Is(errno, unix.ENOSYS), errors.Is(errno, unix.ENOTSUP):
		return fmt.Errorf("cannot set disk quota: quotas have not been enabled for the filesystem of %s", dir)
	}
	return fmt.Errorf("cannot set disk quota: %w", errno)
}
