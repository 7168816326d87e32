// The waiter: root of the container's user namespace (forked by the outer process each round).
// It joins or makes the namespaces, forks init, relays the terminal (and `skiff attach` clients
// of a detached container), forwards signals to init, reaps it, removes what `--rm` leaves, and
// reports the exit. `exec` waits on its process the same way (run_waiter). See README.md, steps
// 3, 5 and 6.
#include "run.h"

/* the attached --rm run's end, told to the supervisor (outer.c: end_pipe's write end) */
static int end_fd = -1;

/* the supervisor (outer.c) of a `run`'s waiter; 0 for `exec`, whose waiter is skiff's own child */
static pid_t supervisor_pid;


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

/* ---- the terminal: the pty master init sends, relayed to skiff's stdio -------------------------- */

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

/* ---- --rm: the container's files out of the store's sight, then removed ---------------------------- */

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

/* ---- detaching from a foreground terminal: Ctrl-P Ctrl-Q (or --detach-keys) ----------------------- */

/*
 * Match the detach keys in the terminal's input. `*matched` counts the keys seen so far (a
 * sequence may span reads); keys of a sequence in progress are passed on as they come. Returns
 * how many bytes of buf go to the container: all of them, or, when the sequence is complete,
 * those before it (*detach set).
 */
static size_t match_detach_keys(const struct json *keys, const unsigned char *buf, size_t n, int *matched, int *detach)
{
	int nkeys = 0;
	for (const struct json *k = keys ? keys->child : NULL; k; k = k->next)
		nkeys++;
	for (size_t i = 0; nkeys && i < n; i++) {
		const struct json *want = keys->child, *first = keys->child;
		for (int j = 0; j < *matched; j++)
			want = want->next;
		*matched = buf[i] == (unsigned char)want->num ? *matched + 1 : buf[i] == (unsigned char)first->num ? 1 : 0;
		if (*matched == nkeys) {
			*detach = 1;
			return i + 1 >= (size_t)nkeys ? i + 1 - (size_t)nkeys : 0;
		}
	}
	return n;
}

/*
 * The user detached: the terminal goes back to the shell, this process and the supervisor leave
 * skiff's session (its hangup is not the container's), and skiff is told and returns. A `run`
 * from here is as if started detached: `skiff attach` reaches it, its output goes to its log.
 */
static void detach_from_terminal(int *listener)
{
	restore_terminal();
	termios_saved = 0;
	quiet_stdio();
	setsid();
	if (supervisor_pid > 0) {
		*listener = attach_listen();
		const struct json *log = json_get(json_get(plan, "supervisor"), "log");
		if (json_str(log, "path"))
			log_start(json_str(log, "path"), (long long)json_num(log, "maxBytes", 0));
		// the supervisor drops skiff (its parent-death signal, the terminal) and tells it
		kill(supervisor_pid, SIG_DETACHED);
	} else {
		prctl(PR_SET_PDEATHSIG, 0);
		send_message("{\"type\":\"detached\"}");
	}
}

/* ---- the waiter's loop: signals, the terminal, attach clients, until init ends --------------------- */

int run_waiter(int ptysock, pid_t init, const sigset_t *mask)
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
	int status = 0, done = 0, matched = 0, detached = 0;
	const struct json *keys = json_get(proc, "detachKeys");
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
			fwd_serve(fwd_channel[1], json_str(json_get(plan, "network"), "forwardTo"));
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
			if (n > 0 && detached)
				log_write("stdout", buf, (size_t)n);
			else if (n > 0)
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
				write_all(master, buf, match_detach_keys(keys, (unsigned char *)buf, (size_t)n, &matched, &detached));
				if (detached) {
					in_open = 0;
					detach_from_terminal(&listener);
				}
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

/* ---- the waiter of a round: namespaces, id maps' go-ahead, the network, init ----------------------- */

/* idmap.mode "none": real root running an OCI config without a user namespace */
static int no_user_namespace(void)
{
	const char *mode = json_str(json_get(plan, "idmap"), "mode");
	return mode && !strcmp(mode, "none");
}

void waiter_main(pid_t outer, int syncfd[2], const sigset_t *mask, const sigset_t *oldmask, int logout, int logerr)
{
	die_with_parent(outer);
	supervisor_pid = outer;
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
	} else if (join_namespace_path("user", CLONE_NEWUSER) || no_user_namespace()) {
		// an OCI config's user namespace given by path, or none at all (real root's choice)
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
	// Root of the namespace: container id 0, where it is mapped (keep-id without subordinate
	// ranges maps only the user's own id: the waiter then stays that id, with every capability of
	// the namespace it made all the same).
	if (setresgid(0, 0, 0) < 0 && errno != EINVAL)
		die_errno("setresgid", "0", errno);
	if (setresuid(0, 0, 0) < 0 && errno != EINVAL)
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
	} else {
		join_namespace_path("net", CLONE_NEWNET);
	}
	if (own_net && (json_get(network, "helper") || json_get(network, "bridge"))) {
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
	join_namespace_path("pid", CLONE_NEWPID);

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
	if (json_bool(json_get(plan, "oci"), "detach"))
		oci_release(pty[0], init);
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
	// journaled here, before the command can end: a "die" never comes before its "start"
	record_event("start", -1);
	send_message("{\"type\":\"started\"}");
	_exit(run_waiter(pty[0], init, mask));
}
