// `skiff-shim run`: outer → waiter (root of a new user namespace) → init (the container's pid 1).
// The plan arrives as one JSON line on fd 3; see README.md for the order of every step.
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "shim.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

static const int forwarded[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH };
#define NFORWARDED (sizeof(forwarded) / sizeof(forwarded[0]))

static const struct json *plan;
/* Init reads the supervisor's "network configured" here (the waiter's end of the sync socket). */
static int network_ready_fd = -1;

/*
 * Attached --rm runs: the waiter tells the supervisor of the container's end on this pipe once
 * the container is out of the store, and the supervisor, which from then on needs skiff no more
 * (no parent-death signal, no terminal), tells skiff. The removal goes on behind that answer.
 * Otherwise the end is told after everything, since the container's record stays: exit.json and
 * its cgroup's removal must be done when skiff returns (a `start` right after would race them).
 */
static int end_pipe[2] = { -1, -1 };
static int end_fd = -1;

/* 0, 1 and 2 onto /dev/null (stderr kept when tracing): skiff's terminal or pipe is not ours now. */
static void quiet_stdio(void)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null < 0)
		return;
	dup2(null, 0);
	dup2(null, 1);
	if (!trace_enabled())
		dup2(null, 2);
	close(null);
}

/* The waiter's last word to the supervisor: the exit message skiff gets. */
static void report_end(const char *msg)
{
	char line[256];
	int n = snprintf(line, sizeof(line), "%s\n", msg);
	if (write(end_fd, line, (size_t)n) < 0) {
		// the supervisor is gone: skiff learns of it by the control socket closing
	}
	close(end_fd);
	end_fd = -1;
}

/* ---- small helpers ---------------------------------------------------------------------- */

/* One line from skiff (a plan is a few KB): read in blocks, the rest kept for the next line. */
static char *read_line(int fd)
{
	static char *pending;
	static size_t have;
	size_t cap = have + (1 << 16), len = have;
	char *buf = malloc(cap + 1);
	if (!buf)
		die_errno("malloc", NULL, ENOMEM);
	if (have)
		memcpy(buf, pending, have);
	free(pending);
	pending = NULL;
	have = 0;
	size_t scanned = 0;
	for (;;) {
		char *nl = memchr(buf + scanned, '\n', len - scanned);
		if (nl) {
			size_t rest = len - (size_t)(nl - buf) - 1;
			if (rest) {
				if (!(pending = malloc(rest)))
					die_errno("malloc", NULL, ENOMEM);
				memcpy(pending, nl + 1, rest);
				have = rest;
			}
			*nl = '\0';
			return buf;
		}
		scanned = len;
		if (len == cap && !(buf = realloc(buf, (cap *= 2) + 1)))
			die_errno("malloc", NULL, ENOMEM);
		ssize_t n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die_errno("read-plan", NULL, errno);
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	return buf;
}

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, text, strlen(text));
	int err = errno;
	close(fd);
	errno = err;
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

/* Parent death kills us. Check the parent is still the one we expect: it may already be gone. */
static void die_with_parent(pid_t parent)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	// In a new pid namespace the parent lives outside it and getppid() is 0.
	pid_t now = getppid();
	if (now != parent && now != 0)
		_exit(125);
}

static void sync_write(int fd, char c)
{
	while (write(fd, &c, 1) < 0 && errno == EINTR) {
	}
}

static char sync_read(int fd)
{
	char c = 0;
	ssize_t n;
	while ((n = read(fd, &c, 1)) < 0 && errno == EINTR) {
	}
	return n == 1 ? c : 0;
}

/* ---- outer: id maps -------------------------------------------------------------------------- */

static void format_map(const struct json *ranges, char *out, size_t cap, int lines)
{
	size_t len = 0;
	out[0] = '\0';
	for (const struct json *r = ranges ? ranges->child : NULL; r; r = r->next)
		len += (size_t)snprintf(out + len, cap - len, lines ? "%.0f %.0f %.0f\n" : "%.0f %.0f %.0f ",
					json_num(r, "inside", 0), json_num(r, "outside", 0), json_num(r, "count", 0));
}

/* A running newuidmap/newgidmap: its pid and the read end of its stderr. */
struct helper {
	const char *op;
	const char *path;
	pid_t pid;
	int errfd;
};

/* newuidmap PID inside outside count ...: started, not waited for (both helpers run at once). */
static struct helper start_helper(const char *op, const char *helper, pid_t pid, const struct json *ranges)
{
	char *argv[256];
	char pidbuf[32], mapbuf[4096];
	int n = 0;
	snprintf(pidbuf, sizeof(pidbuf), "%d", pid);
	argv[n++] = (char *)helper;
	argv[n++] = pidbuf;
	format_map(ranges, mapbuf, sizeof(mapbuf), 0);
	for (char *tok = strtok(mapbuf, " "); tok && n < 254; tok = strtok(NULL, " "))
		argv[n++] = tok;
	argv[n] = NULL;
	int errpipe[2];
	if (!helper)
		die_detail(op, NULL, EINVAL, "no helper path in the plan");
	if (pipe2(errpipe, O_CLOEXEC) < 0)
		die_errno("pipe", NULL, errno);
	pid_t child = fork();
	if (child < 0)
		die_errno("fork", helper, errno);
	if (child == 0) {
		dup2(errpipe[1], 2);
		execv(helper, argv);
		fprintf(stderr, "cannot execute %s: %s", helper, strerror(errno));
		_exit(127);
	}
	close(errpipe[1]);
	return (struct helper){ op, helper, child, errpipe[0] };
}

