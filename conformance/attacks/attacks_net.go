package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Network: the host listens on TCP and UDP (every address), on an
// abstract unix socket and on a path one; any connection or datagram that
// arrives during an attack fails it.
func netAttacks() []*attack {
	return []*attack{
		{name: "net-host", what: "TCP connect and UDP send to the host's port on 127.0.0.1, ::1, 0.0.0.0, its external addresses, 10.0.2.2, 169.254.169.254, 8.8.8.8", fn: func(c *ctx) {
			b := c.newBox()
			c.install(b, "net_host")
			port := strconv.Itoa(c.s.ln.port)
			r := c.iso(b, nil, append([]string{"./net_host", port}, c.s.hostIPs...)...)
			c.ran(r, "tcp connect 127.0.0.1:"+port, "udp sendto 127.0.0.1:"+port, "tcp connect 169.254.169.254:80")
			for _, ip := range c.s.hostIPs {
				c.ran(r, "tcp connect "+ip+":"+port)
			}
			c.clean(r)
			c.resultf("loopback: %s; host address: %s; nothing reached the host's listeners", tried(r, "tcp connect 127.0.0.1:"+port), firstTried(r, "tcp connect "+at(c.s.hostIPs, 0)))
		}},
		{name: "net-unix", what: "connect to the host's abstract unix socket (stream, dgram, seqpacket) and bind its name; connect to host daemons' and the box's init socket paths", fn: func(c *ctx) {
			b := c.newBox()
			c.install(b, "net_unix")
			r := c.iso(b, nil, "./net_unix", c.s.ln.name, c.s.ln.path)
			c.ran(r, "connect stream abstract @"+c.s.ln.name, "bind the host's abstract name", "connect stream "+c.s.ln.path, "connect stream /box/../.mini-isolate/init.sock", "open /proc/1/fd/3")
			c.clean(r)
			c.resultf("abstract: %s; the host's name is free in the box's namespace; init socket unreachable", tried(r, "connect stream abstract @"+c.s.ln.name))
		}},
		{name: "net-raw", what: "AF_PACKET and raw IP sockets, ICMP to the host, AF_VSOCK to the hypervisor (CID 2), netlink address change, interface down; list interfaces", fn: func(c *ctx) {
			b := c.newBox()
			c.install(b, "net_raw")
			r := c.iso(b, nil, append([]string{"./net_raw", strconv.Itoa(c.s.ln.port)}, c.s.hostIPs...)...)
			c.ran(r, "socket(AF_PACKET, SOCK_RAW)", "socket(AF_VSOCK)", "netlink RTM_NEWADDR on lo", "SIOCSIFFLAGS lo down")
			c.clean(r)
			ifaces, _ := line(r, "IFACES")
			for _, i := range c.s.ifaces {
				for _, seen := range strings.Fields(ifaces) {
					if seen == i {
						c.failf("the box sees the host's interface %s", i)
					}
				}
			}
			c.resultf("interfaces in the box: %s; vsock: %s", ifaces, tried(r, "socket(AF_VSOCK)"))
		}},
		{name: "net-cross-box", what: "two boxes at once: one listens on an abstract unix socket, TCP and UDP on loopback; the other connects, sends, binds the same names", fn: func(c *ctx) {
			a, b := c.newBox(), c.newBox()
			c.install(a, "net_xbox")
			c.install(b, "net_xbox")
			name := "atk-xbox-" + c.s.token
			port := "4123"
			server, release := c.startHeld(a, spec{opts: []string{"-w", "120"}, prog: []string{"./net_xbox", "serve", name, port, "stdin"}})
			if !server.waitFor("LISTENING", 5*time.Second) {
				release()
				server.wait()
				c.fatalf("the listening box did not start")
			}
			r := c.iso(b, nil, "./net_xbox", "reach", name, port)
			release()
			sr := server.wait()
			c.ran(r, "connect the other box's abstract socket", "connect the other box's tcp port", "udp sendto the other box")
			c.ran(sr, "bind abstract", "bind tcp")
			c.clean(r)
			c.clean(sr)
			got, _ := line(sr, "RECEIVED ")
			if got != "0" {
				c.failf("the listening box received %q connections from the other box", got)
			}
			c.resultf("listener received %s; abstract connect: %s, tcp: %s", got, tried(r, "connect the other box's abstract socket"), tried(r, "connect the other box's tcp port"))
		}},
	}
}

// firstTried is tried for the first attempt whose label starts with prefix.
func firstTried(r *res, prefix string) string {
	for _, l := range strings.Split(r.stdout, "\n") {
		if v, ok := strings.CutPrefix(l, "TRY "+prefix); ok {
			if _, after, ok := strings.Cut(v, ": "); ok {
				return strings.Fields(after + " ?")[0]
			}
		}
	}
	return fmt.Sprintf("(no %q)", prefix)
}
