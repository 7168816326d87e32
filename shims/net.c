// The container's network: a new network namespace with loopback up (in the waiter), and the
// user-mode helper that connects it to the host — pasta or slirp4netns — run by the supervisor,
// as its child, for as long as the container runs. See README.md, "Network".
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "shim.h"

#include <errno.h>
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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static pid_t helper_pid = -1;
static int helper_exit_fd = -1; // slirp4netns --exit-fd: it quits when this closes

/* In the waiter, as root of the user namespace: a new network namespace, loopback up, and ping
 * allowed for the container's groups (net.ipv4.ping_group_range is per network namespace). */
void net_new_namespace(const struct json *plan)
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
	const char *ping = json_str(json_get(plan, "network"), "pingGroupRange");
	if (ping) {
		int fd = open("/proc/sys/net/ipv4/ping_group_range", O_WRONLY | O_CLOEXEC);
		if (fd >= 0) {
			if (write(fd, ping, strlen(ping)) < 0) {
				// optional: ping stays as the kernel default allows
			}
			close(fd);
		}
	}
}

/* Whether the network namespace of `pid` has a default route yet (the helper configured it). */
static int has_default_route(pid_t pid)
{
	char path[64], buf[4096];
	snprintf(path, sizeof(path), "/proc/%d/net/route", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
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

/*
 * In the supervisor: start the helper on the namespaces of `target` (the waiter) and return once
 * the namespace is configured. The helper is our child with a parent-death signal, so it cannot
 * outlive the supervisor, even after kill -9.
 */
void net_start_helper(const struct json *plan, pid_t target, const sigset_t *oldmask)
{
	const struct json *h = json_get(json_get(plan, "network"), "helper");
	if (!h)
		return;
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
	if (slirp) {
		close(ready[1]);
		close(exitp[0]);
		helper_exit_fd = exitp[1];
		char c = 0;
		ssize_t r;
		while ((r = read(ready[0], &c, 1)) < 0 && errno == EINTR) {
		}
		close(ready[0]);
		if (r != 1)
			helper_failed(path, errp[0], "slirp4netns exited before the network was ready");
		const char *sock = json_str(h, "apiSocket");
		const struct json *ports = json_get(h, "ports");
		for (const struct json *p = ports ? ports->child : NULL; p; p = p->next)
			slirp_add_hostfwd(sock, p, path, errp[0]);
		close(errp[0]);
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
			helper_failed(path, errp[0], "pasta exited before the network was ready");
		}
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - start.tv_sec > 10)
			helper_failed(path, errp[0], "pasta did not configure the network within 10 s");
		usleep((useconds_t)delay_us);
	}
	close(errp[0]);
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
