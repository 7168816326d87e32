// The fuse-overlayfs storage driver: the waiter, as root of the user namespace, mounts the
// container's root filesystem with fuse-overlayfs in a mount namespace of its own, before init
// (which copies that namespace) exists. fuse-overlayfs runs as the waiter's child, outside the
// container's pid namespace, and dies with it.
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "shim.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static pid_t fuse_pid = -1;
static const char *fuse_target;

static int mounted(const char *target)
{
	struct stat t, p;
	char parent[4200];
	snprintf(parent, sizeof(parent), "%s/..", target);
	return stat(target, &t) == 0 && stat(parent, &p) == 0 && t.st_dev != p.st_dev;
}

void fuse_mount_rootfs(const struct json *plan, const sigset_t *oldmask)
{
	const struct json *rootfs = json_get(plan, "rootfs");
	const char *kind = json_str(rootfs, "kind");
	if (!kind || strcmp(kind, "fuse-overlayfs"))
		return;
	const char *program = json_str(rootfs, "program");
	const char *target = json_str(rootfs, "target");
	const char *layers = json_str(rootfs, "layersDir");
	if (!program || !target)
		die_detail("plan", NULL, EINVAL, "fuse-overlayfs needs program and target");
	if (unshare(CLONE_NEWNS) < 0)
		die_errno("unshare-mount", NULL, errno);
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		die_errno("make-rprivate", "/", errno);

	size_t cap = 65536, len = 0;
	char *opts = malloc(cap);
	len += (size_t)snprintf(opts + len, cap - len, "lowerdir=");
	const struct json *lower = json_get(rootfs, "lowerdirs");
	int first = 1;
	for (const struct json *c = lower ? lower->child : NULL; c && len < cap; c = c->next, first = 0)
		len += (size_t)snprintf(opts + len, cap - len, "%s%s", first ? "" : ":", c->str);
	len += (size_t)snprintf(opts + len, cap - len, ",upperdir=%s,workdir=%s", json_str(rootfs, "upperdir"), json_str(rootfs, "workdir"));
	if (len >= cap)
		die_detail("mount-rootfs", target, E2BIG, "fuse-overlayfs options too long");

	int errp[2];
	if (pipe2(errp, O_CLOEXEC) < 0)
		die_errno("pipe", NULL, errno);
	pid_t parent = getpid();
	fuse_pid = fork();
	if (fuse_pid < 0)
		die_errno("fork", program, errno);
	if (fuse_pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		sigprocmask(SIG_SETMASK, oldmask, NULL);
		dup2(errp[1], 2);
		int null = open("/dev/null", O_RDWR);
		dup2(null, 0);
		dup2(null, 1);
		// lower dirs are relative to the layers directory, as for the kernel's overlay
		if (layers && chdir(layers) < 0)
			_exit(126);
		execl(program, program, "-f", "-o", opts, target, (char *)NULL);
		fprintf(stderr, "cannot execute %s: %s", program, strerror(errno));
		_exit(127);
	}
	close(errp[1]);
	free(opts);
	struct timespec start, now;
	clock_gettime(CLOCK_MONOTONIC, &start);
	while (!mounted(target)) {
		int st;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (waitpid(fuse_pid, &st, WNOHANG) == fuse_pid || now.tv_sec - start.tv_sec > 10) {
			char err[2048] = "";
			fcntl(errp[0], F_SETFL, O_NONBLOCK);
			ssize_t n = read(errp[0], err, sizeof(err) - 1);
			err[n > 0 ? n : 0] = '\0';
			die_detail("fuse-overlayfs", program, EIO, *err ? err : "it did not mount the root filesystem within 10 s");
		}
		usleep(500);
	}
	close(errp[0]);
	fuse_target = target;
}

/* Before the waiter removes the container's files: the mount and its daemon go first. */
void fuse_unmount_rootfs(void)
{
	if (fuse_target)
		umount2(fuse_target, MNT_DETACH);
	if (fuse_pid > 0) {
		kill(fuse_pid, SIGKILL);
		waitpid(fuse_pid, NULL, 0);
		fuse_pid = -1;
	}
}
