// Network plumbing by netlink, without ip(8) or nft(8): bridges, veth pairs, addresses, routes
// (rtnetlink), and the NAT and isolation rules of the network keeper's namespace (nf_tables).
// The keeper (keeper.c) sets up its namespace with these; the supervisor connects a container to
// its bridges (bridge_attach). See README.md, "Bridge networks".
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "shim.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- messages ------------------------------------------------------------------------------------ */

struct msg {
	char buf[8192];
	size_t len;     // of the whole batch
	size_t start;   // where the current message begins
	unsigned seq;
};

static struct nlmsghdr *cur(struct msg *m)
{
	return (struct nlmsghdr *)(m->buf + m->start);
}

/* A new message in the batch, with its fixed header of `hdrlen` bytes (zeroed) after nlmsghdr. */
static void *msg_begin(struct msg *m, int type, int flags, size_t hdrlen)
{
	m->start = m->len;
	struct nlmsghdr *h = cur(m);
	memset(h, 0, NLMSG_SPACE(hdrlen));
	h->nlmsg_type = (uint16_t)type;
	h->nlmsg_flags = (uint16_t)(NLM_F_REQUEST | flags);
	h->nlmsg_seq = ++m->seq;
	h->nlmsg_len = (uint32_t)NLMSG_LENGTH(hdrlen);
	m->len += NLMSG_ALIGN(h->nlmsg_len);
	return NLMSG_DATA(h);
}

static struct nlattr *put(struct msg *m, int type, const void *data, size_t len)
{
	struct nlmsghdr *h = cur(m);
	struct nlattr *a = (struct nlattr *)(m->buf + m->start + NLMSG_ALIGN(h->nlmsg_len));
	if (m->start + NLMSG_ALIGN(h->nlmsg_len) + NLA_ALIGN(NLA_HDRLEN + len) > sizeof(m->buf))
		die_detail("netlink", NULL, E2BIG, "message too long");
	a->nla_type = (uint16_t)type;
	a->nla_len = (uint16_t)(NLA_HDRLEN + len);
	if (len)
		memcpy((char *)a + NLA_HDRLEN, data, len);
	memset((char *)a + NLA_HDRLEN + len, 0, NLA_ALIGN(a->nla_len) - a->nla_len);
	h->nlmsg_len = (uint32_t)(NLMSG_ALIGN(h->nlmsg_len) + NLA_ALIGN(a->nla_len));
	m->len = m->start + NLMSG_ALIGN(h->nlmsg_len);
	return a;
}

static void put_str(struct msg *m, int type, const char *s)
{
	put(m, type, s, strlen(s) + 1);
}

static void put_u32(struct msg *m, int type, uint32_t v)
{
	put(m, type, &v, sizeof(v));
}

static void put_be32(struct msg *m, int type, uint32_t v)
{
	v = htonl(v);
	put(m, type, &v, sizeof(v));
}

static struct nlattr *nest(struct msg *m, int type)
{
	return put(m, type | NLA_F_NESTED, NULL, 0);
}

static void nest_end(struct msg *m, struct nlattr *a)
{
	a->nla_len = (uint16_t)((m->buf + m->start + cur(m)->nlmsg_len) - (char *)a);
}

static int nl_open(int proto)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, proto);
	if (fd < 0)
		die_errno("netlink", NULL, errno);
	return fd;
}

/* Send the batch and read an answer for every message that asked for one: 0, or the first -errno. */
static int talk(int fd, struct msg *m)
{
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	if (sendto(fd, m->buf, m->len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0)
		return -errno;
	unsigned want = 0;
	for (size_t off = 0; off < m->len;) {
		struct nlmsghdr *h = (struct nlmsghdr *)(m->buf + off);
		if (h->nlmsg_flags & NLM_F_ACK)
			want++;
		off += NLMSG_ALIGN(h->nlmsg_len);
	}
	int result = 0;
	char buf[8192];
	while (want) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (unsigned)n); h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_type != NLMSG_ERROR)
				continue;
			int err = ((struct nlmsgerr *)NLMSG_DATA(h))->error;
			if (err && !result)
				result = err;
			want--;
		}
	}
	m->len = 0;
	return result;
}

