// OCI hooks that Container Device Interface specs bring (nvidia-ctk's, which refreshes the ld cache
// of the root filesystem, is the common one): `createContainer` hooks run after the mounts and
// before pivot_root (their paths are the host's), `startContainer` hooks after it (paths inside
// the container), each in the container's namespaces as its root, with the OCI state on stdin, as
// runc runs them. A hook that fails or outlives its timeout fails the start. Runs in init.
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "shim.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* One hook: {path, args, env, timeout}; returns when it exited 0, else the start fails. */
static void run_hook(const struct json *h, const char *state)
{
	const char *path = json_str(h, "path");
	char **argv = json_strv(json_get(h, "args"));
	char **envp = json_strv(json_get(h, "env"));
	static char *no_args[2];
	static char *no_env[1];
	if (!path)
		die_detail("plan", NULL, EINVAL, "a hook needs a path");
	if (!argv || !argv[0]) {
		no_args[0] = (char *)path;
		argv = no_args;
	}
	int in[2];
	if (pipe2(in, O_CLOEXEC) < 0)
		die_errno("hook", path, errno);
	pid_t pid = fork();
	if (pid < 0)
		die_errno("hook", path, errno);
	if (pid == 0) {
		dup2(in[0], 0);
		execve(path, argv, envp ? envp : no_env);
		_exit(127);
	}
	close(in[0]);
	signal(SIGPIPE, SIG_IGN);
	write_all(in[1], state, strlen(state));
	close(in[1]);
	double timeout = json_num(h, "timeout", 0);
	struct timespec start, now, tick = { 0, 1000000 };
	clock_gettime(CLOCK_MONOTONIC, &start);
	int st;
	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid)
			break;
		if (r < 0 && errno != EINTR)
			die_errno("hook", path, errno);
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (timeout > 0 && (double)(now.tv_sec - start.tv_sec) + (now.tv_nsec - start.tv_nsec) / 1e9 > timeout) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			char detail[64];
			snprintf(detail, sizeof(detail), "did not end within its timeout of %g s", timeout);
			die_detail("hook", path, ETIMEDOUT, detail);
		}
		nanosleep(&tick, NULL);
	}
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return;
	char detail[64];
	if (WIFEXITED(st) && WEXITSTATUS(st) == 127)
		snprintf(detail, sizeof(detail), "could not be executed (missing, or not executable)");
	else if (WIFEXITED(st))
		snprintf(detail, sizeof(detail), "exited with status %d", WEXITSTATUS(st));
	else
		snprintf(detail, sizeof(detail), "was killed by signal %d", WTERMSIG(st));
	die_detail("hook", path, EIO, detail);
}

void run_hooks(const struct json *plan, const char *kind)
{
	const struct json *hooks = json_get(plan, "hooks");
	const struct json *list = json_get(hooks, kind);
	if (!list || list->type != JSON_ARRAY || !list->child)
		return;
	// the OCI state: the container's id, its directory as the bundle (with a config.json whose
	// root.path is the root filesystem), pid 1 of the container as the host sees it is not known
	// here: our own pid in the namespaces we are in
	char id[200], bundle[8400], state[9000];
	json_escape(id, sizeof(id), json_str(hooks, "id") ? json_str(hooks, "id") : "");
	json_escape(bundle, sizeof(bundle), json_str(hooks, "bundle") ? json_str(hooks, "bundle") : "");
	// before pivot_root, /proc is still the host's: its "self" is our pid as the runtime sees it
	char self[32];
	ssize_t n = readlink("/proc/self", self, sizeof(self) - 1);
	int pid = n > 0 ? (self[n] = 0, atoi(self)) : getpid();
	snprintf(state, sizeof(state), "{\"ociVersion\":\"1.0.2\",\"id\":\"%s\",\"status\":\"%s\",\"pid\":%d,\"bundle\":\"%s\"}", id,
		 strcmp(kind, "startContainer") ? "creating" : "created", pid, bundle);
	for (const struct json *h = list->child; h; h = h->next)
		run_hook(h, state);
}
