// The container's filesystem: root propagation, the rootfs mount, the plan's mount operations
// (each target resolved inside the rootfs so an image's symlink can never redirect a mount to the
// host), then pivot_root. Runs in init, inside the new user and mount namespaces.
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "shim.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <unistd.h>

static int rootfd = -1;

static int openat2_in_root(const char *path, int flags)
{
	struct open_how how = { .flags = (unsigned long long)(flags | O_CLOEXEC),
				.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
	while (*path == '/')
		path++;
	return (int)syscall(SYS_openat2, rootfd, *path ? path : ".", &how, sizeof(how));
}

static const char *fdpath(int fd, char *buf, size_t cap)
{
	snprintf(buf, cap, "/proc/self/fd/%d", fd);
	return buf;
}

/*
 * Open `target` (absolute inside the container) as O_PATH, creating what is missing: directories
 * for every component, and for the last one a directory or, with `file`, an empty file.
 * Components are created one at a time under RESOLVE_IN_ROOT, so ".." and absolute symlinks in
 * the image stay inside the rootfs.
 */
static int open_target(const char *target, int file)
{
	int fd = openat2_in_root(target, O_PATH);
	if (fd >= 0 || errno != ENOENT)
		return fd;
	char *copy = strdup(target);
	if (!copy)
		die_errno("malloc", NULL, 0);
	size_t len = strlen(copy);
	for (size_t i = 1; i <= len; i++) {
		if (i != len && copy[i] != '/')
			continue;
		char saved = copy[i];
		copy[i] = '\0';
		int last = i == len;
		int probe = openat2_in_root(copy, O_PATH);
		if (probe >= 0) {
			close(probe);
		} else if (errno == ENOENT) {
			char *slash = strrchr(copy, '/');
			*slash = '\0';
			int parent = openat2_in_root(*copy ? copy : "/", O_PATH | O_DIRECTORY);
			*slash = '/';
			if (parent < 0) {
				free(copy);
				return -1;
			}
			int rc;
			if (last && file) {
				rc = openat(parent, slash + 1, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
				if (rc >= 0)
					close(rc);
			} else {
				rc = mkdirat(parent, slash + 1, 0755);
			}
			int err = errno;
			close(parent);
			if (rc < 0 && err != EEXIST) {
				free(copy);
				errno = err;
				return -1;
			}
		} else {
			free(copy);
			return -1;
		}
		copy[i] = saved;
	}
	free(copy);
	return openat2_in_root(target, O_PATH);
}

struct flag_name {
	const char *name;
	unsigned long bit;
};

static const struct flag_name flag_names[] = {
	{ "ro", MS_RDONLY },	    { "nosuid", MS_NOSUID },   { "nodev", MS_NODEV },
	{ "noexec", MS_NOEXEC },    { "relatime", MS_RELATIME }, { "strictatime", MS_STRICTATIME },
	{ "noatime", MS_NOATIME },  { "rec", MS_REC },	       { "private", MS_PRIVATE },
	{ "rprivate", MS_PRIVATE | MS_REC }, { "slave", MS_SLAVE }, { "rslave", MS_SLAVE | MS_REC },
	{ "shared", MS_SHARED },    { "rshared", MS_SHARED | MS_REC }, { "unbindable", MS_UNBINDABLE },
	{ "runbindable", MS_UNBINDABLE | MS_REC }, { "sync", MS_SYNCHRONOUS }, { "dirsync", MS_DIRSYNC },
	{ "nodiratime", MS_NODIRATIME },
};

#define PROPAGATION (MS_PRIVATE | MS_SLAVE | MS_SHARED | MS_UNBINDABLE)

static unsigned long parse_flags(const struct json *arr)
{
	unsigned long flags = 0;
	for (const struct json *c = arr && arr->type == JSON_ARRAY ? arr->child : NULL; c; c = c->next)
		for (size_t i = 0; i < sizeof(flag_names) / sizeof(flag_names[0]); i++)
			if (c->type == JSON_STRING && !strcmp(c->str, flag_names[i].name))
				flags |= flag_names[i].bit;
	return flags;
}

/*
 * In a user namespace, flags of a mount inherited from a more privileged namespace are locked
 * (mount_namespaces(7)): a remount that would clear nosuid, nodev, noexec, ro or an atime flag
 * fails with EPERM. Keep whatever the mount already has.
 */
static unsigned long locked_flags(const char *path)
{
	struct statvfs sv;
	unsigned long f = 0;
	if (statvfs(path, &sv) < 0)
		return 0;
	if (sv.f_flag & ST_RDONLY) f |= MS_RDONLY;
	if (sv.f_flag & ST_NOSUID) f |= MS_NOSUID;
	if (sv.f_flag & ST_NODEV) f |= MS_NODEV;
	if (sv.f_flag & ST_NOEXEC) f |= MS_NOEXEC;
	if (sv.f_flag & ST_NOATIME) f |= MS_NOATIME;
	if (sv.f_flag & ST_NODIRATIME) f |= MS_NODIRATIME;
	if (sv.f_flag & ST_RELATIME) f |= MS_RELATIME;
	return f;
}

/* Remount the bind mount now on top of `target` with `flags` (plus the locked ones). */
static int remount_bind(const char *target, unsigned long flags)
{
	char buf[64];
	int fd = openat2_in_root(target, O_PATH);
	if (fd < 0)
		return -1;
	const char *p = fdpath(fd, buf, sizeof(buf));
	unsigned long f = (flags & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)) | locked_flags(p);
	int rc = mount(NULL, p, NULL, MS_REMOUNT | MS_BIND | f, NULL);
	int err = errno;
	close(fd);
	errno = err;
	return rc;
}

static int do_bind(const char *source, const char *target, unsigned long flags)
{
	struct stat st;
	char buf[64];
	if (stat(source, &st) < 0)
		return -1;
	int fd = open_target(target, !S_ISDIR(st.st_mode));
	if (fd < 0)
		return -1;
	int rc = mount(source, fdpath(fd, buf, sizeof(buf)), NULL, MS_BIND | (flags & MS_REC), NULL);
	int err = errno;
	close(fd);
	errno = err;
	if (rc < 0)
		return -1;
	if (flags & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC) && remount_bind(target, flags) < 0)
		return -1;
	// an OCI mount's propagation ("rshared", "private"...), applied to the new mount
	if (flags & PROPAGATION) {
		if ((fd = openat2_in_root(target, O_PATH)) < 0)
			return -1;
		rc = mount(NULL, fdpath(fd, buf, sizeof(buf)), NULL, (flags & PROPAGATION) | (flags & MS_REC), NULL);
		err = errno;
		close(fd);
		errno = err;
	}
	return rc;
}

