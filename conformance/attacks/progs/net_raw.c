/* Raw and exotic sockets: packet sockets, raw IP, ICMP, the hypervisor's
 * vsock, netlink changes to interfaces and routes; lists the interfaces. */
#include "atk.h"
#include <arpa/inet.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif
struct sockaddr_vm_ {
	unsigned short svm_family, svm_reserved1;
	unsigned int svm_port, svm_cid;
	unsigned char svm_zero[4];
};

int main(int argc, char **argv)
{
	int port = argc > 1 ? atoi(argv[1]) : 1;

	if (try("socket(AF_PACKET, SOCK_RAW)", socket(AF_PACKET, SOCK_RAW, htons(3))) >= 0)
		escape("packet socket\n");
	if (try("socket(AF_INET, SOCK_RAW, ICMP)", socket(AF_INET, SOCK_RAW, IPPROTO_ICMP)) >= 0)
		escape("raw IP socket\n");
	int ping = socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP);
	try("socket(AF_INET, SOCK_DGRAM, ICMP)", ping);
	if (ping >= 0) {
		struct sockaddr_in sa = {.sin_family = AF_INET};
		unsigned char echo[8] = {8, 0, 0, 0, 0, 1, 0, 1};
		for (int i = 2; i < argc; i++) {
			if (strchr(argv[i], ':'))
				continue;
			inet_pton(AF_INET, argv[i], &sa.sin_addr);
			tryf(sendto(ping, echo, sizeof(echo), 0, (struct sockaddr *)&sa, sizeof(sa)), "ping %s", argv[i]);
		}
	}
	int v = socket(AF_VSOCK, SOCK_STREAM, 0);
	try("socket(AF_VSOCK)", v);
	if (v >= 0) {
		struct sockaddr_vm_ vm = {.svm_family = AF_VSOCK, .svm_port = (unsigned)port, .svm_cid = 2};
		if (try("vsock connect host", connect(v, (struct sockaddr *)&vm, sizeof(vm))) >= 0)
			escape("reached the hypervisor through vsock\n");
	}
	/* Add an address to lo over rtnetlink: needs CAP_NET_ADMIN. */
	int nl = socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
	struct {
		struct nlmsghdr n;
		struct ifaddrmsg a;
		struct rtattr r;
		struct in_addr addr;
	} req = {
	    .n = {.nlmsg_len = sizeof(req), .nlmsg_type = RTM_NEWADDR, .nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE},
	    .a = {.ifa_family = AF_INET, .ifa_prefixlen = 24, .ifa_index = 1},
	    .r = {.rta_len = RTA_LENGTH(4), .rta_type = IFA_LOCAL},
	};
	inet_pton(AF_INET, "192.0.2.77", &req.addr);
	struct sockaddr_nl k = {.nl_family = AF_NETLINK};
	sendto(nl, &req, sizeof(req), 0, (struct sockaddr *)&k, sizeof(k));
	char buf[4096];
	ssize_t n = recv(nl, buf, sizeof(buf), 0);
	if (n >= (ssize_t)sizeof(struct nlmsghdr)) {
		struct nlmsghdr *h = (void *)buf;
		int err = h->nlmsg_type == NLMSG_ERROR ? ((struct nlmsgerr *)NLMSG_DATA(h))->error : 0;
		out("TRY netlink RTM_NEWADDR on lo: %s\n", err ? ename(-err) : "ok");
	}
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	struct ifreq ifr = {0};
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	ifr.ifr_flags = 0;
	if (try("SIOCSIFFLAGS lo down", ioctl(s, SIOCSIFFLAGS, &ifr)) >= 0)
		escape("changed an interface\n");
	struct if_nameindex *ifs = if_nameindex();
	out("TRY list interfaces: ok\nIFACES");
	for (struct if_nameindex *i = ifs; i && i->if_index; i++)
		out(" %s", i->if_name);
	out("\n");
	done();
	return 0;
}