/* Wait for a helper; its stderr becomes the error's detail when it failed. */
static void finish_helper(struct helper h)
{
	char err[2048];
	size_t len = 0;
	ssize_t r;
	while (len < sizeof(err) - 1 && ((r = read(h.errfd, err + len, sizeof(err) - 1 - len)) > 0 || (r < 0 && errno == EINTR)))
		if (r > 0)
			len += (size_t)r;
	err[len] = '\0';
	close(h.errfd);
	int status;
	while (waitpid(h.pid, &status, 0) < 0 && errno == EINTR) {
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		die_detail(h.op, h.path, EPERM, len ? err : "failed");
}

static void write_maps(pid_t pid)
{
	const struct json *idmap = json_get(plan, "idmap");
	const char *mode = json_str(idmap, "mode");
	char path[64], map[4096];
	if (mode && !strcmp(mode, "helpers")) {
		struct helper u = start_helper("newuidmap", json_str(idmap, "newuidmap"), pid, json_get(idmap, "uidMap"));
		struct helper g = start_helper("newgidmap", json_str(idmap, "newgidmap"), pid, json_get(idmap, "gidMap"));
		finish_helper(u);
		finish_helper(g);
		return;
	}
	// An unprivileged process may map only its own ids, and only after denying setgroups
	// (user_namespaces(7), since Linux 3.19).
	if (json_bool(idmap, "denySetgroups")) {
		snprintf(path, sizeof(path), "/proc/%d/setgroups", pid);
		if (write_file(path, "deny") < 0)
			die_errno("setgroups", path, errno);
	}
	snprintf(path, sizeof(path), "/proc/%d/uid_map", pid);
	format_map(json_get(idmap, "uidMap"), map, sizeof(map), 1);
	if (write_file(path, map) < 0)
		die_errno("uid_map", path, errno);
	snprintf(path, sizeof(path), "/proc/%d/gid_map", pid);
	format_map(json_get(idmap, "gidMap"), map, sizeof(map), 1);
	if (write_file(path, map) < 0)
		die_errno("gid_map", path, errno);
}

/*
 * The prelude: skiff sends the id maps before it has made the container, and a holder process
 * makes the user namespace and gets its maps (newuidmap/newgidmap, ~5 ms) while skiff still
 * works. With "netns" (the container will have a network namespace of its own), the holder also
 * makes that; with a network helper in the prelude too (pasta), the helper is started on it at
 * once and configures the network (~30 ms here) meanwhile. The first round's waiter joins those
 * namespaces instead of making them; the
 * holder then goes (the namespaces live on with their members, and the helper holds the network
 * namespace).
 */
static pid_t holder = -1;
static int holder_fd = -1;
/* the prelude's helper, started on the holder's network namespace: the first round awaits it */
static const struct json *early_helper;
/* the holder made the container's network namespace too (the prelude's "netns") */
static int holder_netns;

static void start_holder(int netns, const struct json *helper)
{
	int sp[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
		die_errno("socketpair", NULL, errno);
	pid_t outer = getpid();
	holder = fork();
	if (holder < 0)
		die_errno("fork", NULL, errno);
	if (holder == 0) {
		close(sp[0]);
		die_with_parent(outer);
		if (unshare(CLONE_NEWUSER) < 0)
			die_errno("unshare-user", NULL, errno);
		// all capabilities in the new user namespace already, unmapped: enough for this
		if (netns) {
			net_make_namespace();
			trace_mark("network namespace made (prelude)");
		}
		sync_write(sp[1], 'u');
		for (;;)
			pause(); // until the waiter has joined: then SIGKILL (or the supervisor's death)
	}
	close(sp[1]);
	if (sync_read(sp[0]) != 'u')
		_exit(125); // the holder said why on the status fd
	holder_netns = netns;
	// pasta joins an unmapped user namespace as well: it starts before the maps are written
	if (helper) {
		net_spawn_helper(helper, holder, NULL);
		early_helper = helper;
		trace_mark("network helper started (prelude)");
	}
	write_maps(holder);
	trace_mark("id maps written (prelude)");
	holder_fd = sp[0];
}

/*
 * The waiter is in the holder's namespace (or failed): the holder is not needed any more. Not
 * waited for here (~0.7 ms before the container could start): run_round reaps every child.
 */
static void end_holder(void)
{
	if (holder <= 0)
		return;
	kill(holder, SIGKILL);
	close(holder_fd);
	holder_fd = -1;
	holder = -1;
}

/* ---- init: the container process -------------------------------------------------------------- */

static int ns_flags(void)
{
	static const struct {
		const char *name;
		int flag;
	} table[] = { { "mount", CLONE_NEWNS }, { "uts", CLONE_NEWUTS }, { "ipc", CLONE_NEWIPC }, { "cgroup", CLONE_NEWCGROUP } };
	// the network namespace is the waiter's (net.c): its helper is attached before init exists
	const struct json *ns = json_get(plan, "namespaces");
	int flags = 0;
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (json_has_string(ns, table[i].name))
			flags |= table[i].flag;
	return flags;
}

static unsigned long long cap_mask(const struct json *caps, const char *key)
{
	unsigned long long m = 0;
	const struct json *arr = json_get(caps, key);
	for (const struct json *c = arr ? arr->child : NULL; c; c = c->next)
		if (c->type == JSON_NUMBER && c->num >= 0 && c->num < 64)
			m |= 1ULL << (int)c->num;
	return m;
}

static int last_cap(void)
{
	char buf[16];
	return read_small_file("/proc/sys/kernel/cap_last_cap", buf, sizeof(buf)) > 0 ? atoi(buf) : 40;
}

/* A pty in the container's own devpts; the master goes to the waiter, the slave becomes stdio. */
static void open_terminal(int sendfd, uid_t uid, gid_t gid)
{
	int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0)
		die_errno("open-pty", "/dev/ptmx", errno);
	int unlock = 0;
	if (ioctl(master, TIOCSPTLCK, &unlock) < 0)
		die_errno("unlockpt", "/dev/ptmx", errno);
	int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY);
	if (slave < 0)
		die_errno("open-pty-peer", "/dev/ptmx", errno);
	if (fchown(slave, uid, gid) < 0) {
		// gid 5 (tty) may be what devpts gave it; ownership is a nicety, the fd is what counts
	}
	char dummy = 'm';
	struct iovec iov = { &dummy, 1 };
	char ctrl[CMSG_SPACE(sizeof(int))];
	memset(ctrl, 0, sizeof(ctrl));
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctrl, .msg_controllen = sizeof(ctrl) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &master, sizeof(int));
	if (sendmsg(sendfd, &msg, 0) < 0)
		die_errno("send-pty", NULL, errno);
	close(master);
	close(sendfd);
	if (ioctl(slave, TIOCSCTTY, 0) < 0)
		die_errno("ioctl-tiocsctty", NULL, errno);
	for (int fd = 0; fd < 3; fd++)
		if (dup2(slave, fd) < 0)
			die_errno("dup2-pty", NULL, errno);
	if (slave > 2)
		close(slave);
}

static void mkdir_p(const char *path)
{
	char buf[4096];
	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		mkdir(buf, 0755);
		*p = '/';
	}
	mkdir(buf, 0755);
}

/* execvpe with the PATH of the container's environment, not ours. */
static void exec_command(char **argv, char **envp)
{
	const char *cmd = argv[0];
	if (!cmd)
		die_detail("exec", "", ENOENT, "empty command");
	if (strchr(cmd, '/')) {
		execve(cmd, argv, envp);
		die_errno("exec", cmd, errno);
	}
	const char *path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	for (char **e = envp; *e; e++)
		if (!strncmp(*e, "PATH=", 5))
			path = *e + 5;
	int saw_eacces = 0;
	char full[4096];
	const char *p = path;
	for (;;) {
		const char *colon = strchr(p, ':');
		size_t dirlen = colon ? (size_t)(colon - p) : strlen(p);
		snprintf(full, sizeof(full), "%.*s/%s", (int)dirlen, dirlen ? p : ".", cmd);
		execve(full, argv, envp);
		if (errno == EACCES)
			saw_eacces = 1;
		else if (errno != ENOENT && errno != ENOTDIR)
			die_errno("exec", cmd, errno);
		if (!colon)
			break;
		p = colon + 1;
	}
	die_errno("exec", cmd, saw_eacces ? EACCES : ENOENT);
}

static void reset_signals(const sigset_t *oldmask)
{
	sigprocmask(SIG_SETMASK, oldmask, NULL);
	for (size_t s = 0; s < NFORWARDED; s++)
		signal(forwarded[s], SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
}

/*
 * --init: stay as pid 1, run the command as our child, forward every signal to it, reap every
 * orphan, and exit with the command's status (as tini and catatonit do).
 */
static void run_as_init(char **argv, char **envp, const sigset_t *oldmask)
{
	sigset_t all;
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	pid_t child = fork();
	if (child < 0)
		die_errno("fork-init", NULL, errno);
	if (child == 0) {
		setpgid(0, 0);
		reset_signals(oldmask);
		exec_command(argv, envp);
	}
	prctl(PR_SET_NAME, "init", 0, 0, 0);
	// The command holds the status fd and the exec pipe until it execs; pid 1 lets go of them.
	syscall(SYS_close_range, 3, ~0U, 0);
	int sfd = signalfd(-1, &all, SFD_CLOEXEC);
	for (;;) {
		struct signalfd_siginfo si;
		if (read(sfd, &si, sizeof(si)) != sizeof(si))
			continue;
		int sig = (int)si.ssi_signo;
		if (sig != SIGCHLD) {
			kill(child, sig);
			continue;
		}
		int st;
		pid_t p;
		while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
			if (p != child)
				continue;
			_exit(WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st));
		}
	}
}

