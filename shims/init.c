// init: the container's process (pid 1 of its pid namespace, forked by the waiter), from its new
// namespaces and root filesystem to the exec of the command; and the part `exec` shares with it
// (become_process: terminal, working directory, capabilities, ids, no_new_privs, exec). See
// README.md, step 4.
#include "run.h"

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/resource.h>

/* Init reads the supervisor's "network configured" here (the waiter's end of the sync socket). */
int network_ready_fd = -1;

/*
 * An OCI config's prestart and createRuntime hooks run in the runtime's namespaces, by skiff,
 * once the container's exist and before the createContainer hooks: we ask ({"type":"hooks"}) and
 * wait for skiff's byte on the start fifo (EOF, or no byte: skiff failed, and so do we).
 */
static void oci_runtime_hooks(const struct json *oci)
{
	if (!json_bool(oci, "runtimeHooks") || oci_fifo < 0)
		return;
	send_message("{\"type\":\"hooks\"}");
	char c;
	ssize_t n;
	while ((n = read(oci_fifo, &c, 1)) < 0 && errno == EINTR) {
	}
	if (n != 1)
		_exit(125);
}

/*
 * Created: detached (`create`), tell the waiter (a byte on the sync socket) and wait for its word
 * that our pid is recorded; from then on we outlive it (the engine, as subreaper, reaps us). Then
 * wait for `start`, and run the startContainer hooks.
 */
/* A signal's default end, for a pid 1 that has no default (waiting for `start`, or `pause`). */
static void end_waiting(int sig)
{
	_exit(128 + sig);
}

static void oci_wait_start(int syncsock, const sigset_t *oldmask)
{
	if (json_bool(json_get(plan, "oci"), "detach")) {
		// the waiter's end of the socket tells us if it dies before its word (EOF): the
		// parent-death signal, which would race its exit after the word, can go now
		prctl(PR_SET_PDEATHSIG, 0);
		sync_write(syncsock, 'r');
		if (sync_read(syncsock) != 'g')
			_exit(125);
		close(syncsock);
		// skiff's create returns when its control socket closes: ours goes now (what fails from
		// here on, an exec, shows in the exit status the engine reaps)
		close(status_fd);
		status_fd = -1;
	}
	if (oci_fifo < 0)
		return;
	// a created container's process ends on a signal as its command would (`kill ID TERM`): as
	// pid 1 of its namespace it would ignore one it has no handler for
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = end_waiting;
	// (those whose default is to end the process: not SIGWINCH, which the engine's resize sends)
	for (size_t s = 0; s < nforwarded; s++)
		if (forwarded[s] != SIGWINCH)
			sigaction(forwarded[s], &sa, NULL);
	sigprocmask(SIG_SETMASK, oldmask, NULL);
	// `run` in the foreground waits here too, its shim staying as for skiff's own run
	if (!json_bool(json_get(plan, "oci"), "detach"))
		send_message("{\"type\":\"created\"}");
	char c;
	ssize_t n;
	while ((n = read(oci_fifo, &c, 1)) < 0 && errno == EINTR) {
	}
	close(oci_fifo);
	if (n != 1)
		_exit(125);
	run_hooks(plan, "startContainer");
}

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
	// the engine's console socket (OCI) gets the pty's name with it, as runc sends it
	char name[64] = "m";
	unsigned int ptn;
	if (sendfd == oci_console && ioctl(master, TIOCGPTN, &ptn) == 0)
		snprintf(name, sizeof(name), "/dev/pts/%u", ptn);
	struct iovec iov = { name, strlen(name) };
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
	for (size_t s = 0; s < nforwarded; s++)
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
 * no_new_privs, seccomp, then exec (or --init).
 */
/*
 * --preserve-fds N: skiff's fds came as our fds 4.. (fd 3 is the status fd). They take the numbers
 * in fdTargets (default 3..), open across exec: each goes above every target first (so no move
 * overwrites one not yet moved), then onto its number; the status fd moves above them all.
 */
static void place_preserved_fds(const struct json *proc)
{
	int n = (int)json_num(proc, "preserveFds", 0);
	if (n <= 0 || n > 256)
		return;
	const struct json *targets = json_get(proc, "fdTargets");
	int target[256], high = 4 + n;
	const struct json *t = targets ? targets->child : NULL;
	for (int i = 0; i < n; i++, t = t ? t->next : NULL) {
		target[i] = t ? (int)t->num : 3 + i;
		if (target[i] < 3)
			die_detail("preserve-fds", NULL, EINVAL, "an fd to pass on is below 3");
		if (target[i] + 1 > high)
			high = target[i] + 1;
	}
	int moved = fcntl(status_fd, F_DUPFD_CLOEXEC, high);
	if (moved < 0)
		die_errno("preserve-fds", NULL, errno);
	status_fd = moved;
	int src[256];
	for (int i = 0; i < n; i++)
		if ((src[i] = fcntl(4 + i, F_DUPFD_CLOEXEC, high)) < 0)
			die_errno("preserve-fds", NULL, errno);
	for (int i = 0; i < n; i++) {
		if (dup2(src[i], target[i]) < 0)
			die_errno("preserve-fds", NULL, errno);
		close(src[i]);
	}
}

