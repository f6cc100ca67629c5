// Package kmsg reads the kernel log, /dev/kmsg, record by record, without
// ever blocking.
package kmsg

import (
	"errors"
	"io"
	"time"

	"golang.org/x/sys/unix"
)

// Reader reads the kernel log through a raw non-blocking descriptor. An
// *os.File would not do: Go's poller turns a read at the log's end into a
// wait for the kernel's next message, however long that takes.
type Reader struct{ fd int }

// Open opens the log at its oldest record.
func Open() (*Reader, error) {
	fd, err := unix.Open("/dev/kmsg", unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	return &Reader{fd: fd}, nil
}

// SeekEnd moves past every record logged so far: a position, which,
// unlike the records' timestamps (the scheduler's clock), needs no
// comparison with another clock.
func (r *Reader) SeekEnd() error {
	_, err := unix.Seek(r.fd, 0, io.SeekEnd)
	return err
}

// Close closes the log.
func (r *Reader) Close() error { return unix.Close(r.fd) }

// Find reads records until match accepts one, and says whether it did. At
// the log's end it polls for new records until wait has passed since the
// call. Records overwritten while it reads are skipped.
func (r *Reader) Find(wait time.Duration, match func(rec []byte) bool) bool {
	deadline := time.Now().Add(wait)
	buf := make([]byte, 8192)
	for {
		n, err := unix.Read(r.fd, buf)
		switch {
		case err == nil && n > 0:
			if match(buf[:n]) {
				return true
			}
		case errors.Is(err, unix.EPIPE), errors.Is(err, unix.EINTR):
		case errors.Is(err, unix.EAGAIN):
			if time.Now().After(deadline) {
				return false
			}
			time.Sleep(5 * time.Millisecond)
		default:
			return false
		}
	}
}