static int do_mount(const struct json *op)
{
	char buf[64];
	const char *target = json_str(op, "target");
	unsigned long flags = parse_flags(json_get(op, "flags"));
	int fd = open_target(target, 0);
	if (fd < 0)
		return -1;
	// propagation is not a flag mount(2) takes with a new mount: it is set after, on the new mount
	// (the fd above is the directory under it)
	int rc = mount(json_str(op, "source"), fdpath(fd, buf, sizeof(buf)), json_str(op, "fstype"), flags & ~(PROPAGATION | MS_REC), json_str(op, "data"));
	int err = errno;
	close(fd);
	errno = err;
	if (rc < 0 || !(flags & PROPAGATION))
		return rc;
	if ((fd = openat2_in_root(target, O_PATH)) < 0)
		return -1;
	rc = mount(NULL, fdpath(fd, buf, sizeof(buf)), NULL, flags & (PROPAGATION | MS_REC), NULL);
	err = errno;
	close(fd);
	errno = err;
	return rc;
}

/* /dev/null over a file, an empty read-only tmpfs over a directory; absent paths stay absent. */
static int do_mask(const char *target)
{
	char buf[64];
	struct stat st;
	int fd = openat2_in_root(target, O_PATH);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	int rc = fstat(fd, &st);
	if (rc == 0) {
		if (S_ISDIR(st.st_mode))
			rc = mount("tmpfs", fdpath(fd, buf, sizeof(buf)), "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=0,mode=0555");
		else
			rc = mount("/dev/null", fdpath(fd, buf, sizeof(buf)), NULL, MS_BIND, NULL);
	}
	int err = errno;
	close(fd);
	errno = err;
	return rc;
}

static int do_readonly(const char *target)
{
	char buf[64];
	int fd = openat2_in_root(target, O_PATH);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	const char *p = fdpath(fd, buf, sizeof(buf));
	// the root is a mount of its own (the overlay, the bound bundle root): remounted in place, so
	// that no second copy of its submounts shows in the mount table
	int rc = strcmp(target, "/") ? mount(p, p, NULL, MS_BIND | MS_REC, NULL) : 0;
	int err = errno;
	close(fd);
	if (rc < 0) {
		errno = err;
		return -1;
	}
	return remount_bind(target, MS_RDONLY);
}

