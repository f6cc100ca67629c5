package main

import (
	"net"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// serveFDSocket listens on path for one connection that passes file
// descriptors (a console socket's pty master, a pidfd socket's pidfd), and
// closes what it receives. stop ends it.
func serveFDSocket(path string) (stop func()) {
	_ = os.Remove(path)
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return func() {}
	}
	done := make(chan struct{})
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
			for _, fd := range fds {
				_ = unix.Close(fd)
			}
		}
	}()
	return func() {
		ln.Close()
		<-done
	}
}