/*
 * The process part, shared by run and exec: terminal, working directory, capabilities, ids,
 * no_new_privs, then exec (or --init).
 */
static void become_process(int ptysock, const sigset_t *oldmask)
{
	const struct json *proc = json_get(plan, "process");
	uid_t uid = (uid_t)json_num(proc, "uid", 0);
	gid_t gid = (gid_t)json_num(proc, "gid", 0);
	if (json_bool(proc, "terminal"))
		open_terminal(ptysock, uid, gid);
	else if (ptysock >= 0)
		close(ptysock);

	const char *cwd = json_str(proc, "cwd");
	if (cwd && *cwd) {
		if (chdir(cwd) < 0) {
			mkdir_p(cwd);
			if (chdir(cwd) < 0)
				die_errno("chdir", cwd, errno);
		}
	}

	const struct json *caps = json_get(proc, "capabilities");
	unsigned long long bounding = cap_mask(caps, "bounding");
	int last = last_cap();
	for (int c = 0; c <= last; c++)
		if (!(bounding & (1ULL << c)) && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0)
			die_errno("capbset-drop", NULL, errno);
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		die_errno("keepcaps", NULL, errno);

	const struct json *groups = json_get(proc, "additionalGids");
	size_t ngroups = groups ? groups->len : 0;
	gid_t gids[256];
	size_t i = 0;
	for (const struct json *g = groups ? groups->child : NULL; g && i < 256; g = g->next)
		gids[i++] = (gid_t)g->num;
	// With setgroups denied (single mapping) the kernel refuses even an empty list.
	if (!json_bool(json_get(plan, "idmap"), "denySetgroups") && setgroups(ngroups, gids) < 0)
		die_errno("setgroups-process", NULL, errno);
	if (setresgid(gid, gid, gid) < 0)
		die_errno("setresgid", NULL, errno);
	if (setresuid(uid, uid, uid) < 0)
		die_errno("setresuid", NULL, errno);

	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];
	unsigned long long eff = cap_mask(caps, "effective"), prm = cap_mask(caps, "permitted"), inh = cap_mask(caps, "inheritable");
	data[0].effective = (__u32)eff;
	data[1].effective = (__u32)(eff >> 32);
	data[0].permitted = (__u32)prm;
	data[1].permitted = (__u32)(prm >> 32);
	data[0].inheritable = (__u32)inh;
	data[1].inheritable = (__u32)(inh >> 32);
	if (syscall(SYS_capset, &hdr, data) < 0)
		die_errno("capset", NULL, errno);
	unsigned long long amb = cap_mask(caps, "ambient");
	for (int c = 0; c <= last; c++)
		if ((amb & (1ULL << c)) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) < 0)
			die_errno("cap-ambient", NULL, errno);
	if (json_bool(proc, "noNewPrivileges") && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		die_errno("no_new_privs", NULL, errno);

	// A change of credentials clears the parent-death signal (prctl(2)): set it again.
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	// Every fd above stdio closes at exec; the status fd stays open until then for errors.
	if (syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC) < 0) {
		for (int fd = 3; fd < 1024; fd++)
			fcntl(fd, F_SETFD, FD_CLOEXEC);
	}
	char **argv = json_strv(json_get(proc, "args"));
	char **envp = json_strv(json_get(proc, "env"));
	if (json_bool(proc, "builtin")) {
		// skiff cp: the shim's own tar code, in the container's mount namespace
		reset_signals(oldmask);
		_exit(tar_builtin(argv));
	}
	if (json_bool(proc, "init"))
		run_as_init(argv, envp, oldmask);
	reset_signals(oldmask);
	exec_command(argv, envp);
}

/* run: the new namespaces and root filesystem, then the process. */
static void become_container_process(int ptysock, const sigset_t *oldmask)
{
	int flags = ns_flags();
	if (flags && unshare(flags) < 0)
		die_errno("unshare", NULL, errno);
	// Never part of skiff's terminal session: a terminal's signals reach the container only
	// through skiff, once.
	setsid();
	setup_rootfs(plan);

	const char *hostname = json_str(plan, "hostname");
	if (hostname && sethostname(hostname, strlen(hostname)) < 0)
		die_errno("sethostname", hostname, errno);
	trace_mark("root filesystem ready");
	// the network helper was started while the filesystem was set up: the command needs it ready
	if (network_ready_fd >= 0) {
		if (sync_read(network_ready_fd) != 'c')
			_exit(125); // the supervisor reported why
		close(network_ready_fd);
	}
	become_process(ptysock, oldmask);
}

/* ---- waiter: pty relay, signals, cleanup ------------------------------------------------------- */

