// The OCI runtime face's part of the shim (plan.oci, docs/oci-runtime.md): the start fifo and the
// engine's console socket, opened by the outer process as the user; namespaces of a config given
// by path; and the waiter's handshake that lets a created container's process go. init.c waits
// on the fifo (oci_wait_start).
#include "run.h"

/*
 * The OCI runtime face (plan.oci): the engine's console socket, which gets the pty's master, and
 * the start fifo, which init holds open and waits on until `start` writes a byte. Both are host
 * paths in the user's own directories: made and opened by the outer process, as the user, before
 * any namespace (exec: before it joins them); init inherits the fds.
 */
int oci_console = -1, oci_fifo = -1;
/* the pid file, opened here as well: the waiter, in the user namespace, may not create files there */
static int oci_pid_fd = -1;

void oci_open(const struct json *oci)
{
	const char *console = json_str(oci, "consoleSocket");
	if (console) {
		struct sockaddr_un addr = { .sun_family = AF_UNIX };
		if (strlen(console) >= sizeof(addr.sun_path))
			die_detail("console-socket", console, ENAMETOOLONG, NULL);
		strcpy(addr.sun_path, console);
		oci_console = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (oci_console < 0 || connect(oci_console, (struct sockaddr *)&addr, sizeof(addr)) < 0)
			die_errno("console-socket", console, errno);
	}
	const char *pid_file = json_str(oci, "pidFile");
	if (pid_file && (oci_pid_fd = open(pid_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0)
		die_errno("pid-file", pid_file, errno);
	const char *fifo = json_str(oci, "fifo");
	if (fifo && mkfifo(fifo, 0600) < 0 && errno != EEXIST)
		die_errno("mkfifo", fifo, errno);
	// read-write: the open does not wait for a writer, and a start that finds no reader (ENXIO)
	// knows the container is gone
	if (fifo && (oci_fifo = open(fifo, O_RDWR | O_CLOEXEC)) < 0)
		die_errno("open-fifo", fifo, errno);
}


/*
 * An OCI config's namespace of this type given by path (plan.joinNamespaces): entered. Returns
 * whether there was one.
 */
int join_namespace_path(const char *type, int nstype)
{
	const struct json *list = json_get(plan, "joinNamespaces");
	for (const struct json *j = list ? list->child : NULL; j; j = j->next) {
		const char *t = json_str(j, "type"), *path = json_str(j, "path");
		if (!t || !path || strcmp(t, type))
			continue;
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			die_errno("join", path, errno);
		if (setns(fd, nstype) < 0)
			die_errno("setns", path, errno);
		close(fd);
		return 1;
	}
	return 0;
}

/*
 * `create` (and exec --detach) of the OCI runtime: once the process is ready (a byte on the sync
 * socket; EOF means it died, having reported why), its pid goes to the plan's pid file and to
 * skiff, the process is let go (it now outlives us, reaped by the engine as subreaper), and we
 * leave.
 */
void oci_release(int sock, pid_t pid)
{
	if (sync_read(sock) != 'r') {
		int st;
		waitpid(pid, &st, 0);
		_exit(125);
	}
	if (oci_pid_fd >= 0) {
		char num[32];
		snprintf(num, sizeof(num), "%d", pid);
		if (write_all(oci_pid_fd, num, strlen(num)) < 0) {
			kill(pid, SIGKILL);
			die_errno("pid-file", json_str(json_get(plan, "oci"), "pidFile"), errno);
		}
		close(oci_pid_fd);
	}
	send_message("{\"type\":\"created\"}");
	sync_write(sock, 'g');
	_exit(0);
}