/*
 * ["pause"]: holds the container's namespaces while others run in them (the shared container of
 * a Slurm job step, whose ranks join it with exec). Reports "started" as an exec would (its fds
 * close), then waits for a signal; with handlers, so that a pid 1 gets SIGTERM from outside.
 */
static void pause_builtin(void)
{
	// as an exec would make it again after the change of ids: others of the user (the ranks'
	// exec) may open its /proc/PID/ns/*
	prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
	// every fd above stdio closes, as at an exec: the status fd and the waiter's exec pipe too
	if (syscall(SYS_close_range, 3, ~0U, 0) < 0)
		for (int fd = 3; fd < 1024; fd++)
			close(fd);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = end_waiting;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	for (;;)
		pause();
}

/*
 * The plan's seccomp filter, a classic BPF program skiff compiled (core/launch/seccomp.ts) into a
 * file of the container's: read when the shim starts (the file is out of the container's reach),
 * loaded last, after no_new_privs; without no_new_privs (--security-opt no-new-privileges=false)
 * the kernel asks for CAP_SYS_ADMIN, so it is loaded earlier, while the shim still has it.
 */
static struct sock_filter seccomp_program[BPF_MAXINSNS + 1];
static unsigned short seccomp_length;

void seccomp_read(const struct json *proc)
{
	const char *file = json_str(json_get(proc, "seccomp"), "file");
	if (!file)
		return;
	ssize_t n = read_small_file(file, (char *)seccomp_program, sizeof(seccomp_program));
	if (n < 0)
		die_errno("seccomp", file, errno);
	if (n == 0 || n % (ssize_t)sizeof(struct sock_filter) || n > BPF_MAXINSNS * (ssize_t)sizeof(struct sock_filter))
		die_detail("seccomp", file, EINVAL, "not a program of whole BPF instructions");
	seccomp_length = (unsigned short)(n / (ssize_t)sizeof(struct sock_filter));
}

static void load_seccomp(const struct json *proc)
{
	if (!seccomp_length)
		return;
	struct sock_fprog prog = { .len = seccomp_length, .filter = seccomp_program };
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, (unsigned int)json_num(json_get(proc, "seccomp"), "flags", 0), &prog) < 0)
		die_errno("seccomp", NULL, errno);
}