/* ---- rtnetlink ----------------------------------------------------------------------------------- */

static struct ifinfomsg *link_msg(struct msg *m, int flags, int index)
{
	struct ifinfomsg *ifi = msg_begin(m, RTM_NEWLINK, NLM_F_ACK | flags, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = index;
	return ifi;
}

static void check(int r, const char *op, const char *what)
{
	if (r < 0)
		die_errno(op, what, -r);
}

/* The bridge `name` (made now, or already there), up, with `gateway/prefix` as its address. */
static int ensure_bridge(int fd, const char *name, const char *gateway, int prefix, int mtu)
{
	struct msg m = { .len = 0 };
	int index = (int)if_nametoindex(name);
	if (!index) {
		link_msg(&m, NLM_F_CREATE | NLM_F_EXCL, 0);
		put_str(&m, IFLA_IFNAME, name);
		if (mtu)
			put_u32(&m, IFLA_MTU, (uint32_t)mtu);
		struct nlattr *info = nest(&m, IFLA_LINKINFO);
		put_str(&m, IFLA_INFO_KIND, "bridge");
		nest_end(&m, info);
		int r = talk(fd, &m);
		if (r < 0 && r != -EEXIST) // made by a container starting at the same time: fine
			check(r, "bridge", name);
		index = (int)if_nametoindex(name);
	}
	if (!index)
		die_errno("bridge", name, ENODEV);
	if (gateway && *gateway) {
		int v6 = strchr(gateway, ':') != NULL;
		unsigned char addr[16];
		if (inet_pton(v6 ? AF_INET6 : AF_INET, gateway, addr) != 1)
			die_detail("bridge", name, EINVAL, gateway);
		struct ifaddrmsg *ifa = msg_begin(&m, RTM_NEWADDR, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, sizeof(*ifa));
		ifa->ifa_family = v6 ? AF_INET6 : AF_INET;
		ifa->ifa_prefixlen = (unsigned char)prefix;
		ifa->ifa_index = (unsigned)index;
		put(&m, IFA_LOCAL, addr, v6 ? 16 : 4);
		put(&m, IFA_ADDRESS, addr, v6 ? 16 : 4);
		if (v6) {
			uint32_t flags = IFA_F_NODAD;
			put(&m, IFA_FLAGS, &flags, sizeof(flags));
		}
		int r = talk(fd, &m);
		if (r < 0 && r != -EEXIST)
			check(r, "bridge-address", name);
	}
	struct ifinfomsg *ifi = link_msg(&m, 0, index);
	ifi->ifi_flags = IFF_UP;
	ifi->ifi_change = IFF_UP;
	check(talk(fd, &m), "bridge-up", name);
	return index;
}

/* Write one sysctl of the current network namespace; quietly nothing where it does not exist. */
void net_sysctl(const char *path, const char *value)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (write(fd, value, strlen(value)) < 0) {
		// a sysctl this kernel refuses: the defaults stay
	}
	close(fd);
}

