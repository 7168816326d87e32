// The container's network: a new network namespace with loopback up (in the waiter), and the
// user-mode helper that connects it to the host — pasta or slirp4netns — run by the supervisor,
// as its child, for as long as the container runs. See README.md, "Network".
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "shim.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <stdint.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static pid_t helper_pid = -1;
static int helper_exit_fd = -1; // slirp4netns --exit-fd: it quits when this closes

/* In the waiter (or the prelude's holder), with all capabilities in the user namespace: a new
 * network namespace with loopback up. */
void net_make_namespace(void)
{
	if (unshare(CLONE_NEWNET) < 0)
		die_errno("unshare-net", NULL, errno);
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		die_errno("loopback", "lo", errno);
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		die_errno("loopback", "lo", errno);
	close(s);
}

/* Ping allowed for the container's groups (net.ipv4.ping_group_range is per network namespace).
 * Needs the id maps: the kernel checks the range's groups against them. */
void net_allow_ping(const struct json *plan)
{
	const char *ping = json_str(json_get(plan, "network"), "pingGroupRange");
	if (!ping)
		return;
	int fd = open("/proc/sys/net/ipv4/ping_group_range", O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (write(fd, ping, strlen(ping)) < 0) {
			// optional: ping stays as the kernel default allows
		}
		close(fd);
	}
}

void net_new_namespace(const struct json *plan)
{
	net_make_namespace();
	net_allow_ping(plan);
}

/* Whether the network namespace of `pid` has a default route yet (the helper configured it). */
static int has_default_route(pid_t pid)
{
	char path[64], buf[4096];
	snprintf(path, sizeof(path), "/proc/%d/net/route", pid);
	if (read_small_file(path, buf, sizeof(buf)) <= 0)
		return 0;
	// "Iface Destination Gateway ...": a default route has destination 00000000
	for (char *line = strchr(buf, '\n'); line && line[1]; line = strchr(line + 1, '\n')) {
		char iface[32], dest[16];
		if (sscanf(line + 1, "%31s %15s", iface, dest) == 2 && !strcmp(dest, "00000000"))
			return 1;
	}
	return 0;
}

static void read_errors(int fd, char *out, size_t cap)
{
	size_t len = 0;
	ssize_t r;
	fcntl(fd, F_SETFL, O_NONBLOCK);
	while (len < cap - 1 && ((r = read(fd, out + len, cap - 1 - len)) > 0 || (r < 0 && errno == EINTR)))
		if (r > 0)
			len += (size_t)r;
	out[len] = '\0';
	// the helpers log "Failed to send N bytes to syslog" when there is no syslog: not the reason
	for (char *p; (p = strstr(out, "Failed to send "));) {
		char *end = strchr(p, '\n');
		memmove(p, end ? end + 1 : p + strlen(p), strlen(end ? end + 1 : p + strlen(p)) + 1);
	}
}

static void helper_failed(const char *path, int errfd, const char *what)
{
	char err[2048];
	read_errors(errfd, err, sizeof(err));
	char detail[2300];
	snprintf(detail, sizeof(detail), "%s%s%s", what, *err ? ": " : "", err);
	net_stop_helper();
	die_detail("network", path, EIO, detail);
}