void become_process(int ptysock, const sigset_t *oldmask)
{
	const struct json *proc = json_get(plan, "process");
	uid_t uid = (uid_t)json_num(proc, "uid", 0);
	gid_t gid = (gid_t)json_num(proc, "gid", 0);
	if (json_bool(proc, "terminal"))
		open_terminal(oci_console >= 0 ? oci_console : ptysock, uid, gid);
	if (oci_console >= 0)
		close(oci_console);
	// the OCI runtime's created init keeps its socket to the waiter for their handshake
	int oci_detach = json_bool(json_get(plan, "oci"), "detach");
	if (ptysock >= 0 && !oci_detach)
		close(ptysock);

	const char *cwd = json_str(proc, "cwd");
	if (cwd && *cwd) {
		if (chdir(cwd) < 0) {
			mkdir_p(cwd);
			if (chdir(cwd) < 0)
				die_errno("chdir", cwd, errno);
		}
	}

	const struct json *adj = json_get(proc, "oomScoreAdj");
	if (adj && adj->type == JSON_NUMBER) {
		char num[32];
		snprintf(num, sizeof(num), "%d", (int)adj->num);
		if (write_file("/proc/self/oom_score_adj", num) < 0)
			die_errno("oom-score-adj", num, errno);
	}
	const struct json *mask = json_get(proc, "umask");
	if (mask && mask->type == JSON_NUMBER)
		umask((mode_t)mask->num);

	const struct json *caps = json_get(proc, "capabilities");
	unsigned long long bounding = cap_mask(caps, "bounding");
	int last = last_cap();
	for (int c = 0; c <= last; c++)
		if (!(bounding & (1ULL << c)) && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0)
			die_errno("capbset-drop", NULL, errno);
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		die_errno("keepcaps", NULL, errno);

	int nnp = json_bool(proc, "noNewPrivileges");
	if (!nnp)
		load_seccomp(proc);

	const struct json *groups = json_get(proc, "additionalGids");
	size_t ngroups = groups ? groups->len : 0;
	gid_t gids[256];
	size_t i = 0;
	for (const struct json *g = groups ? groups->child : NULL; g && i < 256; g = g->next)
		gids[i++] = (gid_t)g->num;
	// With setgroups denied (single mapping) the kernel refuses even an empty list; keep-id keeps
	// the host's groups by not calling it.
	// (a user namespace joined by path may deny it too: then only an empty list is asked for)
	char sg[16] = "";
	int denied = json_bool(json_get(plan, "idmap"), "denySetgroups") ||
		     (!ngroups && read_small_file("/proc/self/setgroups", sg, sizeof(sg)) > 0 && !strncmp(sg, "deny", 4));
	if (!denied && !json_bool(proc, "keepGroups") && setgroups(ngroups, gids) < 0)
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
	// --ulimit: lowering is always allowed; a hard limit above skiff's own would need
	// CAP_SYS_RESOURCE outside the user namespace (skiff checked that before)
	const struct json *rlimits = json_get(proc, "rlimits");
	for (const struct json *r = rlimits ? rlimits->child : NULL; r; r = r->next) {
		double soft = json_num(r, "soft", -1), hard = json_num(r, "hard", -1);
		struct rlimit lim = { soft < 0 ? RLIM_INFINITY : (rlim_t)soft, hard < 0 ? RLIM_INFINITY : (rlim_t)hard };
		if (setrlimit((int)json_num(r, "type", -1), &lim) < 0)
			die_errno("setrlimit", json_str(r, "name"), errno);
	}
	if (nnp && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		die_errno("no_new_privs", NULL, errno);

	// A change of credentials clears the parent-death signal (prctl(2)): set it again.
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	// Every fd above stdio closes at exec; the status fd stays open until then for errors.
	if (syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC) < 0) {
		for (int fd = 3; fd < 1024; fd++)
			fcntl(fd, F_SETFD, FD_CLOEXEC);
	}
	place_preserved_fds(proc);
	if (json_get(plan, "oci"))
		oci_wait_start(ptysock, oldmask);
	char **argv = json_strv(json_get(proc, "args"));
	char **envp = json_strv(json_get(proc, "env"));
	if (nnp)
		load_seccomp(proc);
	if (json_bool(proc, "builtin")) {
		reset_signals(oldmask);
		if (argv[0] && !strcmp(argv[0], "pause"))
			pause_builtin();
		// skiff cp: the shim's own tar code, in the container's mount namespace
		_exit(tar_builtin(argv));
	}
	if (json_bool(proc, "init"))
		run_as_init(argv, envp, oldmask);
	reset_signals(oldmask);
	exec_command(argv, envp);
}

/* run: the new namespaces and root filesystem, then the process. */
void become_container_process(int ptysock, const sigset_t *oldmask)
{
	// an OCI config's namespaces given by path (the waiter entered user, net and pid)
	join_namespace_path("mnt", CLONE_NEWNS);
	join_namespace_path("uts", CLONE_NEWUTS);
	join_namespace_path("ipc", CLONE_NEWIPC);
	join_namespace_path("cgroup", CLONE_NEWCGROUP);
	int flags = ns_flags();
	if (flags && unshare(flags) < 0)
		die_errno("unshare", NULL, errno);
	// Never part of skiff's terminal session: a terminal's signals reach the container only
	// through skiff, once.
	setsid();
	const struct json *oci = json_get(plan, "oci");
	setup_rootfs(plan);
	if (oci)
		oci_runtime_hooks(oci);
	run_hooks(plan, "createContainer");
	enter_rootfs(plan);

	const char *hostname = json_str(plan, "hostname");
	if (hostname && sethostname(hostname, strlen(hostname)) < 0)
		die_errno("sethostname", hostname, errno);
	const char *domain = json_str(plan, "domainname");
	if (domain && setdomainname(domain, strlen(domain)) < 0)
		die_errno("setdomainname", domain, errno);
	// an OCI container's startContainer hooks run once it is started (oci_wait_start)
	if (!json_str(oci, "fifo"))
		run_hooks(plan, "startContainer");
	trace_mark("root filesystem ready");
	// the network helper was started while the filesystem was set up: the command needs it ready
	if (network_ready_fd >= 0) {
		if (sync_read(network_ready_fd) != 'c')
			_exit(125); // the supervisor reported why
		close(network_ready_fd);
	}
	become_process(ptysock, oldmask);
}