static int receive_fd(int sock)
{
	char dummy;
	struct iovec iov = { &dummy, 1 };
	char ctrl[CMSG_SPACE(sizeof(int))];
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctrl, .msg_controllen = sizeof(ctrl) };
	ssize_t n;
	while ((n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR) {
	}
	if (n <= 0)
		return -1; // init died before it had a terminal: its error is already reported
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
	if (!cm || cm->cmsg_type != SCM_RIGHTS)
		return -1;
	int fd;
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

static struct termios saved_termios;
static int termios_saved;

static void restore_terminal(void)
{
	if (termios_saved)
		tcsetattr(0, TCSADRAIN, &saved_termios);
}

static void copy_winsize(int master)
{
	struct winsize ws;
	if (master >= 0 && (ioctl(0, TIOCGWINSZ, &ws) == 0 || ioctl(1, TIOCGWINSZ, &ws) == 0))
		ioctl(master, TIOCSWINSZ, &ws);
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Remove a tree without following symlinks or crossing into another filesystem. 0 when gone. */
struct dirent64_raw {
	unsigned long long ino;
	long long off;
	unsigned short reclen;
	unsigned char type;
	char name[];
};

static int remove_tree_at(int dirfd, const char *name, dev_t dev)
{
	struct stat st;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -1;
	if (st.st_dev != dev)
		return -1;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(dirfd, name, 0);
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	// Read from the start again after each pass: removing entries shifts the directory
	// stream. Stop when a pass removes nothing (empty, or only what cannot go).
	for (;;) {
		char buf[8192];
		int removed = 0;
		lseek(fd, 0, SEEK_SET);
		long n;
		while ((n = syscall(SYS_getdents64, fd, buf, sizeof(buf))) > 0) {
			for (long off = 0; off < n;) {
				struct dirent64_raw *d = (void *)(buf + off);
				if (strcmp(d->name, ".") && strcmp(d->name, "..") && remove_tree_at(fd, d->name, dev) == 0)
					removed++;
				off += d->reclen;
			}
		}
		if (!removed)
			break;
	}
	close(fd);
	return unlinkat(dirfd, name, AT_REMOVEDIR);
}

/* The cleanup paths, once moved into the plan's trash directory. */
static char moved[16][4200];
static int nmoved;

static void remove_path(const char *path)
{
	struct stat st;
	if (lstat(path, &st) == 0)
		remove_tree_at(AT_FDCWD, path, st.st_dev);
}

/*
 * Out of the store's sight at once: each cleanup path renamed into the trash directory (the
 * store's tmp/, same filesystem) as "removing-<pid>-<n>", which a later skiff sweeps if we die
 * before it is gone. A path that cannot be moved (or a plan without trash) is removed now.
 */
static void move_cleanup_aside(void)
{
	const struct json *paths = json_get(plan, "cleanup");
	const char *trash = json_str(plan, "trash");
	for (const struct json *c = paths ? paths->child : NULL; c; c = c->next) {
		if (c->type != JSON_STRING)
			continue;
		if (trash && nmoved < 16) {
			snprintf(moved[nmoved], sizeof(moved[nmoved]), "%s/removing-%d-%d", trash, getpid(), nmoved);
			if (rename(c->str, moved[nmoved]) == 0) {
				nmoved++;
				continue;
			}
		}
		remove_path(c->str);
	}
}

static void remove_moved(void)
{
	for (int i = 0; i < nmoved; i++)
		remove_path(moved[i]);
}

/* What the supervisor section of the plan says (all off when there is none). */
static struct {
	const char *dir;   // state.json and exit.json go here; NULL: no state
	int detach;        // outlive skiff, log the container's output
	int round;         // 1 for the first start, +1 for every restart
	char start_time[32]; // the supervisor's start time (/proc/PID/stat field 22)
} sup;

/* ---- attach: `skiff attach` to a detached container's terminal ---------------------------------- */

/*
 * The waiter listens on the plan's supervisor.attachSocket. Output of the terminal goes to the
 * client as it is; the client sends frames: 'd' LEN16 DATA (input) or 'r' 4 ROWS16 COLS16 (size).
 */
static int attach_listen(void)
{
	const char *path = json_str(json_get(plan, "supervisor"), "attachSocket");
	if (!path)
		return -1;
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
	unlink(path);
	mode_t old = umask(077);
	int ok = s >= 0 && bind(s, (struct sockaddr *)&addr, sizeof(addr)) == 0 && listen(s, 4) == 0;
	umask(old);
	if (!ok) {
		if (s >= 0)
			close(s);
		return -1; // no attach then; the container runs anyway
	}
	return s;
}

static unsigned char frame[65536 + 3];
static size_t frame_len;

static void attach_reset(void)
{
	frame_len = 0;
}

/* Read what the client sent; act on every whole frame. -1: the client is gone. */
static int attach_read(int client, int master, int input)
{
	ssize_t n = read(client, frame + frame_len, sizeof(frame) - frame_len);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0)
		return -1;
	frame_len += (size_t)n;
	size_t at = 0;
	while (frame_len - at >= 3) {
		size_t len = ((size_t)frame[at + 1] << 8) | frame[at + 2];
		if (frame_len - at < 3 + len)
			break;
		const unsigned char *data = frame + at + 3;
		if (frame[at] == 'd' && input && master >= 0) {
			write_all(master, (const char *)data, len);
		} else if (frame[at] == 'r' && len == 4 && master >= 0) {
			struct winsize ws = { 0 };
			ws.ws_row = (unsigned short)((data[0] << 8) | data[1]);
			ws.ws_col = (unsigned short)((data[2] << 8) | data[3]);
			ioctl(master, TIOCSWINSZ, &ws);
		}
		at += 3 + len;
	}
	memmove(frame, frame + at, frame_len - at);
	frame_len -= at;
	return 0;
}

/* Signals with a meaning of their own to the supervisor and the waiter (see README.md). */
#define SIG_KILL_CONTAINER 64 /* SIGRTMAX: SIGKILL the container's pid 1 (a signal skiff cannot forward) */

static int run_waiter(int ptysock, pid_t init, const sigset_t *mask)
{
	const struct json *proc = json_get(plan, "process");
	int terminal = json_bool(proc, "terminal");
	int master = -1;
	int sfd = signalfd(-1, mask, SFD_CLOEXEC);
	if (sfd < 0)
		die_errno("signalfd", NULL, errno);
	if (terminal) {
		master = receive_fd(ptysock);
		if (master >= 0) {
			copy_winsize(master);
			if (isatty(0) && tcgetattr(0, &saved_termios) == 0) {
				struct termios raw = saved_termios;
				cfmakeraw(&raw);
				termios_saved = 1;
				tcsetattr(0, TCSADRAIN, &raw);
			}
		}
	}
	close(ptysock);

	// Detached, the terminal's input comes from `skiff attach` clients, never from our stdin.
	int in_open = terminal && json_bool(proc, "stdin") && master >= 0 && !sup.detach;
	int listener = terminal && master >= 0 && sup.detach ? attach_listen() : -1;
	int client = -1;
	int status = 0, done = 0;
	char buf[65536];
	while (!done || master >= 0) {
		struct pollfd fds[6] = { { sfd, POLLIN, 0 }, { master, POLLIN, 0 }, { in_open ? 0 : -1, POLLIN, 0 }, { listener, POLLIN, 0 }, { client, POLLIN, 0 }, { fwd_channel[1], POLLIN, 0 } };
		if (done) {
			// init is gone: drain what it wrote, then stop (EIO when the slave is closed)
			fds[0].fd = -1;
			fds[2].fd = -1;
			fds[3].fd = -1;
			fds[4].fd = -1;
			fds[5].fd = -1;
		}
		int r = poll(fds, 6, done ? 100 : -1);
		if (fds[5].revents & POLLIN)
			fwd_serve(fwd_channel[1]);
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0 && done)
			break;
		if (fds[0].revents & POLLIN) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				int sig = (int)si.ssi_signo;
				if (sig == SIGCHLD) {
					pid_t p;
					int st;
					while ((p = waitpid(-1, &st, WNOHANG)) > 0)
						if (p == init) {
							status = st;
							done = 1;
						}
				} else if (sig == SIGWINCH) {
					copy_winsize(master);
				} else {
					kill(init, sig == SIG_KILL_CONTAINER ? SIGKILL : sig);
				}
			}
		}
		if (fds[3].revents & POLLIN) {
			// one client at a time: a new attach takes over from the old one
			int c = accept4(listener, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
			if (c >= 0) {
				if (client >= 0)
					close(client);
				client = c;
				attach_reset();
			}
		}
		if (client >= 0 && (fds[4].revents & (POLLIN | POLLHUP | POLLERR))) {
			if (attach_read(client, master, json_bool(proc, "stdin")) < 0) {
				close(client);
				client = -1;
			}
		}
		if (master >= 0 && (fds[1].revents & (POLLIN | POLLHUP | POLLERR))) {
			ssize_t n = read(master, buf, sizeof(buf));
			if (n > 0 && client >= 0 && write(client, buf, (size_t)n) < 0 && errno != EAGAIN) {
				close(client);
				client = -1;
			}
			if (n > 0)
				write_all(1, buf, (size_t)n);
			else if (n < 0 && errno == EINTR)
				continue;
			else {
				close(master);
				master = -1;
			}
		}
		if (in_open && (fds[2].revents & (POLLIN | POLLHUP | POLLERR))) {
			ssize_t n = read(0, buf, sizeof(buf));
			if (n > 0) {
				write_all(master, buf, (size_t)n);
			} else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
				// EOF on our stdin: pass it on as the terminal's EOF character
				char eof = 4;
				write_all(master, &eof, 1);
				in_open = 0;
			}
		}
	}
	trace_mark("command ended");
	restore_terminal();
	if (client >= 0)
		close(client);
	if (listener >= 0)
		unlink(json_str(json_get(plan, "supervisor"), "attachSocket"));
	fuse_unmount_rootfs();
	char msg[128];
	if (WIFSIGNALED(status))
		snprintf(msg, sizeof(msg), "{\"type\":\"exit\",\"signal\":%d}", WTERMSIG(status));
	else
		snprintf(msg, sizeof(msg), "{\"type\":\"exit\",\"status\":%d}", WEXITSTATUS(status));
	move_cleanup_aside();
	if (end_fd >= 0) {
		// Attached: skiff answers as soon as the container is out of the store; its files go
		// behind that answer. Nothing of the container is left to protect, so we outlive skiff.
		prctl(PR_SET_PDEATHSIG, 0);
		quiet_stdio();
		report_end(msg);
		remove_moved();
	} else {
		remove_moved();
		send_message(msg);
	}
	trace_mark("files removed");
	return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}