/* slirp4netns's API: one JSON request per connection, one JSON answer. */
static void slirp_add_hostfwd(const char *sock_path, const struct json *fwd, const char *path, int errfd)
{
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", sock_path);
	if (s < 0 || connect(s, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		helper_failed(path, errfd, "cannot reach the slirp4netns API socket");
	char req[512], ans[1024];
	int n = snprintf(req, sizeof(req),
			 "{\"execute\":\"add_hostfwd\",\"arguments\":{\"proto\":\"%s\",\"host_addr\":\"%s\",\"host_port\":%.0f,\"guest_port\":%.0f}}",
			 json_str(fwd, "proto"), json_str(fwd, "hostAddr"), json_num(fwd, "hostPort", 0), json_num(fwd, "containerPort", 0));
	if (write(s, req, (size_t)n) != n)
		helper_failed(path, errfd, "cannot write to the slirp4netns API socket");
	shutdown(s, SHUT_WR);
	ssize_t len = 0, r;
	while ((size_t)len < sizeof(ans) - 1 && ((r = read(s, ans + len, sizeof(ans) - 1 - (size_t)len)) > 0 || (r < 0 && errno == EINTR)))
		if (r > 0)
			len += r;
	ans[len] = '\0';
	close(s);
	if (!strstr(ans, "\"return\"")) {
		char what[1400];
		snprintf(what, sizeof(what), "port %.0f/%s: %s", json_num(fwd, "hostPort", 0), json_str(fwd, "proto"), len ? ans : "no answer");
		helper_failed(path, errfd, what);
	}
}

/* the helper's stderr (its reason, if it fails), and slirp4netns's --ready-fd */
static int helper_err_fd = -1;
static int helper_ready_fd = -1;

/*
 * In the supervisor: start the helper `h` on the namespaces of `target` (the waiter, or the
 * prelude's holder), without waiting for it. The helper is our child with a parent-death signal,
 * so it cannot outlive the supervisor, even after kill -9. `oldmask`: the signal mask it gets
 * (NULL: ours, as in the prelude, before any is blocked).
 */
void net_spawn_helper(const struct json *h, pid_t target, const sigset_t *oldmask)
{
	const char *kind = json_str(h, "kind");
	const char *path = json_str(h, "path");
	int slirp = kind && !strcmp(kind, "slirp4netns");
	int errp[2], ready[2] = { -1, -1 }, exitp[2] = { -1, -1 };
	if (pipe2(errp, O_CLOEXEC) < 0 || (slirp && (pipe2(ready, O_CLOEXEC) < 0 || pipe2(exitp, O_CLOEXEC) < 0)))
		die_errno("pipe", NULL, errno);
	char *argv[300];
	int n = 0;
	char pidbuf[32], readyarg[32], exitarg[32];
	argv[n++] = (char *)path;
	for (const struct json *a = json_get(h, "args") ? json_get(h, "args")->child : NULL; a && n < 290; a = a->next)
		argv[n++] = a->str;
	if (slirp) {
		snprintf(readyarg, sizeof(readyarg), "--ready-fd=%d", 3);
		snprintf(exitarg, sizeof(exitarg), "--exit-fd=%d", 4);
		argv[n++] = readyarg;
		argv[n++] = exitarg;
	}
	snprintf(pidbuf, sizeof(pidbuf), "%d", target);
	argv[n++] = pidbuf;
	if (slirp)
		argv[n++] = "tap0";
	argv[n] = NULL;

	pid_t parent = getpid();
	helper_pid = fork();
	if (helper_pid < 0)
		die_errno("fork", path, errno);
	if (helper_pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		if (oldmask)
			sigprocmask(SIG_SETMASK, oldmask, NULL);
		signal(SIGPIPE, SIG_DFL);
		int null = open("/dev/null", O_RDWR);
		dup2(null, 0);
		dup2(null, 1);
		dup2(errp[1], 2);
		if (slirp) {
			// fixed numbers, so the arguments above are right
			int r = fcntl(ready[1], F_DUPFD, 10), e = fcntl(exitp[0], F_DUPFD, 10);
			dup2(r, 3);
			dup2(e, 4);
		}
		execv(path, argv);
		fprintf(stderr, "cannot execute %s: %s", path, strerror(errno));
		_exit(127);
	}
	close(errp[1]);
	helper_err_fd = errp[0];
	if (slirp) {
		close(ready[1]);
		close(exitp[0]);
		helper_exit_fd = exitp[1];
		helper_ready_fd = ready[0];
	}
}

/*
 * Return once the helper started by net_spawn_helper has configured the namespace of `target`
 * (the waiter: in that namespace), or die with its reason.
 */
void net_await_helper(const struct json *h, pid_t target)
{
	const char *path = json_str(h, "path");
	const char *kind = json_str(h, "kind");
	if (kind && !strcmp(kind, "slirp4netns")) {
		char c = 0;
		ssize_t r;
		while ((r = read(helper_ready_fd, &c, 1)) < 0 && errno == EINTR) {
		}
		close(helper_ready_fd);
		helper_ready_fd = -1;
		if (r != 1)
			helper_failed(path, helper_err_fd, "slirp4netns exited before the network was ready");
		const char *sock = json_str(h, "apiSocket");
		const struct json *ports = json_get(h, "ports");
		for (const struct json *p = ports ? ports->child : NULL; p; p = p->next)
			slirp_add_hostfwd(sock, p, path, helper_err_fd);
		close(helper_err_fd);
		helper_err_fd = -1;
		return;
	}
	// pasta in the foreground configures the namespace, then serves it: ready when the default
	// route is there (it comes last); an exit before that is a failure with its reason on stderr.
	struct timespec start;
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (int delay_us = 250;;) {
		if (has_default_route(target))
			break;
		int st;
		if (waitpid(helper_pid, &st, WNOHANG) == helper_pid) {
			helper_pid = -1;
			helper_failed(path, helper_err_fd, "pasta exited before the network was ready");
		}
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - start.tv_sec > 10)
			helper_failed(path, helper_err_fd, "pasta did not configure the network within 10 s");
		usleep((useconds_t)delay_us);
	}
	close(helper_err_fd);
	helper_err_fd = -1;
}

void net_start_helper(const struct json *plan, pid_t target, const sigset_t *oldmask)
{
	const struct json *h = json_get(json_get(plan, "network"), "helper");
	if (!h)
		return;
	net_spawn_helper(h, target, oldmask);
	net_await_helper(h, target);
}

/* The container is gone: so is its helper. */
void net_stop_helper(void)
{
	if (helper_exit_fd >= 0) {
		close(helper_exit_fd);
		helper_exit_fd = -1;
	}
	if (helper_pid <= 0)
		return;
	// Nothing of its state outlives the namespace: no need to ask it nicely. Its exit is not
	// waited for: closing its tap device waits for RCU grace periods in the kernel (~50 ms), and
	// nothing depends on it any more. It is reaped with the supervisor's next SIGCHLD, or by init.
	kill(helper_pid, SIGKILL);
	waitpid(helper_pid, NULL, WNOHANG);
	helper_pid = -1;
}

/* The helper's pid, so the supervisor's SIGCHLD loop can tell it from the waiter. */
pid_t net_helper_pid(void)
{
	return helper_pid;
}

/* It ended on its own (and was reaped): nothing to stop any more. */
void net_helper_reaped(void)
{
	helper_pid = -1;
}

/* ---- skiff's own port forwarder (slirp4netns, bridge networks) ----------------------------------------------
 * The supervisor listens on the host's ports. For each connection it asks the waiter (inside the
 * container's network namespace) for a socket connected to the container's port there, over a
 * unix socket (SCM_RIGHTS), and a child of the supervisor splices the two together. As
 * rootlesskit's builtin port driver does: no packets through slirp's TCP stack.
 */
#define MAX_FORWARDS 64
static int fwd_fd[MAX_FORWARDS];
static int fwd_ctr_port[MAX_FORWARDS];
static int fwd_udp[MAX_FORWARDS];
static int fwd_count;
int fwd_channel[2] = { -1, -1 };

/*
 * UDP (bridge networks): a session per client address, with its own socket connected inside the
 * container's namespace (from the waiter, as for TCP); the container's answers go back to that
 * client from the host port. At most MAX_SESSIONS: the one idle longest makes room.
 */
#define MAX_SESSIONS 64
static struct session {
	int fd, listener;
	struct sockaddr_in client;
	struct timespec last;
} sessions[MAX_SESSIONS];
static int nsessions;

/* Bind the host side of every port the plan forwards itself, before the container starts. */
void fwd_listen(const struct json *plan)
{
	const struct json *list = json_get(json_get(plan, "network"), "forward");
	for (const struct json *p = list ? list->child : NULL; p && fwd_count < MAX_FORWARDS; p = p->next) {
		const char *addr = json_str(p, "hostAddr"), *proto = json_str(p, "proto");
		int port = (int)json_num(p, "hostPort", 0), udp = proto && !strcmp(proto, "udp");
		int s = socket(AF_INET, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		int one = 1;
		setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
		inet_pton(AF_INET, addr && *addr ? addr : "0.0.0.0", &a.sin_addr);
		if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || (!udp && listen(s, 128) < 0)) {
			char what[80];
			snprintf(what, sizeof(what), "%s:%d", addr, port);
			die_errno("publish", what, errno);
		}
		fwd_fd[fwd_count] = s;
		fwd_ctr_port[fwd_count] = (int)json_num(p, "containerPort", 0);
		fwd_udp[fwd_count] = udp;
		fwd_count++;
	}
}

/* The host ports let go (the container is gone, and skiff is answering that it is). */
void fwd_close(void)
{
	for (int i = 0; i < fwd_count; i++)
		close(fwd_fd[i]);
	fwd_count = 0;
	for (int i = 0; i < nsessions; i++)
		close(sessions[i].fd);
	nsessions = 0;
}

int fwd_listeners(int *fds, int max)
{
	int n = 0;
	for (int i = 0; i < fwd_count && n < max; i++)
		fds[n++] = fwd_fd[i];
	for (int i = 0; i < nsessions && n < max; i++)
		fds[n++] = sessions[i].fd;
	return n;
}

/* A channel to this round's waiter. */
void fwd_channel_open(void)
{
	if (fwd_count == 0)
		return;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fwd_channel) < 0)
		die_errno("socketpair", NULL, errno);
}

