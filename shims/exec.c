// `skiff-shim exec`: a new process in a running container. It joins the namespaces of the
// container's pid 1, forks into its pid namespace and becomes the process (init.c's
// become_process); the parent stays as its waiter (waiter.c's run_waiter).
#include "run.h"

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
	seccomp_read(json_get(plan, "process"));
	keep_preserved_fds_from_helpers();
	pid_t target = (pid_t)json_num(json_get(plan, "join"), "pid", 0);
	if (target <= 0)
		die_detail("plan", NULL, EINVAL, "no join.pid in the exec plan");
	if (!json_bool(plan, "detach"))
		die_with_parent(getppid());
	signal(SIGPIPE, SIG_IGN);
	// the OCI runtime's console socket, while its path is ours to reach
	const struct json *oci = json_get(plan, "oci");
	if (oci)
		oci_open(oci);
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
	for (size_t i = 0; i < nforwarded; i++)
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
	if (json_bool(oci, "detach"))
		oci_release(pty[0], child);
	return run_waiter(pty[0], child, &mask);
}