/* ---- supervisor state: files in the container's directory ------------------------------------- */


static void now_rfc3339(char *out, size_t cap)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	size_t n = strftime(out, cap, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, cap - n, ".%09ldZ", ts.tv_nsec);
}

static void read_start_time(pid_t pid, char *out, size_t cap)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	out[0] = '\0';
	if (read_small_file(path, buf, sizeof(buf)) <= 0)
		return;
	char *p = strrchr(buf, ')');
	// fields after the command name start at field 3; the start time is field 22
	for (int field = 2; p && field < 22; field++)
		p = strchr(p + 1, ' ');
	if (p)
		snprintf(out, cap, "%.*s", (int)strcspn(p + 1, " "), p + 1);
}

/*
 * Write DIR/NAME through a temporary file and rename: readers see the old or the new file. Only
 * exit.json is made durable (fsync): it is what `ps -a` shows after a crash or a reboot.
 * state.json and cgroup describe processes that die with the machine, and an fsync there would
 * sit between a short command's exec and its reaping.
 */
static void write_state_file(const char *name, const char *text, int durable)
{
	if (!sup.dir)
		return;
	char path[4096], tmp[4200];
	snprintf(path, sizeof(path), "%s/%s", sup.dir, name);
	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp-%d", sup.dir, name, getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return; // the directory is gone (rm -f, --rm): nothing to record
	int ok = write_all(fd, text, strlen(text)) == 0 && (!durable || fsync(fd) == 0);
	close(fd);
	if (!ok || rename(tmp, path) < 0)
		unlink(tmp);
}

/* ---- supervisor: the container's output into its log ----------------------------------------- */

/*
 * Log lines in the CRI format podman's k8s-file driver also writes:
 *   2026-11-24T22:40:18.123456789Z stdout F a whole line
 *   2026-11-24T22:40:18.123456789Z stderr P a partial line (no newline yet)
 * The file is renamed to PATH.1 when it passes maxBytes.
 */
static struct {
	const char *path;
	long long max;
	long long size;
	int fd;
} logfile = { NULL, 0, 0, -1 };

