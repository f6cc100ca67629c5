package main

import (
	"net"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// serveFDSocket listens on path for one connection that passes file
// descriptors (a console socket's pty master, a pidfd socket's pidfd), and
// holds what it receives until stop, as an orchestrator does: a pty
// master closed at once hangs the terminal up under a runtime still
// setting up the process on it, which then fails (runc and mini-isolate
// alike) with EIO or a reset connection, by chance of timing.
func serveFDSocket(path string) (stop func()) {
	_ = os.Remove(path)
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return func() {}
	}
	done := make(chan struct{})
	var held []int
	go func() {
		defer close(done)
		_ = ln.SetDeadline(time.Now().Add(stepTimeout))
		conn, err := ln.AcceptUnix()
		if err != nil {
			return
		}
		defer conn.Close()
		buf, oob := make([]byte, 4096), make([]byte, unix.CmsgSpace(4*8))
		_, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
		if err != nil {
			return
		}
		msgs, _ := unix.ParseSocketControlMessage(oob[:oobn])
		for _, m := range msgs {
			fds, _ := unix.ParseUnixRights(&m)
			held = append(held, fds...)
		}
	}()
	return func() {
		ln.Close()
		<-done
		for _, fd := range held {
			_ = unix.Close(fd)
		}
	}
}
