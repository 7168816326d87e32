// FUSE mounts of the root filesystem — the fuse-overlayfs storage driver's merged root, a
// single-file image's squashfuse: the waiter, as root of the user namespace, mounts them in a
// mount namespace of its own, before init (which copies that namespace) exists. The daemons run
// as the waiter's children, outside the container's pid namespace, and die with it.
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
#include <linux/capability.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The FUSE daemons this waiter started (fuse-overlayfs, squashfuse), and where they mount. */
#define MAX_FUSE 8
static pid_t fuse_pids[MAX_FUSE];
static const char *fuse_targets[MAX_FUSE];
static int nfuse;

static int mounted(const char *target)
{
	struct stat t, p;
	char parent[4200];
	snprintf(parent, sizeof(parent), "%s/..", target);
	return stat(target, &t) == 0 && stat(parent, &p) == 0 && t.st_dev != p.st_dev;
}

/*
 * A waiter that is not root of its namespace (keep-id maps only the user's own id) has every
 * capability there, but an exec would drop them: the daemon keeps CAP_SYS_ADMIN (to mount) as an
 * ambient capability.
 */
static void keep_mount_capability(void)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];
	if (getuid() == 0 || syscall(SYS_capget, &hdr, data) < 0)
		return;
	data[CAP_TO_INDEX(CAP_SYS_ADMIN)].inheritable |= CAP_TO_MASK(CAP_SYS_ADMIN);
	if (syscall(SYS_capset, &hdr, data) == 0)
		prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_SYS_ADMIN, 0, 0);
}

/* One daemon: argv from the plan, run in `cwd` in the foreground (-f), until `target` is a mount. */
static void fuse_mount_one(const struct json *m, const sigset_t *oldmask)
{
	char **argv = json_strv(json_get(m, "args"));
	const char *target = json_str(m, "target");
	const char *cwd = json_str(m, "cwd");
	if (!argv || !argv[0] || !target || nfuse == MAX_FUSE)
		die_detail("plan", NULL, EINVAL, "a FUSE mount needs args and target");
	int errp[2];
	if (pipe2(errp, O_CLOEXEC) < 0)
		die_errno("pipe", NULL, errno);
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0)
		die_errno("fork", argv[0], errno);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		sigprocmask(SIG_SETMASK, oldmask, NULL);
		dup2(errp[1], 2);
		int null = open("/dev/null", O_RDWR);
		dup2(null, 0);
		dup2(null, 1);
		// fuse-overlayfs: lower dirs are relative to the layers directory, as for the kernel's overlay
		if (cwd && chdir(cwd) < 0)
			_exit(126);
		keep_mount_capability();
		execv(argv[0], argv);
		fprintf(stderr, "cannot execute %s: %s", argv[0], strerror(errno));
		_exit(127);
	}
	close(errp[1]);
	fuse_pids[nfuse] = pid;
	fuse_targets[nfuse++] = target;
	struct timespec start, now;
	clock_gettime(CLOCK_MONOTONIC, &start);
	while (!mounted(target)) {
		int st;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (waitpid(pid, &st, WNOHANG) == pid || now.tv_sec - start.tv_sec > 10) {
			char err[2048] = "";
			fcntl(errp[0], F_SETFL, O_NONBLOCK);
			ssize_t n = read(errp[0], err, sizeof(err) - 1);
			err[n > 0 ? n : 0] = '\0';
			die_detail("fuse-mount", argv[0], EIO, *err ? err : "it did not mount within 10 s");
		}
		usleep(500);
	}
	close(errp[0]);
}

/*
 * The root filesystem's FUSE mounts (rootfs.fuse: fuse-overlayfs's merged root, squashfuse's
 * image), made in a mount namespace of the waiter's own before init (which copies it) exists.
 */
void fuse_mount_rootfs(const struct json *plan, const sigset_t *oldmask)
{
	const struct json *list = json_get(json_get(plan, "rootfs"), "fuse");
	if (!list || list->type != JSON_ARRAY || !list->child)
		return;
	if (unshare(CLONE_NEWNS) < 0)
		die_errno("unshare-mount", NULL, errno);
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		die_errno("make-rprivate", "/", errno);
	// fuse-overlayfs with --writable-tmpfs: its upper directory is on the tmpfs (the kernel's
	// overlay gets its tmpfs from init, in the namespace init makes)
	const struct json *rootfs = json_get(plan, "rootfs");
	const char *kind = json_str(rootfs, "kind");
	if (kind && !strcmp(kind, "fuse-overlayfs"))
		mount_scratch(rootfs);
	for (const struct json *m = list->child; m; m = m->next)
		fuse_mount_one(m, oldmask);
}

/* Before the waiter removes the container's files: the mounts and their daemons go first. */
void fuse_unmount_rootfs(void)
{
	for (int i = nfuse - 1; i >= 0; i--) {
		umount2(fuse_targets[i], MNT_DETACH);
		kill(fuse_pids[i], SIGKILL);
		waitpid(fuse_pids[i], NULL, 0);
	}
	nfuse = 0;
}