void fwd_channel_close_parent_end(void)
{
	if (fwd_channel[1] >= 0) {
		close(fwd_channel[1]);
		fwd_channel[1] = -1;
	}
}

static void relay(int a, int b)
{
	int ab[2], ba[2];
	if (pipe2(ab, O_CLOEXEC) < 0 || pipe2(ba, O_CLOEXEC) < 0)
		_exit(1);
	fcntl(ab[1], F_SETPIPE_SZ, 1 << 20);
	fcntl(ba[1], F_SETPIPE_SZ, 1 << 20);
	int open_a = 1, open_b = 1;
	while (open_a || open_b) {
		struct pollfd fds[2] = { { open_a ? a : -1, POLLIN, 0 }, { open_b ? b : -1, POLLIN, 0 } };
		if (poll(fds, 2, -1) < 0 && errno != EINTR)
			break;
		for (int dir = 0; dir < 2; dir++) {
			if (!(fds[dir].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			int from = dir ? b : a, to = dir ? a : b, *pipefd = dir ? ba : ab;
			ssize_t n = splice(from, NULL, pipefd[1], NULL, 1 << 20, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
			if (n < 0 && errno == EAGAIN)
				continue;
			if (n <= 0) {
				shutdown(to, SHUT_WR);
				if (dir)
					open_b = 0;
				else
					open_a = 0;
				continue;
			}
			while (n > 0) {
				ssize_t w = splice(pipefd[0], NULL, to, NULL, (size_t)n, SPLICE_F_MOVE);
				if (w <= 0)
					_exit(0);
				n -= w;
			}
		}
	}
	_exit(0);
}

/* A socket connected to `port` (tcp or udp) inside the container, from the waiter; -1 if none. */
static int inside_socket(int port, int udp)
{
	uint32_t req = (uint32_t)port | (udp ? 1u << 16 : 0);
	if (fwd_channel[0] < 0 || write(fwd_channel[0], &req, sizeof(req)) != sizeof(req))
		return -1;
	char dummy;
	struct iovec iov = { &dummy, 1 };
	char ctrl[CMSG_SPACE(sizeof(int))];
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctrl, .msg_controllen = sizeof(ctrl) };
	ssize_t n = recvmsg(fwd_channel[0], &msg, MSG_CMSG_CLOEXEC);
	struct cmsghdr *cm = n > 0 ? CMSG_FIRSTHDR(&msg) : NULL;
	if (!cm || cm->cmsg_type != SCM_RIGHTS)
		return -1;
	int fd;
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

/* A datagram from a client on UDP listener `i`: into its session (made now if it has none). */
static void udp_in(int i)
{
	char buf[65536];
	struct sockaddr_in from;
	socklen_t len = sizeof(from);
	ssize_t n = recvfrom(fwd_fd[i], buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from, &len);
	if (n < 0)
		return;
	struct session *s = NULL;
	for (int k = 0; k < nsessions && !s; k++)
		if (sessions[k].listener == fwd_fd[i] && sessions[k].client.sin_port == from.sin_port && sessions[k].client.sin_addr.s_addr == from.sin_addr.s_addr)
			s = &sessions[k];
	if (!s) {
		int fd = inside_socket(fwd_ctr_port[i], 1);
		if (fd < 0)
			return; // no way in: the datagram is lost, as it would be
		fcntl(fd, F_SETFL, O_NONBLOCK);
		if (nsessions == MAX_SESSIONS) {
			int oldest = 0;
			for (int k = 1; k < nsessions; k++)
				if (sessions[k].last.tv_sec < sessions[oldest].last.tv_sec)
					oldest = k;
			close(sessions[oldest].fd);
			sessions[oldest] = sessions[--nsessions];
		}
		s = &sessions[nsessions++];
		*s = (struct session){ .fd = fd, .listener = fwd_fd[i], .client = from };
	}
	clock_gettime(CLOCK_MONOTONIC, &s->last);
	send(s->fd, buf, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL);
}

/* The container answered on session `s`: back to its client, from the host port. */
static void udp_out(struct session *s)
{
	char buf[65536];
	ssize_t n = recv(s->fd, buf, sizeof(buf), MSG_DONTWAIT);
	if (n < 0)
		return;
	clock_gettime(CLOCK_MONOTONIC, &s->last);
	sendto(s->listener, buf, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL, (struct sockaddr *)&s->client, sizeof(s->client));
}

/* Something on one of fwd_listeners' fds: a connection, a datagram in, or an answer out. */
void fwd_accept(int fd)
{
	for (int k = 0; k < nsessions; k++)
		if (sessions[k].fd == fd)
			return udp_out(&sessions[k]);
	int i = 0;
	while (i < fwd_count && fwd_fd[i] != fd)
		i++;
	if (i == fwd_count)
		return;
	if (fwd_udp[i])
		return udp_in(i);
	int client = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
	if (client < 0)
		return;
	int ctr = inside_socket(fwd_ctr_port[i], 0);
	if (ctr < 0) {
		close(client); // nothing listens there in the container: the client sees a reset
		return;
	}
	pid_t parent = getpid();
	pid_t child = fork();
	if (child == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(0);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		relay(client, ctr);
	}
	close(client);
	close(ctr);
}

/* In the waiter: a request on the channel → a socket connected in the container's namespace, to
 * its loopback or to `to`. */
void fwd_serve(int channel, const char *to)
{
	uint32_t req;
	if (read(channel, &req, sizeof(req)) != sizeof(req))
		return;
	uint16_t port = (uint16_t)req;
	int s = socket(AF_INET, ((req >> 16) & 1 ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
	// the container's loopback; on a bridge network its address there, as Docker forwards to
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	if (to)
		inet_pton(AF_INET, to, &a.sin_addr);
	char dummy = 'f';
	struct iovec iov = { &dummy, 1 };
	char ctrl[CMSG_SPACE(sizeof(int))];
	memset(ctrl, 0, sizeof(ctrl));
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	if (s >= 0 && connect(s, (struct sockaddr *)&a, sizeof(a)) == 0) {
		msg.msg_control = ctrl;
		msg.msg_controllen = sizeof(ctrl);
		struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &s, sizeof(int));
	}
	sendmsg(channel, &msg, MSG_NOSIGNAL);
	if (s >= 0)
		close(s);
}