static void log_open(void)
{
	logfile.fd = open(logfile.path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	struct stat st;
	logfile.size = logfile.fd >= 0 && fstat(logfile.fd, &st) == 0 ? st.st_size : 0;
}

static void log_write(const char *stream, const char *buf, size_t len)
{
	if (logfile.fd < 0)
		return;
	char ts[48];
	now_rfc3339(ts, sizeof(ts));
	while (len > 0) {
		const char *nl = memchr(buf, '\n', len);
		size_t line = nl ? (size_t)(nl - buf) : len;
		if (logfile.max > 0 && logfile.size > 0 && logfile.size + (long long)line + 64 > logfile.max) {
			char old[4200];
			snprintf(old, sizeof(old), "%s.1", logfile.path);
			close(logfile.fd);
			rename(logfile.path, old);
			log_open();
			if (logfile.fd < 0)
				return;
		}
		char head[96];
		int h = snprintf(head, sizeof(head), "%s %s %c ", ts, stream, nl ? 'F' : 'P');
		struct iovec iov[3] = { { head, (size_t)h }, { (void *)buf, line }, { "\n", 1 } };
		ssize_t n = writev(logfile.fd, iov, 3);
		if (n > 0)
			logfile.size += n;
		buf += line + (nl ? 1 : 0);
		len -= line + (nl ? 1 : 0);
	}
}

/* Read what is there now; 0 at EOF or when nothing is left (the pipes are non-blocking). */
static int log_drain(int fd, const char *stream)
{
	char buf[65536];
	ssize_t n = read(fd, buf, sizeof(buf));
	if (n > 0)
		log_write(stream, buf, (size_t)n);
	return n > 0;
}

/* ---- waiter ------------------------------------------------------------------------------------ */

static void waiter_main(pid_t outer, int syncfd[2], const sigset_t *mask, const sigset_t *oldmask, int logout, int logerr)
{
	die_with_parent(outer);
	close(syncfd[0]);
	if (end_pipe[0] >= 0) {
		close(end_pipe[0]);
		end_fd = end_pipe[1];
	}
	if (fwd_channel[0] >= 0) {
		close(fwd_channel[0]);
		fwd_channel[0] = -1;
	}
	if (logout >= 0) {
		int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (null < 0 || dup2(null, 0) < 0 || dup2(logout, 1) < 0 || dup2(logerr, 2) < 0)
			die_errno("dup2-log", NULL, errno);
	}
	const struct json *network = json_get(plan, "network");
	pid_t join = (pid_t)json_num(network, "joinPid", 0);
	int netfd = -1;
	if (join > 0) {
		// --network=container:X: X's user namespace (the user owns it) and its network namespace
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/ns/user", join);
		int userfd = open(path, O_RDONLY | O_CLOEXEC);
		snprintf(path, sizeof(path), "/proc/%d/ns/net", join);
		netfd = open(path, O_RDONLY | O_CLOEXEC);
		if (userfd < 0 || netfd < 0)
			die_errno("join-network", path, errno);
		if (setns(userfd, CLONE_NEWUSER) < 0)
			die_errno("setns", path, errno);
		close(userfd);
		sync_write(syncfd[1], 'j');
		// moved into the container's cgroup first: init, forked below, must start there
		if (sync_read(syncfd[1]) != 'm')
			_exit(125);
	} else if (holder > 0) {
		// the user namespace of the prelude, already mapped
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/ns/user", holder);
		int userfd = open(path, O_RDONLY | O_CLOEXEC);
		if (userfd < 0 || setns(userfd, CLONE_NEWUSER) < 0)
			die_errno("setns", path, errno);
		close(userfd);
		if (holder_netns && json_has_string(json_get(plan, "namespaces"), "net")) {
			// and its network namespace (which the helper, if any, is configuring)
			snprintf(path, sizeof(path), "/proc/%d/ns/net", holder);
			if ((netfd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
				die_errno("join-network", path, errno);
		}
		close(holder_fd);
		sync_write(syncfd[1], 'j');
		if (sync_read(syncfd[1]) != 'm')
			_exit(125);
	} else {
		if (unshare(CLONE_NEWUSER) < 0)
			die_errno("unshare-user", NULL, errno);
		sync_write(syncfd[1], 'u');
		// The outer process writes our maps, then answers: EOF means it died.
		if (sync_read(syncfd[1]) != 'm')
			_exit(125);
	}
	if (setresgid(0, 0, 0) < 0)
		die_errno("setresgid", "0", errno);
	if (setresuid(0, 0, 0) < 0)
		die_errno("setresuid", "0", errno);
	// The change of credentials cleared the parent-death signal: without the supervisor, nothing
	// of the container may live on.
	die_with_parent(outer);
	int own_net = json_has_string(json_get(plan, "namespaces"), "net");
	if (netfd >= 0) {
		if (setns(netfd, CLONE_NEWNET) < 0)
			die_errno("setns", "net", errno);
		close(netfd);
		// the prelude's namespace was made before the id maps existed
		if (holder_netns)
			net_allow_ping(plan);
	} else if (own_net) {
		net_new_namespace(plan);
	}
	if (own_net && json_get(network, "helper")) {
		// The supervisor attaches pasta or slirp4netns to this namespace meanwhile (or awaits
		// the prelude's); init sets up the rest and waits for its answer only before it runs the
		// command.
		sync_write(syncfd[1], 'n');
		network_ready_fd = syncfd[1];
	}
	if (network_ready_fd < 0)
		close(syncfd[1]);
	// before the pid namespace: the fuse daemon is the waiter's child, not the container's
	fuse_mount_rootfs(plan, oldmask);
	if (json_has_string(json_get(plan, "namespaces"), "pid") && unshare(CLONE_NEWPID) < 0)
		die_errno("unshare-pid", NULL, errno);

	int pty[2] = { -1, -1 }, execpipe[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pty) < 0 || pipe2(execpipe, O_CLOEXEC) < 0)
		die_errno("socketpair", NULL, errno);
	pid_t self = getpid();
	pid_t init = fork();
	if (init < 0)
		die_errno("fork", NULL, errno);
	if (init == 0) {
		die_with_parent(self);
		close(pty[0]);
		close(execpipe[0]);
		become_container_process(pty[1], oldmask);
	}
	close(pty[1]);
	close(execpipe[1]);
	if (network_ready_fd >= 0)
		close(network_ready_fd);
	char msg[256];
	snprintf(msg, sizeof(msg), "{\"type\":\"pid\",\"pid\":%d}", init);
	send_message(msg);
	// EOF: init has exec'd the command (or died, after reporting why on the status fd).
	char c;
	while (read(execpipe[0], &c, 1) < 0 && errno == EINTR) {
	}
	close(execpipe[0]);
	trace_mark("command executed");
	char started[48];
	now_rfc3339(started, sizeof(started));
	char state[512];
	snprintf(state, sizeof(state),
		 "{\"supervisorPid\":%d,\"supervisorStart\":\"%s\",\"initPid\":%d,\"startedAt\":\"%s\",\"round\":%d}\n",
		 outer, sup.start_time, init, started, sup.round);
	write_state_file("state.json", state, 0);
	send_message("{\"type\":\"started\"}");
	_exit(run_waiter(pty[0], init, mask));
}

/* ---- outer: the supervisor --------------------------------------------------------------------- */

/* ---- the container's cgroup ------------------------------------------------------------------- */

/* set when the supervisor made the container's cgroup itself, in its systemd scope */
static char scope_container[4000];

static const char *cgroup_path(void)
{
	return scope_container[0] ? scope_container : json_str(json_get(plan, "cgroup"), "path");
}

/* This process's cgroup directory: the "0::/path" line of /proc/self/cgroup under `mount`. */
static void own_cgroup_dir(const char *mount, char *out, size_t size)
{
	char buf[4096];
	read_small_file("/proc/self/cgroup", buf, sizeof(buf));
	char *line = strstr(buf, "0::");
	if (!line || (line != buf && line[-1] != '\n'))
		die_detail("cgroup-scope", "/proc/self/cgroup", ENOENT, "no cgroup v2 line");
	line += 3;
	line[strcspn(line, "\n")] = '\0';
	snprintf(out, size, "%s%s", mount, strcmp(line, "/") ? line : "");
}

/*
 * Under systemd, skiff starts us through `systemd-run --user --scope -p Delegate=yes`: the scope
 * is ours, and we start in it. A cgroup that hands controllers to its children may hold no
 * process itself, so the supervisor moves to the leaf "supervisor" and the container gets the
 * sibling "container", with the limit files skiff computed. Its path goes to the container's
 * directory, where stats, pause, update, exec and rm find it.
 */
static void setup_scope_cgroup(const struct json *scope)
{
	char base[3900], dir[4000], num[32];
	own_cgroup_dir(json_str(scope, "mount") ? json_str(scope, "mount") : "/sys/fs/cgroup", base, sizeof(base));
	snprintf(dir, sizeof(dir), "%s/supervisor", base);
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		die_errno("cgroup-scope", dir, errno);
	snprintf(dir, sizeof(dir), "%s/supervisor/cgroup.procs", base);
	snprintf(num, sizeof(num), "%d", getpid());
	if (write_file(dir, num) < 0)
		die_errno("cgroup-scope", dir, errno);
	// one controller at a time: one that cannot be enabled fails only the limits that need it
	snprintf(dir, sizeof(dir), "%s/cgroup.subtree_control", base);
	for (const struct json *c = json_get(scope, "controllers") ? json_get(scope, "controllers")->child : NULL; c; c = c->next) {
		char want[64];
		snprintf(want, sizeof(want), "+%s", c->str);
		if (write_file(dir, want) < 0 && json_has_string(json_get(scope, "needed"), c->str))
			die_detail("cgroup-enable", base, errno, c->str);
	}
	snprintf(scope_container, sizeof(scope_container), "%s/container", base);
	if (mkdir(scope_container, 0755) < 0 && errno != EEXIST)
		die_errno("cgroup-scope", scope_container, errno);
	for (const struct json *f = json_get(scope, "files") ? json_get(scope, "files")->child : NULL; f; f = f->next) {
		char path[4400], what[600];
		snprintf(path, sizeof(path), "%s/%s", scope_container, f->key);
		if (f->type == JSON_STRING && write_file(path, f->str) < 0) {
			int e = errno;
			snprintf(what, sizeof(what), "%s=%s", f->key, f->str);
			rmdir(scope_container);
			die_detail("cgroup-set", path, e, what);
		}
	}
	write_state_file("cgroup", scope_container, 0);
}

/* Move `pid` into the container's cgroup (before init exists, so everything it starts is in it). */
static void join_cgroup(pid_t pid)
{
	const char *cg = cgroup_path();
	if (!cg)
		return;
	char path[4200], num[32];
	snprintf(path, sizeof(path), "%s/cgroup.procs", cg);
	snprintf(num, sizeof(num), "%d", pid);
	if (write_file(path, num) < 0)
		die_errno("cgroup", path, errno);
}

/* oom_kill of memory.events: how many processes the kernel killed for memory so far. */
static long oom_kills(void)
{
	const char *cg = cgroup_path();
	char path[4200], buf[1024];
	if (!cg)
		return 0;
	snprintf(path, sizeof(path), "%s/memory.events", cg);
	read_small_file(path, buf, sizeof(buf));
	char *p = strstr(buf, "oom_kill ");
	return p ? atol(p + 9) : 0;
}

/*
 * Attached --rm: the waiter's word that the container ended and is out of the store. From here
 * the supervisor stays without skiff (the removal and the network helper's end go on behind), so
 * it drops the parent-death signal and skiff's terminal, and only then tells skiff, which may
 * return at once.
 */
static void relay_end(void)
{
	char line[256];
	ssize_t n;
	while ((n = read(end_pipe[0], line, sizeof(line) - 1)) < 0 && errno == EINTR) {
	}
	close(end_pipe[0]);
	end_pipe[0] = -1;
	if (n <= 0)
		return; // the waiter died first: skiff learns it from our exit
	line[n] = 0;
	prctl(PR_SET_PDEATHSIG, 0);
	quiet_stdio();
	// the host's ports are free when skiff returns, as they were when it waited for all of us
	net_stop_helper();
	fwd_close();
	char *nl = strchr(line, '\n');
	if (nl)
		*nl = 0;
	send_message(line);
	trace_mark("end told");
}

/* One start of the container: waiter + init, their id maps, their exit status (shell style). */
static int run_round(const sigset_t *mask, const sigset_t *oldmask, int sfd, int out, int err, int logw[2])
{
	int syncfd[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, syncfd) < 0)
		die_errno("socketpair", NULL, errno);
	if (!sup.detach && json_str(plan, "trash") && pipe2(end_pipe, O_CLOEXEC) < 0)
		die_errno("pipe", NULL, errno);
	fwd_channel_open();
	pid_t outer = getpid();
	pid_t waiter = fork();
	if (waiter < 0)
		die_errno("fork", NULL, errno);
	if (waiter == 0)
		waiter_main(outer, syncfd, mask, oldmask, logw[0], logw[1]);
	close(syncfd[1]);
	if (end_pipe[1] >= 0) {
		close(end_pipe[1]);
		end_pipe[1] = -1;
	}
	fwd_channel_close_parent_end();
	char hello = sync_read(syncfd[0]);
	// the holder goes once the waiter is in its namespaces; with the prelude's helper only once
	// that is ready, for it may not have opened the holder's namespaces yet (pasta finds them by pid)
	if (!early_helper)
		end_holder();
	// into the container's cgroup while it waits: init, forked later, starts there
	if (hello == 'u' || hello == 'j')
		join_cgroup(waiter);
	if (hello == 'u') {
		write_maps(waiter);
		trace_mark("id maps written");
	}
	// the waiter goes on only now: in its cgroup (and mapped), so init starts there
	if (hello == 'u' || hello == 'j')
		sync_write(syncfd[0], 'm');
	// a prelude's helper is in the plan too: skiff uses the prelude only then (launch.ts)
	const struct json *helper = json_get(json_get(plan, "network"), "helper");
	if (helper && sync_read(syncfd[0]) == 'n') {
		trace_mark("network namespace made");
		if (early_helper)
			net_await_helper(helper, waiter);
		else
			net_start_helper(plan, waiter, oldmask);
		trace_mark("network ready");
		sync_write(syncfd[0], 'c');
	}
	// a restart makes its namespaces anew
	early_helper = NULL;
	holder_netns = 0;
	end_holder();
	close(syncfd[0]);

	int status = -1;
	int lfds[64];
	while (status < 0) {
		int nl = fwd_listeners(lfds, 64);
		struct pollfd fds[4 + 64] = { { sfd, POLLIN, 0 }, { out, POLLIN, 0 }, { err, POLLIN, 0 }, { end_pipe[0], POLLIN, 0 } };
		for (int i = 0; i < nl; i++)
			fds[4 + i] = (struct pollfd){ lfds[i], POLLIN, 0 };
		if (poll(fds, (nfds_t)(4 + nl), -1) < 0) {
			if (errno == EINTR)
				continue;
			die_errno("poll", NULL, errno);
		}
		for (int i = 0; i < nl; i++)
			if (fds[4 + i].revents & POLLIN)
				fwd_accept(lfds[i]);
		if (fds[3].revents & (POLLIN | POLLHUP | POLLERR))
			relay_end();
		if (fds[1].revents & POLLIN)
			log_drain(out, "stdout");
		if (fds[2].revents & POLLIN)
			log_drain(err, "stderr");
		if (!(fds[0].revents & POLLIN))
			continue;
		struct signalfd_siginfo si;
		if (read(sfd, &si, sizeof(si)) != sizeof(si))
			continue;
		if ((int)si.ssi_signo != SIGCHLD) {
			kill(waiter, (int)si.ssi_signo);
			continue;
		}
		int st;
		pid_t p;
		while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
			if (p == waiter)
				status = WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
			else if (p == net_helper_pid())
				net_helper_reaped();
		}
	}
	trace_mark("container ended");
	if (end_pipe[0] >= 0) {
		close(end_pipe[0]);
		end_pipe[0] = -1;
	}
	if (fwd_channel[0] >= 0) {
		close(fwd_channel[0]);
		fwd_channel[0] = -1;
	}
	net_stop_helper();
	trace_mark("network helper stopped");
	// Everything in the container is gone with its pid namespace: take what is left in the pipes.
	if (out >= 0)
		while (log_drain(out, "stdout")) {
		}
	if (err >= 0)
		while (log_drain(err, "stderr")) {
		}
	return status;
}

