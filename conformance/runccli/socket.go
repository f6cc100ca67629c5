package main

import (
	"net"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// serveFDSocket listens on path for one connection that passes file
// descriptors (a console socket's pty master, a pidfd socket's pidfd).
// stop ends listening and hands back what was received, for the caller to
// hold until the case ends, as an orchestrator holds a console for the
// container's life: a pty master closed early hangs the terminal up, and
// SIGHUP then fails the setup or kills the process, in runc and
// mini-isolate alike, by chance of timing.
func serveFDSocket(path string) (stop func() []int) {
	_ = os.Remove(path)
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return func() []int { return nil }
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
	return func() []int {
		ln.Close()
		<-done
		return held
	}
}