/*
 * An OCI config's device made as it asks (real root without a user namespace only: skiff binds
 * the host's node everywhere else): type, number, mode and owner; one already there is replaced.
 */
static int do_mknod(const struct json *op)
{
	const char *target = json_str(op, "target");
	char *copy = strdup(target);
	char *slash = strrchr(copy, '/');
	*slash = '\0';
	int parent = open_target(*copy ? copy : "/", 0);
	int rc = -1;
	if (parent >= 0) {
		const char *name = slash + 1;
		const char *type = json_str(op, "type");
		mode_t perm = (mode_t)json_num(op, "mode", 0666) & 07777;
		dev_t dev = makedev((unsigned)json_num(op, "major", 0), (unsigned)json_num(op, "minor", 0));
		unlinkat(parent, name, 0);
		mode_t kind = type && !strcmp(type, "b") ? S_IFBLK : type && !strcmp(type, "p") ? S_IFIFO : S_IFCHR;
		rc = mknodat(parent, name, perm | kind, dev);
		if (rc == 0)
			rc = fchownat(parent, name, (uid_t)json_num(op, "uid", 0), (gid_t)json_num(op, "gid", 0), AT_SYMLINK_NOFOLLOW);
		// the umask took bits from the mode asked for
		if (rc == 0)
			rc = fchmodat(parent, name, perm, 0);
		int err = errno;
		close(parent);
		errno = err;
	}
	free(copy);
	return rc;
}

/* --sysctl: a value written to /proc/sys in the container's own namespaces (before /proc/sys is
 * made read-only), through its procfs: only namespaced sysctls exist there to be written. */
static int do_sysctl(const char *target, const char *value)
{
	int fd = openat2_in_root(target, O_WRONLY);
	if (fd < 0)
		return -1;
	ssize_t n = value ? write(fd, value, strlen(value)) : -1;
	int err = errno;
	close(fd);
	errno = err;
	return n < 0 ? -1 : 0;
}

static int do_symlink(const char *target, const char *link_to)
{
	char *copy = strdup(target);
	char *slash = strrchr(copy, '/');
	*slash = '\0';
	int parent = open_target(*copy ? copy : "/", 0);
	if (parent < 0) {
		free(copy);
		return -1;
	}
	int rc = symlinkat(link_to, parent, slash + 1);
	int err = errno;
	close(parent);
	free(copy);
	if (rc < 0 && err == EEXIST)
		return 0;
	errno = err;
	return rc;
}