/* Whether the restart policy asks for another round after this exit status. */
static int should_restart(int status, int restarts)
{
	const struct json *r = json_get(json_get(plan, "supervisor"), "restart");
	const char *policy = json_str(r, "policy");
	if (!policy || !strcmp(policy, "no"))
		return 0;
	// `skiff stop` leaves this file first: a container stopped on purpose stays stopped.
	char marker[4200];
	snprintf(marker, sizeof(marker), "%s/stop-requested", sup.dir ? sup.dir : ".");
	if (sup.dir && access(marker, F_OK) == 0)
		return 0;
	if (!strcmp(policy, "always") || !strcmp(policy, "unless-stopped"))
		return 1;
	int max = (int)json_num(r, "maxRetries", 0);
	return !strcmp(policy, "on-failure") && status != 0 && (max <= 0 || restarts < max);
}

/* Wait before a restart (100 ms, doubling, at most a minute); a signal meanwhile ends it all. */
static int restart_delay(int sfd, int restarts)
{
	long ms = 100L << (restarts < 10 ? restarts : 10);
	if (ms > 60000)
		ms = 60000;
	struct pollfd p = { sfd, POLLIN, 0 };
	int r;
	while ((r = poll(&p, 1, (int)ms)) < 0 && errno == EINTR) {
	}
	if (r <= 0)
		return 1;
	struct signalfd_siginfo si;
	if (read(sfd, &si, sizeof(si)) == sizeof(si) && (si.ssi_signo == SIGCHLD || si.ssi_signo == SIGWINCH))
		return 1;
	return 0;
}