static int parse_mac(const char *s, unsigned char mac[6])
{
	unsigned v[6];
	if (!s || sscanf(s, "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6)
		return 0;
	for (int i = 0; i < 6; i++)
		mac[i] = (unsigned char)v[i];
	return 1;
}

static void add_address(int fd, struct msg *m, int index, const char *cidr, const char *ifname)
{
	char ip[64];
	snprintf(ip, sizeof(ip), "%s", cidr);
	char *slash = strchr(ip, '/');
	int prefix = slash ? atoi(slash + 1) : 32;
	if (slash)
		*slash = 0;
	int v6 = strchr(ip, ':') != NULL;
	unsigned char addr[16];
	if (inet_pton(v6 ? AF_INET6 : AF_INET, ip, addr) != 1)
		die_detail("address", ifname, EINVAL, cidr);
	struct ifaddrmsg *ifa = msg_begin(m, RTM_NEWADDR, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, sizeof(*ifa));
	ifa->ifa_family = v6 ? AF_INET6 : AF_INET;
	ifa->ifa_prefixlen = (unsigned char)prefix;
	ifa->ifa_index = (unsigned)index;
	put(m, IFA_LOCAL, addr, v6 ? 16 : 4);
	put(m, IFA_ADDRESS, addr, v6 ? 16 : 4);
	if (v6) {
		uint32_t flags = IFA_F_NODAD; // usable at once: the container's first packets need it
		put(m, IFA_FLAGS, &flags, sizeof(flags));
	}
	check(talk(fd, m), "address", cidr);
}

static void add_default_route(int fd, struct msg *m, const char *gateway)
{
	int v6 = strchr(gateway, ':') != NULL;
	unsigned char addr[16];
	if (inet_pton(v6 ? AF_INET6 : AF_INET, gateway, addr) != 1)
		die_detail("route", gateway, EINVAL, "not an address");
	struct rtmsg *rt = msg_begin(m, RTM_NEWROUTE, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, sizeof(*rt));
	rt->rtm_family = v6 ? AF_INET6 : AF_INET;
	rt->rtm_table = RT_TABLE_MAIN;
	rt->rtm_protocol = RTPROT_BOOT;
	rt->rtm_scope = RT_SCOPE_UNIVERSE;
	rt->rtm_type = RTN_UNICAST;
	put(m, RTA_GATEWAY, addr, v6 ? 16 : 4);
	int r = talk(fd, m);
	if (r < 0 && r != -EEXIST) // a second network's gateway: the first one's route stays
		check(r, "route", gateway);
}

static int open_ns(pid_t pid, const char *ns)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/ns/%s", pid, ns);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die_errno("network-namespace", path, errno);
	return fd;
}

/*
 * The links of `links` (network.bridge.links of a plan) made in a child (0, or -1 when it
 * failed): in the keeper's network
 * namespace (of `keeper`), for each link, its bridge (if no container made it yet) and a veth
 * pair, one end on the bridge and the other moved into the network namespace of `target`; then in
 * that namespace, each end named, addressed, up, and the default route. The caller is in the
 * keeper's user namespace (the ancestor of the container's): root over both network namespaces.
 */
int bridge_attach_status(const struct json *links, pid_t keeper, pid_t target)
{
	pid_t child = fork();
	if (child < 0)
		die_errno("fork", NULL, errno);
	if (child > 0) {
		int st;
		while (waitpid(child, &st, 0) < 0 && errno == EINTR) {
		}
		return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
	}
	int keeper_net = open_ns(keeper, "net"), target_net = open_ns(target, "net");
	if (setns(keeper_net, CLONE_NEWNET) < 0)
		die_errno("setns", "the network keeper's namespace", errno);
	int fd = nl_open(NETLINK_ROUTE);
	struct msg m = { .len = 0 };
	for (const struct json *l = links ? links->child : NULL; l; l = l->next) {
		const char *bridge = json_str(l, "bridge"), *host = json_str(l, "hostIf"), *name = json_str(l, "ifName");
		int mtu = (int)json_num(l, "mtu", 0);
		int br = ensure_bridge(fd, bridge, json_str(l, "gateway"), (int)json_num(l, "prefix", 24), mtu);
		const char *gw6 = json_str(l, "gateway6");
		if (gw6)
			ensure_bridge(fd, bridge, gw6, (int)json_num(l, "prefix6", 64), mtu);
		// a leftover of this container's earlier round (its namespace is gone, the pair with it,
		// unless the kernel still tears it down): made anew
		int old = (int)if_nametoindex(host);
		if (old) {
			struct ifinfomsg *ifi = msg_begin(&m, RTM_DELLINK, NLM_F_ACK, sizeof(struct ifinfomsg));
			ifi->ifi_index = old;
			talk(fd, &m);
		}
		link_msg(&m, NLM_F_CREATE | NLM_F_EXCL, 0);
		put_str(&m, IFLA_IFNAME, host);
		if (mtu)
			put_u32(&m, IFLA_MTU, (uint32_t)mtu);
		struct nlattr *info = nest(&m, IFLA_LINKINFO);
		put_str(&m, IFLA_INFO_KIND, "veth");
		struct nlattr *data = nest(&m, IFLA_INFO_DATA);
		struct nlattr *peer = nest(&m, VETH_INFO_PEER);
		struct ifinfomsg pi = { .ifi_family = AF_UNSPEC };
		// the peer's ifinfomsg comes first in VETH_INFO_PEER, its attributes after it
		struct nlmsghdr *h = cur(&m);
		memcpy(m.buf + m.start + h->nlmsg_len, &pi, sizeof(pi));
		h->nlmsg_len += (uint32_t)NLMSG_ALIGN(sizeof(pi));
		m.len = m.start + h->nlmsg_len;
		put_str(&m, IFLA_IFNAME, name);
		if (mtu)
			put_u32(&m, IFLA_MTU, (uint32_t)mtu);
		put_u32(&m, IFLA_NET_NS_FD, (uint32_t)target_net);
		unsigned char mac[6];
		if (parse_mac(json_str(l, "mac"), mac))
			put(&m, IFLA_ADDRESS, mac, 6);
		nest_end(&m, peer);
		nest_end(&m, data);
		nest_end(&m, info);
		check(talk(fd, &m), "veth", host);
		int index = (int)if_nametoindex(host);
		struct ifinfomsg *ifi = link_msg(&m, 0, index);
		ifi->ifi_flags = IFF_UP;
		ifi->ifi_change = IFF_UP;
		put_u32(&m, IFLA_MASTER, (uint32_t)br);
		check(talk(fd, &m), "veth-bridge", host);
	}
	close(fd);
	if (setns(target_net, CLONE_NEWNET) < 0)
		die_errno("setns", "the container's network namespace", errno);
	fd = nl_open(NETLINK_ROUTE);
	for (const struct json *l = links ? links->child : NULL; l; l = l->next) {
		const char *name = json_str(l, "ifName");
		int index = (int)if_nametoindex(name);
		if (!index)
			die_errno("veth", name, ENODEV);
		const struct json *addrs = json_get(l, "addresses");
		for (const struct json *a = addrs ? addrs->child : NULL; a; a = a->next)
			add_address(fd, &m, index, a->str, name);
		struct ifinfomsg *ifi = link_msg(&m, 0, index);
		ifi->ifi_flags = IFF_UP;
		ifi->ifi_change = IFF_UP;
		check(talk(fd, &m), "link-up", name);
	}
	for (const struct json *l = links ? links->child : NULL; l; l = l->next) {
		const struct json *routes = json_get(l, "routes");
		for (const struct json *r = routes ? routes->child : NULL; r; r = r->next)
			add_default_route(fd, &m, r->str);
	}
	_exit(0);
}

/* As bridge_attach_status; a failure (said on the status fd by the child) ends the caller too. */
void bridge_attach(const struct json *links, pid_t keeper, pid_t target)
{
	if (bridge_attach_status(links, keeper, target) < 0)
		_exit(125);
}

/* The interface `name` in the current network namespace removed (disconnect); 0 or -errno. */
int link_delete(const char *name)
{
	int index = (int)if_nametoindex(name);
	if (!index)
		return -ENODEV;
	int fd = nl_open(NETLINK_ROUTE);
	struct msg m = { .len = 0 };
	struct ifinfomsg *ifi = msg_begin(&m, RTM_DELLINK, NLM_F_ACK, sizeof(struct ifinfomsg));
	ifi->ifi_index = index;
	int r = talk(fd, &m);
	close(fd);
	return r;
}

/* ---- nf_tables: the keeper's NAT and isolation ------------------------------------------------- */

static void nft_msg(struct msg *m, int type, int flags)
{
	struct nfgenmsg *g = msg_begin(m, (NFNL_SUBSYS_NFTABLES << 8) | type, NLM_F_ACK | flags, sizeof(*g));
	g->nfgen_family = NFPROTO_INET;
	g->version = NFNETLINK_V0;
}

static void batch_mark(struct msg *m, int type)
{
	struct nfgenmsg *g = msg_begin(m, type, 0, sizeof(*g));
	g->nfgen_family = AF_UNSPEC;
	g->version = NFNETLINK_V0;
	g->res_id = htons(NFNL_SUBSYS_NFTABLES);
}

static struct nlattr *expr_begin(struct msg *m, const char *name)
{
	struct nlattr *e = nest(m, NFTA_LIST_ELEM);
	put_str(m, NFTA_EXPR_NAME, name);
	return e;
}

/* meta KEY → register 1 */
static void expr_meta(struct msg *m, uint32_t key)
{
	struct nlattr *e = expr_begin(m, "meta");
	struct nlattr *d = nest(m, NFTA_EXPR_DATA);
	put_be32(m, NFTA_META_KEY, key);
	put_be32(m, NFTA_META_DREG, NFT_REG_1);
	nest_end(m, d);
	nest_end(m, e);
}

/* register 1 OP the first `len` bytes of `data` */
static void expr_cmp(struct msg *m, uint32_t op, const void *data, size_t len)
{
	struct nlattr *e = expr_begin(m, "cmp");
	struct nlattr *d = nest(m, NFTA_EXPR_DATA);
	put_be32(m, NFTA_CMP_SREG, NFT_REG_1);
	put_be32(m, NFTA_CMP_OP, op);
	struct nlattr *v = nest(m, NFTA_CMP_DATA);
	put(m, NFTA_DATA_VALUE, data, len);
	nest_end(m, v);
	nest_end(m, d);
	nest_end(m, e);
}

static void expr_simple(struct msg *m, const char *name)
{
	struct nlattr *e = expr_begin(m, name);
	nest_end(m, e);
}

static void expr_verdict(struct msg *m, int verdict)
{
	struct nlattr *e = expr_begin(m, "immediate");
	struct nlattr *d = nest(m, NFTA_EXPR_DATA);
	put_be32(m, NFTA_IMMEDIATE_DREG, NFT_REG_VERDICT);
	struct nlattr *data = nest(m, NFTA_IMMEDIATE_DATA);
	struct nlattr *v = nest(m, NFTA_DATA_VERDICT);
	put_be32(m, NFTA_VERDICT_CODE, (uint32_t)verdict);
	nest_end(m, v);
	nest_end(m, data);
	nest_end(m, d);
	nest_end(m, e);
}

/* ct state in `mask` (NF_CT_STATE_* bits) */
static void expr_ct_state(struct msg *m, uint32_t mask)
{
	struct nlattr *e = expr_begin(m, "ct");
	struct nlattr *d = nest(m, NFTA_EXPR_DATA);
	put_be32(m, NFTA_CT_KEY, NFT_CT_STATE);
	put_be32(m, NFTA_CT_DREG, NFT_REG_1);
	nest_end(m, d);
	nest_end(m, e);
	e = expr_begin(m, "bitwise");
	d = nest(m, NFTA_EXPR_DATA);
	put_be32(m, NFTA_BITWISE_SREG, NFT_REG_1);
	put_be32(m, NFTA_BITWISE_DREG, NFT_REG_1);
	put_be32(m, NFTA_BITWISE_LEN, 4);
	uint32_t zero = 0;
	struct nlattr *v = nest(m, NFTA_BITWISE_MASK);
	put(m, NFTA_DATA_VALUE, &mask, 4);
	nest_end(m, v);
	v = nest(m, NFTA_BITWISE_XOR);
	put(m, NFTA_DATA_VALUE, &zero, 4);
	nest_end(m, v);
	nest_end(m, d);
	nest_end(m, e);
	expr_cmp(m, NFT_CMP_NEQ, &zero, 4);
}

static void chain(struct msg *m, const char *name, const char *type, int hook, int prio, int policy)
{
	nft_msg(m, NFT_MSG_NEWCHAIN, NLM_F_CREATE);
	put_str(m, NFTA_CHAIN_TABLE, "skiff");
	put_str(m, NFTA_CHAIN_NAME, name);
	struct nlattr *h = nest(m, NFTA_CHAIN_HOOK);
	put_be32(m, NFTA_HOOK_HOOKNUM, (uint32_t)hook);
	put_be32(m, NFTA_HOOK_PRIORITY, (uint32_t)prio);
	nest_end(m, h);
	put_str(m, NFTA_CHAIN_TYPE, type);
	put_be32(m, NFTA_CHAIN_POLICY, (uint32_t)policy);
}

static struct nlattr *rule_begin(struct msg *m, const char *chain_name)
{
	nft_msg(m, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND);
	put_str(m, NFTA_RULE_TABLE, "skiff");
	put_str(m, NFTA_RULE_CHAIN, chain_name);
	return nest(m, NFTA_RULE_EXPRESSIONS);
}

/*
 * The keeper's rules, one table for IPv4 and IPv6, set once: whatever leaves through the uplink
 * (pasta's or slirp4netns's interface, `uplink`) is masqueraded to the namespace's own address;
 * forwarding is allowed only from a bridge of a network with a way out (skbr*; internal networks'
 * bridges are skin*) to the uplink, and back for those connections. So containers on different
 * networks cannot reach each other, and internal ones reach nothing outside their bridge.
 * Invalid packets from the uplink are dropped.
 */
void nft_keeper_rules(int uplink)
{
	int fd = nl_open(NETLINK_NETFILTER);
	struct msg m = { .len = 0 };
	batch_mark(&m, NFNL_MSG_BATCH_BEGIN);
	nft_msg(&m, NFT_MSG_NEWTABLE, NLM_F_CREATE);
	put_str(&m, NFTA_TABLE_NAME, "skiff");
	chain(&m, "nat", "nat", NF_INET_POST_ROUTING, 100, NF_ACCEPT);
	chain(&m, "forward", "filter", NF_INET_FORWARD, 0, NF_DROP);
	chain(&m, "input", "filter", NF_INET_LOCAL_IN, 0, NF_ACCEPT);
	uint32_t up = (uint32_t)uplink;
	struct nlattr *x = rule_begin(&m, "nat");
	expr_meta(&m, NFT_META_OIF);
	expr_cmp(&m, NFT_CMP_EQ, &up, 4);
	expr_simple(&m, "masq");
	nest_end(&m, x);
	// a bridge to the uplink
	x = rule_begin(&m, "forward");
	expr_meta(&m, NFT_META_IIFNAME);
	expr_cmp(&m, NFT_CMP_EQ, "skbr", 4);
	expr_meta(&m, NFT_META_OIF);
	expr_cmp(&m, NFT_CMP_EQ, &up, 4);
	expr_verdict(&m, NF_ACCEPT);
	nest_end(&m, x);
	// the answers, back to that bridge
	x = rule_begin(&m, "forward");
	expr_meta(&m, NFT_META_IIF);
	expr_cmp(&m, NFT_CMP_EQ, &up, 4);
	expr_meta(&m, NFT_META_OIFNAME);
	expr_cmp(&m, NFT_CMP_EQ, "skbr", 4);
	expr_ct_state(&m, NF_CT_STATE_BIT(IP_CT_ESTABLISHED) | NF_CT_STATE_BIT(IP_CT_RELATED));
	expr_verdict(&m, NF_ACCEPT);
	nest_end(&m, x);
	// frames between two ports of one bridge, where the kernel shows bridged traffic to the
	// forward hook (br_netfilter): one network, so allowed
	x = rule_begin(&m, "forward");
	expr_meta(&m, NFT_META_IIFNAME);
	expr_cmp(&m, NFT_CMP_EQ, "sv", 2);
	expr_meta(&m, NFT_META_OIFNAME);
	expr_cmp(&m, NFT_CMP_EQ, "sv", 2);
	expr_verdict(&m, NF_ACCEPT);
	nest_end(&m, x);
	// what conntrack cannot place, from the uplink, dropped: not answered with a reset. (pasta of
	// early 2023 sends window updates without ACK; the namespace's stack would reset the
	// masqueraded connection for it)
	x = rule_begin(&m, "input");
	expr_meta(&m, NFT_META_IIF);
	expr_cmp(&m, NFT_CMP_EQ, &up, 4);
	expr_ct_state(&m, NF_CT_STATE_INVALID_BIT);
	expr_verdict(&m, NF_DROP);
	nest_end(&m, x);
	batch_mark(&m, NFNL_MSG_BATCH_END);
	int r = talk(fd, &m);
	close(fd);
	if (r < 0)
		die_errno("nftables", "the network keeper's rules", -r);
}
