// `skiff-shim keeper`: the user's bridge networks. One user namespace and, in it, one network
// namespace that holds every bridge network's bridge, connected to the host by one pasta (or
// slirp4netns); it answers the containers' DNS questions, and goes once no container uses it.
// `skiff-shim netattach` / `netdetach`: a running container connected to / disconnected from a
// bridge (network connect / disconnect). See README.md, "Bridge networks".
#include "run.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <linux/nsfs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/file.h>

/* The keeper's network namespace, as the supervisor of a container finds it. */
static void join_keeper_userns(pid_t keeper)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/ns/user", keeper);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWUSER) < 0)
		die_errno("network-keeper", path, errno);
	close(fd);
}

/*
 * A container on bridge networks gets its user namespace inside the keeper's (whose root is root
 * over the container's network namespace too, so it can move a veth into it): the supervisor
 * enters the keeper's user namespace before anything else, and writes the container's id maps
 * itself, in the keeper's ids (skiff translated them).
 */
void enter_keeper_userns(const struct json *bridge)
{
	join_keeper_userns((pid_t)json_num(bridge, "keeperPid", 0));
}

/* ---- the keeper ----------------------------------------------------------------------------------- */

static const char *networks_dir;

/* Whether any container still holds an address on any bridge network. */
static int networks_in_use(void)
{
	DIR *d = opendir(networks_dir);
	if (!d)
		return 0;
	int used = 0;
	struct dirent *e;
	while (!used && (e = readdir(d))) {
		if (strncmp(e->d_name, "sk", 2))
			continue;
		char dir[4200];
		snprintf(dir, sizeof(dir), "%s/%s", networks_dir, e->d_name);
		used = each_lease(dir, NULL, NULL) > 0;
	}
	closedir(d);
	return used;
}

/*
 * Idle: go, unless a container is being started. skiff hands out addresses under the networks'
 * lock (lock.ts's protocol: flock, the file removed by its holder before it lets go), so with the
 * lock held and no address held, no start can be between finding us and holding its address.
 */
static void maybe_leave(const char *lock, const char *record)
{
	int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	struct stat a, b;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0 || fstat(fd, &a) < 0 || stat(lock, &b) < 0 || a.st_ino != b.st_ino) {
		close(fd);
		return;
	}
	if (networks_in_use()) {
		unlink(lock);
		close(fd);
		return;
	}
	unlink(record);
	unlink(lock);
	_exit(0);
}

/* The interface of the default route of this network namespace (the uplink pasta made). */
static int uplink_index(void)
{
	char buf[4096], iface[32], dest[16];
	if (read_small_file("/proc/self/net/route", buf, sizeof(buf)) <= 0)
		return 0;
	for (char *line = strchr(buf, '\n'); line && line[1]; line = strchr(line + 1, '\n'))
		if (sscanf(line + 1, "%31s %15s", iface, dest) == 2 && !strcmp(dest, "00000000"))
			return (int)if_nametoindex(iface);
	return 0;
}

#define PENDING 256
static struct pending {
	uint16_t id; // the asker's
	int used;
	struct sockaddr_in client;
	struct in_pktinfo info;
} pending[PENDING];
static uint16_t next_id;

static void reply_to(int fd, const void *data, size_t len, struct sockaddr_in *to, struct in_pktinfo *info)
{
	char ctrl[CMSG_SPACE(sizeof(struct in_pktinfo))];
	memset(ctrl, 0, sizeof(ctrl));
	struct iovec iov = { (void *)data, len };
	struct msghdr msg = { .msg_name = to, .msg_namelen = sizeof(*to), .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctrl, .msg_controllen = sizeof(ctrl) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = IPPROTO_IP;
	cm->cmsg_type = IP_PKTINFO;
	cm->cmsg_len = CMSG_LEN(sizeof(struct in_pktinfo));
	struct in_pktinfo pi = { .ipi_ifindex = 0, .ipi_spec_dst = info->ipi_addr };
	memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
	sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
}

/* A question from a container: answered, sent on to the host's resolvers, or dropped. */
static void serve_question(int fd, int up)
{
	unsigned char q[1500], a[1500];
	struct sockaddr_in from;
	char ctrl[256];
	struct iovec iov = { q, sizeof(q) };
	struct msghdr msg = { .msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctrl, .msg_controllen = sizeof(ctrl) };
	ssize_t n = recvmsg(fd, &msg, MSG_DONTWAIT);
	if (n <= 0)
		return;
	struct in_pktinfo info = { 0 };
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm))
		if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_PKTINFO)
			memcpy(&info, CMSG_DATA(cm), sizeof(info));
	char bridge[IF_NAMESIZE + 1] = "", dir[4200], source[64];
	if (!if_indextoname((unsigned)info.ipi_ifindex, bridge) || strncmp(bridge, "sk", 2))
		return; // not from a bridge
	snprintf(dir, sizeof(dir), "%s/%s", networks_dir, bridge);
	inet_ntop(AF_INET, &from.sin_addr, source, sizeof(source));
	ssize_t len = dns_answer(q, (size_t)n, source, dir, !strncmp(bridge, "skin", 4), json_get(plan, "search"), a, sizeof(a));
	if (len > 0)
		reply_to(fd, a, (size_t)len, &from, &info);
	if (len != 0 || up < 0)
		return;
	struct pending *p = &pending[next_id % PENDING];
	uint16_t id = next_id++;
	*p = (struct pending){ .id = (uint16_t)(q[0] << 8 | q[1]), .used = 1, .client = from, .info = info };
	q[0] = (unsigned char)(id >> 8);
	q[1] = (unsigned char)id;
	send(up, q, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL);
}