/* --writable-tmpfs: the overlay's upper and work directories on a tmpfs of this mount namespace (gone with it). */
void mount_scratch(const struct json *rootfs)
{
	const char *scratch = json_str(rootfs, "scratch");
	if (!scratch)
		return;
	if (mount("tmpfs", scratch, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") < 0)
		die_errno("mount-scratch", scratch, errno);
	char sub[4200];
	snprintf(sub, sizeof(sub), "%s/upper", scratch);
	if (mkdir(sub, 0755) < 0)
		die_errno("mount-scratch", sub, errno);
	snprintf(sub, sizeof(sub), "%s/work", scratch);
	if (mkdir(sub, 0700) < 0)
		die_errno("mount-scratch", sub, errno);
}

static void mount_rootfs(const struct json *rootfs)
{
	const char *kind = json_str(rootfs, "kind");
	const char *target = json_str(rootfs, "target");
	if (!kind || !target)
		die_detail("plan", NULL, EINVAL, "rootfs needs kind and target");
	if (!strcmp(kind, "overlay")) {
		// Lower dirs are relative to layersDir so a long layer list fits in one page of options.
		const char *layers = json_str(rootfs, "layersDir");
		if (layers && chdir(layers) < 0)
			die_errno("mount-rootfs", layers, errno);
		mount_scratch(rootfs);
		size_t cap = 65536, len = 0;
		char *data = malloc(cap);
		len += (size_t)snprintf(data + len, cap - len, "lowerdir=");
		const struct json *lower = json_get(rootfs, "lowerdirs");
		int first = 1;
		for (const struct json *c = lower ? lower->child : NULL; c && len < cap; c = c->next, first = 0)
			len += (size_t)snprintf(data + len, cap - len, "%s%s", first ? "" : ":", c->str);
		len += (size_t)snprintf(data + len, cap - len, ",upperdir=%s,workdir=%s", json_str(rootfs, "upperdir"), json_str(rootfs, "workdir"));
		const struct json *opts = json_get(rootfs, "options");
		for (const struct json *c = opts ? opts->child : NULL; c && len < cap; c = c->next)
			len += (size_t)snprintf(data + len, cap - len, ",%s", c->str);
		if (len >= cap)
			die_detail("mount-rootfs", target, E2BIG, "overlay options too long");
		if (mount("overlay", target, "overlay", 0, data) < 0)
			die_detail("mount-rootfs", target, errno, data);
		free(data);
	} else if (!strcmp(kind, "bind")) {
		const char *source = json_str(rootfs, "source");
		if (mount(source, target, NULL, MS_BIND | MS_REC, NULL) < 0)
			die_errno("mount-rootfs", source, errno);
		if (json_bool(rootfs, "readonly") && mount(NULL, target, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | locked_flags(target), NULL) < 0)
			die_errno("mount-rootfs", target, errno);
	} else if (!strcmp(kind, "fuse-overlayfs")) {
		// mounted already, by the waiter (fuse.c), in the namespace this one was copied from
	} else {
		die_detail("plan", kind, EINVAL, "unknown rootfs kind");
	}
	rootfd = open(target, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		die_errno("open-rootfs", target, errno);
}

void setup_rootfs(const struct json *plan)
{
	// Without a root filesystem (a helper run in the user namespace only) there is nothing to
	// mount, and maybe no mount namespace of our own to do it in.
	const struct json *rootfs = json_get(plan, "rootfs");
	if (!rootfs || rootfs->type != JSON_OBJECT)
		return;
	const char *prop = json_str(plan, "rootPropagation");
	unsigned long pflags = prop && !strcmp(prop, "rslave") ? MS_SLAVE : MS_PRIVATE;
	if (mount(NULL, "/", NULL, MS_REC | pflags, NULL) < 0)
		die_errno("mount-propagation", "/", errno);
	mount_rootfs(rootfs);

	const struct json *mounts = json_get(plan, "mounts");
	for (const struct json *op = mounts ? mounts->child : NULL; op; op = op->next) {
		const char *kind = json_str(op, "kind");
		const char *target = json_str(op, "target");
		int rc;
		if (!kind || !target)
			die_detail("plan", NULL, EINVAL, "mount op needs kind and target");
		if (!strcmp(kind, "mount"))
			rc = do_mount(op);
		else if (!strcmp(kind, "bind"))
			rc = do_bind(json_str(op, "source"), target, parse_flags(json_get(op, "flags")));
		else if (!strcmp(kind, "symlink"))
			rc = do_symlink(target, json_str(op, "linkTo"));
		else if (!strcmp(kind, "mask"))
			rc = do_mask(target);
		else if (!strcmp(kind, "readonly"))
			rc = do_readonly(target);
		else if (!strcmp(kind, "sysctl"))
			rc = do_sysctl(target, json_str(op, "value"));
		else if (!strcmp(kind, "mknod"))
			rc = do_mknod(op);
		else
			die_detail("plan", kind, EINVAL, "unknown mount op");
		if (rc < 0 && !json_bool(op, "optional"))
			die_detail(kind, target, errno, json_str(op, "fstype") ? json_str(op, "fstype") : json_str(op, "source"));
	}

}

/* pivot_root into the root filesystem setup_rootfs made (after the createContainer hooks). */
void enter_rootfs(const struct json *plan)
{
	const struct json *rootfs = json_get(plan, "rootfs");
	if (!rootfs || rootfs->type != JSON_OBJECT)
		return;
	// pivot_root(".", ".") stacks the old root on top of the new one; detaching it leaves only
	// the container's tree (the trick runc and crun use; no directory for the old root needed).
	const char *target = json_str(rootfs, "target");
	if (fchdir(rootfd) < 0)
		die_errno("chdir", target, errno);
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		die_errno("pivot_root", target, errno);
	if (umount2(".", MNT_DETACH) < 0)
		die_errno("umount-old-root", "/", errno);
	if (chdir("/") < 0)
		die_errno("chdir", "/", errno);
	close(rootfd);
	// an OCI config's rootfsPropagation ("shared", "rslave"...): the container's own root, now
	const char *prop = json_str(plan, "rootfsPropagation");
	for (size_t i = 0; prop && i < sizeof(flag_names) / sizeof(flag_names[0]); i++)
		if (!strcmp(prop, flag_names[i].name) && mount(NULL, "/", NULL, flag_names[i].bit, NULL) < 0)
			die_errno("mount-propagation", "/", errno);
}
