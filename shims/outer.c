// `skiff-shim run`: the outer process. It reads the plan (after a prelude, if any: holder.c),
// forks the waiter of each round and writes its id maps, moves it into the container's cgroup,
// starts the network helper, and, detached, stays as the container's supervisor: its output into
// the log, the restart policy, exit.json (supervise.c). See README.md for the order of every step.
#include "run.h"

const int forwarded[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH };
const size_t nforwarded = sizeof(forwarded) / sizeof(forwarded[0]);

/* The plan this process carries out: set by run_main, or exec_main (exec.c). */
const struct json *plan;

/*
 * Attached --rm runs: the waiter tells the supervisor of the container's end on this pipe once
 * the container is out of the store, and the supervisor, which from then on needs skiff no more
 * (no parent-death signal, no terminal), tells skiff. The removal goes on behind that answer.
 * Otherwise the end is told after everything, since the container's record stays: exit.json and
 * its cgroup's removal must be done when skiff returns (a `start` right after would race them).
 */
int end_pipe[2] = { -1, -1 };

struct supervision sup;

/* ---- id maps: newuidmap/newgidmap, or the user's own id written directly --------------------------- */

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

void write_maps(pid_t pid)
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
	// the journal's "die" before skiff's "destroy": Docker's order
	const char *st = strstr(line, "\"status\":"), *sig = strstr(line, "\"signal\":");
	record_die(st ? atoi(st + 9) : sig ? 128 + atoi(sig + 9) : 0);
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
	const struct json *bridge = json_get(json_get(plan, "network"), "bridge");
	if ((helper || bridge) && sync_read(syncfd[0]) == 'n') {
		trace_mark("network namespace made");
		if (bridge)
			bridge_attach(json_get(bridge, "links"), (pid_t)json_num(bridge, "keeperPid", 0), waiter);
		else if (early_helper)
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
		if ((int)si.ssi_signo == SIG_DETACHED) {
			// the user detached (waiter.c): we stay without skiff, out of its session
			prctl(PR_SET_PDEATHSIG, 0);
			quiet_stdio();
			setsid();
			sup.detached_later = 1;
			send_message("{\"type\":\"detached\"}");
			continue;
		}
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

/* ---- `skiff-shim run` ------------------------------------------------------------------------------ */

/*
 * --preserve-fds: fds 4... are the container's (init.c places them). Forks keep them; no program
 * the shim executes (the network helper, newuidmap) gets them.
 */
void keep_preserved_fds_from_helpers(void)
{
	int n = (int)json_num(json_get(plan, "process"), "preserveFds", 0);
	for (int i = 0; i < n; i++)
		fcntl(4 + i, F_SETFD, FD_CLOEXEC);
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
	seccomp_read(json_get(plan, "process"));
	keep_preserved_fds_from_helpers();
	// the OCI runtime's start fifo and console socket, as the user: init inherits them
	const struct json *oci = json_get(plan, "oci");
	if (oci)
		oci_open(oci);
	// on bridge networks: in the keeper's user namespace, the container's is made in it
	const struct json *bridge = json_get(json_get(plan, "network"), "bridge");
	if (bridge)
		enter_keeper_userns(bridge);
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
	for (size_t i = 0; i < nforwarded; i++)
		sigaddset(&mask, forwarded[i]);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIG_KILL_CONTAINER);
	sigaddset(&mask, SIG_DETACHED);
	sigprocmask(SIG_BLOCK, &mask, &oldmask);
	int sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (sfd < 0)
		die_errno("signalfd", NULL, errno);

	int out[2] = { -1, -1 }, err[2] = { -1, -1 }, logw[2] = { -1, -1 };
	const char *log_path = json_str(json_get(supervisor, "log"), "path");
	if (sup.detach && log_path) {
		if (log_start(log_path, (long long)json_num(json_get(supervisor, "log"), "maxBytes", 0)) < 0)
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
		record_die(status);
		// --rm without skiff waiting for it (started detached, or detached since): the waiter
		// removed it, and its "destroy" follows the "die", as Docker's does
		if (json_str(plan, "trash") && (sup.detach || sup.detached_later))
			record_event("destroy", -1);
		if (!sup.detach || !should_restart(status, restarts) || !restart_delay(sfd, restarts))
			break;
		restarts++;
	}
	// every process of the container is gone: so is its cgroup
	if (cgroup_path())
		rmdir(cgroup_path());
	return status;
}