/* An answer from the host's resolvers: back to the container that asked. */
static void relay_answer(int fd, int up)
{
	unsigned char a[4096];
	ssize_t n = recv(up, a, sizeof(a), MSG_DONTWAIT);
	if (n < 12)
		return;
	uint16_t id = (uint16_t)(a[0] << 8 | a[1]);
	struct pending *p = &pending[id % PENDING];
	if (!p->used)
		return;
	p->used = 0;
	a[0] = (unsigned char)(p->id >> 8);
	a[1] = (unsigned char)p->id;
	reply_to(fd, a, (size_t)n, &p->client, &p->info);
}

static int dns_socket(void)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), one = 1;
	struct sockaddr_in any = { .sin_family = AF_INET, .sin_port = htons(53) };
	if (fd < 0 || setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)) < 0 || bind(fd, (struct sockaddr *)&any, sizeof(any)) < 0)
		die_errno("dns", "0.0.0.0:53 in the network keeper's namespace", errno);
	return fd;
}

static int upstream_socket(const char *server)
{
	if (!server || !*server)
		return -1;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(53) };
	if (fd < 0 || inet_pton(AF_INET, server, &to.sin_addr) != 1 || connect(fd, (struct sockaddr *)&to, sizeof(to)) < 0)
		die_errno("dns", server, errno);
	return fd;
}

/* The keeper proper: root of its user namespace, in the network namespace it made. */
static void keeper_child(pid_t parent, int sync)
{
	die_with_parent(parent);
	pid_t join = (pid_t)json_num(plan, "join", 0);
	if (join > 0) {
		// a repair: the user namespace of the containers that still run (the parent of theirs,
		// kept by them), so that their network namespaces can be connected again
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/ns/user", join);
		int fd = open(path, O_RDONLY | O_CLOEXEC), parent_ns = fd < 0 ? -1 : ioctl(fd, NS_GET_PARENT);
		if (parent_ns < 0 || setns(parent_ns, CLONE_NEWUSER) < 0)
			die_errno("network-keeper", path, errno);
		close(fd);
		close(parent_ns);
		sync_write(sync, 'j');
	} else {
		if (unshare(CLONE_NEWUSER) < 0)
			die_errno("unshare-user", NULL, errno);
		sync_write(sync, 'u');
	}
	if (sync_read(sync) != 'm')
		_exit(125);
	if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
		die_errno("setresuid", "0", errno);
	die_with_parent(parent);
	net_make_namespace();
	net_sysctl("/proc/sys/net/ipv4/ip_forward", "1");
	net_sysctl("/proc/sys/net/ipv6/conf/all/forwarding", "1");
	// bridged frames stay out of the firewall (br_netfilter would pass them through it)
	net_sysctl("/proc/sys/net/bridge/bridge-nf-call-iptables", "0");
	net_sysctl("/proc/sys/net/bridge/bridge-nf-call-ip6tables", "0");
	net_sysctl("/proc/sys/net/bridge/bridge-nf-call-arptables", "0");
	sync_write(sync, 'n');
	if (sync_read(sync) != 'c')
		_exit(125);
	int uplink = uplink_index();
	if (!uplink)
		die_detail("network-keeper", NULL, ENETUNREACH, "the uplink has no default route");
	nft_keeper_rules(uplink);
	int fd = dns_socket(), up = upstream_socket(json_str(plan, "dns"));
	// skiff's control socket is the supervisor's to close: ours becomes /dev/null, so that no
	// later socket takes fd 3 (and a container that ended meanwhile fails its repair quietly)
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0)
		dup2(null, status_fd);
	// a repair: the running containers connected to the new bridges, as they were
	const struct json *again = json_get(plan, "reattach");
	for (const struct json *r = again ? again->child : NULL; r; r = r->next)
		bridge_attach_status(json_get(r, "links"), getpid(), (pid_t)json_num(r, "target", 0));
	sync_write(sync, 'r');
	close(sync);
	quiet_stdio();
	const char *lock = json_str(plan, "lock"), *record = json_str(plan, "record");
	int idle_limit = (int)json_num(plan, "idleSeconds", 2), idle = 0;
	struct timespec last;
	clock_gettime(CLOCK_MONOTONIC, &last);
	for (;;) {
		struct pollfd fds[2] = { { fd, POLLIN, 0 }, { up, POLLIN, 0 } };
		int r = poll(fds, up >= 0 ? 2 : 1, 1000);
		if (r > 0 && (fds[0].revents & POLLIN))
			serve_question(fd, up);
		if (r > 0 && up >= 0 && (fds[1].revents & POLLIN))
			relay_answer(fd, up);
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - last.tv_sec < 1)
			continue;
		last = now;
		// the store removed (rm -rf of SKIFF_ROOT): nothing can use us any more
		if (access(networks_dir, F_OK) < 0 && errno == ENOENT)
			_exit(0);
		idle = networks_in_use() ? 0 : idle + 1;
		if (idle >= idle_limit)
			maybe_leave(lock, record);
	}
}