int run_main(void)
{
	if (fcntl(status_fd, F_SETFD, FD_CLOEXEC) < 0) {
		fprintf(stderr, "skiff-shim run: fd 3 must be the control socket from skiff\n");
		return 125;
	}
	char *line = read_line(status_fd);
	plan = json_parse(line, strlen(line));
	if (plan && json_bool(plan, "prelude")) {
		// id maps first, while skiff makes the container; the plan follows (nothing, if skiff
		// failed or went away meanwhile: then nothing was made, and we go quietly)
		die_with_parent(getppid());
		const struct json *helper = json_get(plan, "helper");
		start_holder(json_bool(plan, "netns") || helper, helper);
		line = read_line(status_fd);
		if (!*line)
			_exit(0);
		plan = json_parse(line, strlen(line));
	}
	if (!plan || plan->type != JSON_OBJECT)
		die_detail("plan", NULL, EINVAL, "the launch plan is not valid JSON");
	const struct json *supervisor = json_get(plan, "supervisor");
	sup.dir = json_str(supervisor, "dir");
	sup.detach = json_bool(supervisor, "detach");
	read_start_time(getpid(), sup.start_time, sizeof(sup.start_time));
	// Attached, the container goes when skiff goes; detached, we are its supervisor and stay.
	if (!sup.detach)
		die_with_parent(getppid());
	else if (prctl(PR_SET_PDEATHSIG, 0) < 0 || chdir("/") < 0)
		die_errno("chdir", "/", errno);
	// skiff may be gone when we write to the status fd
	signal(SIGPIPE, SIG_IGN);

	// Everything arrives through a signalfd; block before forking so nothing is lost in between.
	sigset_t mask, oldmask;
	sigemptyset(&mask);
	for (size_t i = 0; i < NFORWARDED; i++)
		sigaddset(&mask, forwarded[i]);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIG_KILL_CONTAINER);
	sigprocmask(SIG_BLOCK, &mask, &oldmask);
	int sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (sfd < 0)
		die_errno("signalfd", NULL, errno);

	int out[2] = { -1, -1 }, err[2] = { -1, -1 }, logw[2] = { -1, -1 };
	const char *log_path = json_str(json_get(supervisor, "log"), "path");
	if (sup.detach && log_path) {
		logfile.path = log_path;
		logfile.max = (long long)json_num(json_get(supervisor, "log"), "maxBytes", 0);
		log_open();
		if (logfile.fd < 0)
			die_errno("open-log", log_path, errno);
		if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0)
			die_errno("pipe", NULL, errno);
		fcntl(out[0], F_SETFL, O_NONBLOCK);
		fcntl(err[0], F_SETFL, O_NONBLOCK);
		logw[0] = out[1];
		logw[1] = err[1];
	}

	const struct json *scope = json_get(json_get(plan, "cgroup"), "scope");
	if (scope)
		setup_scope_cgroup(scope);
	// the host side of the ports skiff forwards itself: bound once, for the container's lifetime
	fwd_listen(plan);
	int status, restarts = 0;
	for (;;) {
		sup.round++;
		long ooms = oom_kills();
		status = run_round(&mask, &oldmask, sfd, out[0], err[0], logw);
		int oom = oom_kills() > ooms;
		char finished[48], exitjson[300];
		now_rfc3339(finished, sizeof(finished));
		snprintf(exitjson, sizeof(exitjson), "{\"round\":%d,\"status\":%d,\"finishedAt\":\"%s\",\"restarts\":%d,\"oomKilled\":%s}\n",
			 sup.round, status, finished, restarts, oom ? "true" : "false");
		write_state_file("exit.json", exitjson, 1);
		if (!sup.detach || !should_restart(status, restarts) || !restart_delay(sfd, restarts))
			break;
		restarts++;
	}
	// every process of the container is gone: so is its cgroup
	if (cgroup_path())
		rmdir(cgroup_path());
	return status;
}

/* ---- exec: a new process in a running container ------------------------------------------------ */

/*
 * Join the namespaces of the container's pid 1 (user first: it grants the rights for the rest),
 * then fork (the pid namespace applies to children) and become the process. The parent stays as
 * its waiter: pty relay, signals, exit status.
 */
int exec_main(void)
{
	if (fcntl(status_fd, F_SETFD, FD_CLOEXEC) < 0) {
		fprintf(stderr, "skiff-shim exec: fd 3 must be the control socket from skiff\n");
		return 125;
	}
	char *line = read_line(status_fd);
	plan = json_parse(line, strlen(line));
	if (!plan || plan->type != JSON_OBJECT)
		die_detail("plan", NULL, EINVAL, "the exec plan is not valid JSON");
	pid_t target = (pid_t)json_num(json_get(plan, "join"), "pid", 0);
	if (target <= 0)
		die_detail("plan", NULL, EINVAL, "no join.pid in the exec plan");
	if (!json_bool(plan, "detach"))
		die_with_parent(getppid());
	signal(SIGPIPE, SIG_IGN);
	// the container's cgroup first, as the user (its cgroup.procs is theirs)
	const char *cg = json_str(plan, "cgroup");
	if (cg) {
		char path[4200], num[32];
		snprintf(path, sizeof(path), "%s/cgroup.procs", cg);
		snprintf(num, sizeof(num), "%d", getpid());
		if (write_file(path, num) < 0)
			die_errno("cgroup", path, errno);
	}

	static const struct {
		const char *name;
		int type;
	} nss[] = { { "user", CLONE_NEWUSER }, { "mnt", CLONE_NEWNS }, { "uts", CLONE_NEWUTS }, { "ipc", CLONE_NEWIPC },
		    { "net", CLONE_NEWNET }, { "cgroup", CLONE_NEWCGROUP }, { "pid", CLONE_NEWPID } };
	int fds[sizeof(nss) / sizeof(nss[0])];
	for (size_t i = 0; i < sizeof(nss) / sizeof(nss[0]); i++) {
		char path[64], own[64];
		snprintf(path, sizeof(path), "/proc/%d/ns/%s", target, nss[i].name);
		snprintf(own, sizeof(own), "/proc/self/ns/%s", nss[i].name);
		struct stat theirs, ours;
		fds[i] = open(path, O_RDONLY | O_CLOEXEC);
		if (fds[i] < 0)
			die_errno("join", path, errno);
		// A namespace the container shares with us (--network=host) is not joined again.
		if (fstat(fds[i], &theirs) == 0 && stat(own, &ours) == 0 && theirs.st_ino == ours.st_ino && theirs.st_dev == ours.st_dev) {
			close(fds[i]);
			fds[i] = -1;
		}
	}
	for (size_t i = 0; i < sizeof(nss) / sizeof(nss[0]); i++) {
		if (fds[i] < 0)
			continue;
		if (setns(fds[i], nss[i].type) < 0) {
			char path[64];
			snprintf(path, sizeof(path), "/proc/%d/ns/%s", target, nss[i].name);
			die_errno("setns", path, errno);
		}
		close(fds[i]);
	}
	// joining a user namespace changes credentials, which clears the parent-death signal
	if (!json_bool(plan, "detach"))
		die_with_parent(getppid());

	sigset_t mask, oldmask;
	sigemptyset(&mask);
	for (size_t i = 0; i < NFORWARDED; i++)
		sigaddset(&mask, forwarded[i]);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIG_KILL_CONTAINER);
	sigprocmask(SIG_BLOCK, &mask, &oldmask);

	int pty[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pty) < 0)
		die_errno("socketpair", NULL, errno);
	pid_t self = getpid();
	pid_t child = fork();
	if (child < 0)
		die_errno("fork", NULL, errno);
	if (child == 0) {
		die_with_parent(self);
		close(pty[0]);
		setsid();
		become_process(pty[1], &oldmask);
	}
	close(pty[1]);
	char msg[64];
	snprintf(msg, sizeof(msg), "{\"type\":\"pid\",\"pid\":%d}", child);
	send_message(msg);
	return run_waiter(pty[0], child, &mask);
}
