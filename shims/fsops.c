// `skiff-shim fsops ROOT`: the file operations Node cannot make, for layer unpacking inside the
// user namespace — overlay whiteouts (char device 0/0) and extended attributes. Records arrive on
// stdin, NUL-separated; every path is relative to ROOT and resolved beneath it without symlinks.
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
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

static int rootfd;

/* The directory holding `rel`, opened beneath ROOT; *base points at the last component. */
static int open_parent(char *rel, const char **base)
{
	char *slash = strrchr(rel, '/');
	const char *dir = ".";
	if (slash) {
		*slash = '\0';
		dir = rel;
		*base = slash + 1;
	} else {
		*base = rel;
	}
	struct open_how how = { .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
				.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };
	int fd = (int)syscall(SYS_openat2, rootfd, *dir ? dir : ".", &how, sizeof(how));
	if (slash)
		*slash = '/';
	return fd;
}

static int unhex(const char *hex, unsigned char *out, size_t *len)
{
	size_t n = strlen(hex);
	if (n % 2)
		return -1;
	for (size_t i = 0; i < n / 2; i++) {
		unsigned v;
		if (sscanf(hex + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (unsigned char)v;
	}
	*len = n / 2;
	return 0;
}

static void whiteout(char *rel)
{
	const char *base;
	int dir = open_parent(rel, &base);
	if (dir < 0)
		die_errno("whiteout", rel, errno);
	if (!*base || !strcmp(base, ".") || !strcmp(base, ".."))
		die_detail("whiteout", rel, EINVAL, "not a file name");
	// A lower layer's whiteout replaces whatever this layer had at that name.
	if (mknodat(dir, base, S_IFCHR | 0000, makedev(0, 0)) < 0) {
		if (errno != EEXIST || unlinkat(dir, base, 0) < 0 || mknodat(dir, base, S_IFCHR | 0000, makedev(0, 0)) < 0)
			die_errno("whiteout", rel, errno);
	}
	close(dir);
}

static void set_xattr(char *rel, const char *name, const char *hex)
{
	unsigned char value[65536];
	size_t len;
	if (strlen(hex) / 2 > sizeof(value) || unhex(hex, value, &len) < 0)
		die_detail("xattr", rel, EINVAL, "bad hex value");
	const char *base;
	int dir = open_parent(rel, &base);
	if (dir < 0)
		die_errno("xattr", rel, errno);
	// O_NOFOLLOW: a symlink is refused (ELOOP) rather than followed; O_PATH fds cannot carry
	// xattr calls, so the file is opened for reading (root of the namespace may, whatever the mode).
	int fd = *base ? openat(dir, base, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC) : openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		die_errno("xattr", rel, errno);
	if (fsetxattr(fd, name, value, len, 0) < 0)
		die_detail("xattr", rel, errno, name);
	close(fd);
	close(dir);
}

/*
 * Say whether directory `rel` is opaque (overlay's mark that it hides what lower layers have
 * there: the kernel's, in a user namespace or not, and fuse-overlayfs's), as a line of JSON.
 */
static void report_opaque(char *rel)
{
	static const char *names[] = { "user.overlay.opaque", "trusted.overlay.opaque", "user.fuseoverlayfs.opaque" };
	const char *base;
	int dir = open_parent(rel, &base);
	if (dir < 0)
		die_errno("opaque", rel, errno);
	int fd = *base ? openat(dir, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) : openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		die_errno("opaque", rel, errno);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char v[8];
		ssize_t n = fgetxattr(fd, names[i], v, sizeof(v));
		if (n == 1 && v[0] == 'y') {
			char line[8300], esc[8200];
			json_escape(esc, sizeof(esc), rel);
			snprintf(line, sizeof(line), "{\"type\":\"opaque\",\"path\":\"%s\"}", esc);
			send_message(line);
			break;
		}
	}
	close(fd);
	close(dir);
}

int fsops_main(int argc, char **argv)
{
	status_fd = 1;
	if (argc < 3) {
		fprintf(stderr, "usage: skiff-shim fsops ROOT < records\n");
		return 2;
	}
	rootfd = open(argv[2], O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		die_errno("open", argv[2], errno);
	size_t cap = 1 << 20, len = 0;
	char *buf = malloc(cap + 1);
	for (;;) {
		if (len == cap && !(buf = realloc(buf, (cap *= 2) + 1)))
			die_errno("malloc", NULL, ENOMEM);
		ssize_t n = read(0, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die_errno("read", "stdin", errno);
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	// Split into NUL-terminated fields.
	char *fields[4];
	char *p = buf, *end = buf + len;
	while (p < end) {
		int nf = 0;
		fields[nf++] = p;
		p += strlen(p) + 1;
		const char *op = fields[0];
		int want = !strcmp(op, "whiteout") || !strcmp(op, "opaque") ? 2 : !strcmp(op, "xattr") ? 4 : 0;
		if (!want)
			die_detail("fsops", op, EINVAL, "unknown record");
		while (nf < want && p < end) {
			fields[nf++] = p;
			p += strlen(p) + 1;
		}
		if (nf < want)
			die_detail("fsops", op, EINVAL, "truncated record");
		if (!strcmp(op, "opaque"))
			report_opaque(fields[1]);
		else if (want == 2)
			whiteout(fields[1]);
		else
			set_xattr(fields[1], fields[2], fields[3]);
	}
	return 0;
}