/*
 * `skiff-shim keeper`: reads its plan (the id maps, the uplink helper, the store's networks
 * directory; for a repair, `join` and `reattach`) from fd 3, makes the keeper, maps it (or, for a
 * repair, puts it in the user namespace of the containers that still run, and connects them), starts the helper on its network namespace,
 * answers {"type":"ready","pid":KEEPER} and stays, out of skiff's session, for as long as both
 * live: one without the other is ended.
 */
int keeper_main(void)
{
	char *line = read_line(status_fd);
	plan = json_parse(line, strlen(line));
	if (!plan || plan->type != JSON_OBJECT)
		die_detail("plan", NULL, EINVAL, "the keeper's plan is not valid JSON");
	networks_dir = json_str(plan, "networks");
	setsid();
	if (chdir("/") < 0)
		die_errno("chdir", "/", errno);
	signal(SIGPIPE, SIG_IGN);
	sigset_t mask, oldmask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, &oldmask);
	int sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	int sp[2];
	if (sfd < 0 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
		die_errno("socketpair", NULL, errno);
	pid_t self = getpid();
	pid_t keeper = fork();
	if (keeper < 0)
		die_errno("fork", NULL, errno);
	if (keeper == 0) {
		close(sp[0]);
		sigprocmask(SIG_SETMASK, &oldmask, NULL);
		keeper_child(self, sp[1]);
	}
	close(sp[1]);
	char hello = sync_read(sp[0]);
	if (hello != 'u' && hello != 'j')
		_exit(125);
	if (hello == 'u')
		write_maps(keeper);
	sync_write(sp[0], 'm');
	if (sync_read(sp[0]) != 'n')
		_exit(125);
	const struct json *helper = json_get(plan, "helper");
	net_spawn_helper(helper, keeper, &oldmask);
	net_await_helper(helper, keeper);
	sync_write(sp[0], 'c');
	if (sync_read(sp[0]) != 'r')
		_exit(125);
	char msg[64];
	snprintf(msg, sizeof(msg), "{\"type\":\"ready\",\"pid\":%d}", keeper);
	send_message(msg);
	close(status_fd);
	quiet_stdio();
	for (;;) {
		struct signalfd_siginfo si;
		if (read(sfd, &si, sizeof(si)) != sizeof(si))
			continue;
		if (si.ssi_signo != SIGCHLD)
			break;
		int st;
		pid_t p;
		int done = 0;
		while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
			if (p == net_helper_pid())
				net_helper_reaped();
			done = 1; // the keeper or its uplink ended: neither is any use alone
		}
		if (done)
			break;
	}
	kill(keeper, SIGKILL);
	net_stop_helper();
	return 0;
}

/*
 * `skiff-shim netattach` (network connect): plan {"keeperPid", "target", "links"} on fd 3; the
 * links made as a starting container's are, into the network namespace of process `target`.
 * `skiff-shim netdetach`: plan {"keeperPid", "hostIf"}: that link (and so its pair) removed.
 */
int netlink_main(int attach)
{
	char *line = read_line(status_fd);
	plan = json_parse(line, strlen(line));
	if (!plan || plan->type != JSON_OBJECT)
		die_detail("plan", NULL, EINVAL, "the plan is not valid JSON");
	pid_t keeper = (pid_t)json_num(plan, "keeperPid", 0);
	join_keeper_userns(keeper);
	if (attach) {
		bridge_attach(json_get(plan, "links"), keeper, (pid_t)json_num(plan, "target", 0));
		return 0;
	}
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/ns/net", keeper);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWNET) < 0)
		die_errno("setns", path, errno);
	int r = link_delete(json_str(plan, "hostIf"));
	if (r < 0 && r != -ENODEV)
		die_errno("netdetach", json_str(plan, "hostIf"), -r);
	return 0;
}
