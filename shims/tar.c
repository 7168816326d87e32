// The builtins behind `skiff cp`, run inside the container's mount namespace (so every path,
// symlinks included, resolves in the container's own tree and nothing of the host is reachable):
//   tar-out PATH NAME [follow]  write PATH as a POSIX tar (ustar + pax) to stdout, its top entry
//                               named NAME ("." for the contents of a directory)
//   tar-in DEST [FLAG...]       read a tar from stdin into DEST: into it when it is a directory,
//     else as DEST itself (the top entry renamed), in DEST's parent. Flags: keep-owner (the
//     archive's owners), owner=UID:GID and mode=OCTAL (these instead: COPY --chown, --chmod),
//     parents (make DEST's missing parents), keep-dest (an existing DEST keeps its own mode,
//     owner and time: COPY into /tmp leaves /tmp as it was)
// Errors go to the status fd as {"type":"error"} and the builtin exits 1.
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "shim.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <unistd.h>

#define BLOCK 512

static void out(const void *buf, size_t len)
{
	if (write_all(1, buf, len) < 0)
		die_errno("tar-write", NULL, errno);
}

/* ---- tar-out ----------------------------------------------------------------------------------- */

/* width-1 octal digits and a NUL; a value too large for the field is written as the largest */
static void octal(char *field, size_t width, unsigned long long v)
{
	unsigned long long max = (1ULL << (3 * (width - 1))) - 1;
	if (v > max)
		v = max;
	field[width - 1] = '\0';
	for (size_t i = width - 1; i-- > 0; v >>= 3)
		field[i] = (char)('0' + (v & 7));
}

/* One pax record "LEN key=value\n", LEN counting itself. */
static size_t pax_record(char *buf, size_t cap, const char *key, const char *value)
{
	size_t body = strlen(key) + strlen(value) + 3; // ' ', '=', '\n'
	size_t len = body + 1;
	while (snprintf(NULL, 0, "%zu", len) + body != len)
		len++;
	return (size_t)snprintf(buf, cap, "%zu %s=%s\n", len, key, value);
}

static void header(const char *name, const struct stat *st, char type, const char *link, unsigned long long size)
{
	char pax[16384];
	size_t paxlen = 0;
	if (strlen(name) > 99)
		paxlen += pax_record(pax + paxlen, sizeof(pax) - paxlen, "path", name);
	if (link && strlen(link) > 99)
		paxlen += pax_record(pax + paxlen, sizeof(pax) - paxlen, "linkpath", link);
	if (size >= 077777777777ULL) {
		char s[32];
		snprintf(s, sizeof(s), "%llu", size);
		paxlen += pax_record(pax + paxlen, sizeof(pax) - paxlen, "size", s);
	}
	if (paxlen) {
		struct stat none = { 0 };
		none.st_mode = 0644;
		none.st_mtime = st->st_mtime;
		header("././@PaxHeader", &none, 'x', NULL, paxlen);
		out(pax, paxlen);
		static const char zero[BLOCK];
		if (paxlen % BLOCK)
			out(zero, BLOCK - paxlen % BLOCK);
	}
	char h[BLOCK];
	memset(h, 0, sizeof(h));
	strncpy(h, name, 99);
	octal(h + 100, 8, st->st_mode & 07777);
	octal(h + 108, 8, st->st_uid);
	octal(h + 116, 8, st->st_gid);
	octal(h + 124, 12, size < 077777777777ULL ? size : 0);
	octal(h + 136, 12, (unsigned long long)(st->st_mtime > 0 ? st->st_mtime : 0));
	memset(h + 148, ' ', 8);
	h[156] = type;
	if (link)
		strncpy(h + 157, link, 99);
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	if (type == '3' || type == '4') {
		octal(h + 329, 8, major(st->st_rdev));
		octal(h + 337, 8, minor(st->st_rdev));
	}
	unsigned sum = 0;
	for (int i = 0; i < BLOCK; i++)
		sum += (unsigned char)h[i];
	snprintf(h + 148, 8, "%06o", sum);
	out(h, BLOCK);
}

/* Files seen with more than one link: the second and later become hard links in the archive. */
struct seen {
	dev_t dev;
	ino_t ino;
	char *name;
	struct seen *next;
};
static struct seen *seen_files;

/* export: stay on the root's filesystem (no /proc, /sys, /dev or volumes); their mount points stay, empty */
static int one_fs;
static dev_t root_dev;

/* An entry's path in the container, for errors: the archive names the copy's top `top_name`. */
static const char *top_path = "", *top_name = ".";
static const char *container_path(const char *name)
{
	static char buf[4200];
	size_t n = strlen(top_name);
	int whole = !strcmp(top_name, ".");
	if (!whole && (strncmp(name, top_name, n) || (name[n] && name[n] != '/')))
		return name;
	snprintf(buf, sizeof(buf), whole ? "%s/%s" : "%s%s", whole && !strcmp(top_path, "/") ? "" : top_path, whole ? name : name + n);
	return buf;
}

static void put_entry(int dirfd, const char *entry, const char *name, int follow)
{
	struct stat st;
	if (fstatat(dirfd, entry, &st, follow ? 0 : AT_SYMLINK_NOFOLLOW) < 0)
		die_errno("tar-stat", container_path(name), errno);
	if (S_ISREG(st.st_mode) && st.st_nlink > 1) {
		for (struct seen *s = seen_files; s; s = s->next) {
			if (s->dev == st.st_dev && s->ino == st.st_ino) {
				header(name, &st, '1', s->name, 0);
				return;
			}
		}
		struct seen *s = malloc(sizeof(*s));
		*s = (struct seen){ st.st_dev, st.st_ino, strdup(name), seen_files };
		seen_files = s;
	}
	if (S_ISLNK(st.st_mode)) {
		char target[4096];
		ssize_t n = readlinkat(dirfd, entry, target, sizeof(target) - 1);
		if (n < 0)
			die_errno("tar-readlink", container_path(name), errno);
		target[n] = '\0';
		header(name, &st, '2', target, 0);
		return;
	}
	if (S_ISFIFO(st.st_mode)) {
		header(name, &st, '6', NULL, 0);
		return;
	}
	if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) || S_ISSOCK(st.st_mode)) {
		fprintf(stderr, "skiff cp: skipped %s: device nodes and sockets are not copied\n", name);
		return;
	}
	if (S_ISDIR(st.st_mode)) {
		char dirname_[4200];
		snprintf(dirname_, sizeof(dirname_), "%s/", name);
		header(dirname_, &st, '5', NULL, 0);
		if (one_fs && st.st_dev != root_dev)
			return;
		int fd = openat(dirfd, entry, O_RDONLY | O_DIRECTORY | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW));
		if (fd < 0)
			die_errno("tar-open", container_path(name), errno);
		DIR *d = fdopendir(fd);
		struct dirent *e;
		while ((e = readdir(d))) {
			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			char child[4200];
			snprintf(child, sizeof(child), "%s/%s", name, e->d_name);
			put_entry(fd, e->d_name, child, 0);
		}
		closedir(d);
		return;
	}
	int fd = openat(dirfd, entry, O_RDONLY | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW));
	if (fd < 0)
		die_errno("tar-open", container_path(name), errno);
	header(name, &st, '0', NULL, (unsigned long long)st.st_size);
	char buf[1 << 16];
	unsigned long long left = (unsigned long long)st.st_size;
	while (left > 0) {
		ssize_t n = read(fd, buf, left < sizeof(buf) ? left : sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die_errno("tar-read", name, errno);
		if (n == 0) {
			// the file shrank while it was read: pad with zeros, as the header promised
			memset(buf, 0, sizeof(buf));
			n = (ssize_t)(left < sizeof(buf) ? left : sizeof(buf));
		}
		out(buf, (size_t)n);
		left -= (unsigned long long)n;
	}
	close(fd);
	static const char zero[BLOCK];
	if (st.st_size % BLOCK)
		out(zero, BLOCK - (size_t)(st.st_size % BLOCK));
}

static int tar_out(const char *path, const char *name, int follow)
{
	top_path = path;
	top_name = name;
	char *copy = strdup(path);
	char *parent = dirname(copy);
	char *copy2 = strdup(path);
	char *base = basename(copy2);
	int dirfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		die_errno("tar-open", parent, errno);
	if (!strcmp(name, ".")) {
		// the contents of a directory: its entries at the top of the archive
		int fd = openat(dirfd, !strcmp(path, "/") ? "." : base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			die_errno("tar-open", path, errno);
		struct stat st;
		fstat(fd, &st);
		root_dev = st.st_dev;
		header("./", &st, '5', NULL, 0);
		DIR *d = fdopendir(fd);
		struct dirent *e;
		while ((e = readdir(d))) {
			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			char child[4200];
			snprintf(child, sizeof(child), "./%s", e->d_name);
			put_entry(fd, e->d_name, child, 0);
		}
		closedir(d);
	} else {
		put_entry(dirfd, !strcmp(path, "/") ? "." : base, name, follow);
	}
	static const char zero[BLOCK * 2];
	out(zero, sizeof(zero));
	return 0;
}

/* ---- tar-in ------------------------------------------------------------------------------------ */

static int read_full(int fd, void *buf, size_t len)
{
	char *p = buf;
	while (len > 0) {
		ssize_t n = read(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static unsigned long long parse_octal(const char *f, size_t width)
{
	unsigned long long v = 0;
	for (size_t i = 0; i < width && f[i]; i++) {
		if (f[i] == ' ')
			continue;
		if (f[i] < '0' || f[i] > '7')
			break;
		v = v * 8 + (unsigned long long)(f[i] - '0');
	}
	return v;
}

/* Skip `size` bytes of data plus padding. */
static void skip_data(unsigned long long size)
{
	char buf[BLOCK];
	unsigned long long blocks = (size + BLOCK - 1) / BLOCK;
	while (blocks--)
		if (read_full(0, buf, BLOCK) < 0)
			die_detail("tar-read", NULL, EIO, "the archive ends early");
}

/* Read `size` bytes of an extended header into a string. */
static char *read_text(unsigned long long size)
{
	if (size > (1 << 20))
		die_detail("tar-read", NULL, EINVAL, "an extended header larger than 1 MiB");
	size_t padded = (size_t)((size + BLOCK - 1) / BLOCK * BLOCK);
	char *buf = malloc(padded + 1);
	if (read_full(0, buf, padded) < 0)
		die_detail("tar-read", NULL, EIO, "the archive ends early");
	buf[size] = '\0';
	return buf;
}

/* Entry names are relative and never climb: "a/../../b" and "/etc" are refused. */
static int safe_name(const char *name)
{
	if (name[0] == '/')
		return 0;
	const char *p = name;
	while (*p) {
		size_t len = strcspn(p, "/");
		if (len == 2 && p[0] == '.' && p[1] == '.')
			return 0;
		p += len;
		while (*p == '/')
			p++;
	}
	return 1;
}

static void make_parents(char *path)
{
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		mkdir(path, 0755);
		*p = '/';
	}
}

struct tar_in_flags {
	int keep_owner, parents, keep_dest;
	long uid, gid; // -1: as the archive says (with keep_owner) or ours
	long mode;     // -1: as the archive says
};

static int tar_in(const char *dest, const struct tar_in_flags *f)
{
	int keep_owner = f->keep_owner || f->uid >= 0;
	if (f->parents) {
		char *c = strdup(dest);
		make_parents(c);
		free(c);
	}
	// the top entry "." of a directory's contents, when DEST already is a directory
	int dest_existed = 0;
	// Where entries go, and what the top entry is called there.
	char root[4096], rename_to[4096] = "";
	struct stat st;
	if (stat(dest, &st) == 0 && S_ISDIR(st.st_mode)) {
		snprintf(root, sizeof(root), "%s", dest);
		dest_existed = 1;
	} else {
		char *c1 = strdup(dest), *c2 = strdup(dest);
		snprintf(root, sizeof(root), "%s", dirname(c1));
		snprintf(rename_to, sizeof(rename_to), "%s", basename(c2));
		if (stat(root, &st) < 0 || !S_ISDIR(st.st_mode))
			die_detail("tar-in", root, ENOENT, "the destination's directory does not exist");
	}
	char *pax_path = NULL, *pax_link = NULL, *long_name = NULL, *long_link = NULL;
	unsigned long long pax_size = 0;
	int have_pax_size = 0;
	for (;;) {
		char h[BLOCK];
		if (read_full(0, h, BLOCK) < 0)
			break; // EOF without the end blocks: what came is kept
		int empty = 1;
		for (int i = 0; i < BLOCK && empty; i++)
			empty = !h[i];
		if (empty)
			break;
		char type = h[156];
		unsigned long long size = parse_octal(h + 124, 12);
		if (type == 'x' || type == 'g') {
			char *text = read_text(size);
			if (type == 'x') {
				for (char *rec = text; *rec;) {
					char *sp = strchr(rec, ' ');
					long len = strtol(rec, NULL, 10);
					if (!sp || len <= 0)
						break;
					char *kv = sp + 1, *eq = strchr(kv, '='), *end = rec + len - 1;
					if (eq && eq < end) {
						*end = '\0';
						*eq = '\0';
						if (!strcmp(kv, "path"))
							pax_path = strdup(eq + 1);
						else if (!strcmp(kv, "linkpath"))
							pax_link = strdup(eq + 1);
						else if (!strcmp(kv, "size")) {
							pax_size = strtoull(eq + 1, NULL, 10);
							have_pax_size = 1;
						}
					}
					rec += len;
				}
			}
			free(text);
			continue;
		}
		if (type == 'L' || type == 'K') {
			char *text = read_text(size);
			if (type == 'L')
				long_name = text;
			else
				long_link = text;
			continue;
		}
		if (have_pax_size)
			size = pax_size;
		char name[4096], link[4096];
		if (pax_path || long_name) {
			snprintf(name, sizeof(name), "%s", pax_path ? pax_path : long_name);
		} else {
			char prefix[156] = "", base[101] = "";
			memcpy(prefix, h + 345, 155);
			memcpy(base, h, 100);
			snprintf(name, sizeof(name), "%s%s%s", prefix, *prefix ? "/" : "", base);
		}
		if (pax_link || long_link)
			snprintf(link, sizeof(link), "%s", pax_link ? pax_link : long_link);
		else {
			memcpy(link, h + 157, 100);
			link[100] = '\0';
		}
		free(pax_path);
		free(pax_link);
		free(long_name);
		free(long_link);
		pax_path = pax_link = long_name = long_link = NULL;
		have_pax_size = 0;

		// drop "./" at the front and "/" at the end
		char *n = name;
		while (n[0] == '.' && n[1] == '/')
			n += 2;
		size_t nl = strlen(n);
		while (nl > 0 && n[nl - 1] == '/')
			n[--nl] = '\0';
		if (!*n)
			n = ".";
		if (!safe_name(n)) {
			fprintf(stderr, "skiff cp: skipped %s: absolute, or climbing out with ..\n", n);
			if (type == '0' || type == '\0' || type == '7')
				skip_data(size);
			continue;
		}
		// the top entry renamed: "top/rest" → "DEST/rest"; after a top "." (a directory's
		// contents) every entry goes below DEST
		static int contents;
		if (!strcmp(n, "."))
			contents = 1;
		char rel[8300];
		if (*rename_to && contents && strcmp(n, ".")) {
			snprintf(rel, sizeof(rel), "%s/%s", rename_to, n);
		} else if (*rename_to) {
			const char *slash = strchr(n, '/');
			snprintf(rel, sizeof(rel), "%s%s", rename_to, slash ? slash : "");
			if (!strcmp(n, "."))
				snprintf(rel, sizeof(rel), "%s", rename_to);
		} else {
			snprintf(rel, sizeof(rel), "%s", n);
		}
		char path[12500];
		snprintf(path, sizeof(path), "%s/%s", root, rel);
		make_parents(path);
		mode_t mode = (mode_t)parse_octal(h + 100, 8) & 07777;
		uid_t uid = f->uid >= 0 ? (uid_t)f->uid : (uid_t)parse_octal(h + 108, 8);
		gid_t gid = f->gid >= 0 ? (gid_t)f->gid : (gid_t)parse_octal(h + 116, 8);
		time_t mtime = (time_t)parse_octal(h + 136, 12);
		if (f->mode >= 0 && type != '2')
			mode = (mode_t)f->mode;
		if (f->keep_dest && dest_existed && !strcmp(n, ".") && type == '5')
			continue; // DEST stays as it is
		struct stat old;
		int exists = lstat(path, &old) == 0;
		switch (type) {
		case '5':
			if (exists && !S_ISDIR(old.st_mode))
				unlink(path);
			if (mkdir(path, mode | 0700) < 0 && errno != EEXIST)
				die_errno("tar-mkdir", path, errno);
			chmod(path, mode);
			break;
		case '2':
			if (exists)
				S_ISDIR(old.st_mode) ? rmdir(path) : unlink(path);
			if (symlink(link, path) < 0)
				die_errno("tar-symlink", path, errno);
			break;
		case '1': {
			char *l = link;
			while (l[0] == '.' && l[1] == '/')
				l += 2;
			if (!safe_name(l)) {
				fprintf(stderr, "skiff cp: skipped hard link %s -> %s: outside the copy\n", n, link);
				break;
			}
			char target[12500], lrel[8300];
			if (*rename_to) {
				const char *slash = strchr(l, '/');
				snprintf(lrel, sizeof(lrel), "%s%s", rename_to, slash ? slash : "");
			} else {
				snprintf(lrel, sizeof(lrel), "%s", l);
			}
			snprintf(target, sizeof(target), "%s/%s", root, lrel);
			if (exists)
				unlink(path);
			if (linkat(AT_FDCWD, target, AT_FDCWD, path, 0) < 0)
				die_errno("tar-link", path, errno);
			break;
		}
		case '6':
			if (exists)
				unlink(path);
			if (mkfifo(path, mode) < 0)
				die_errno("tar-mkfifo", path, errno);
			break;
		case '0':
		case '\0':
		case '7': {
			// a new file in place of whatever was there; a symlink there is replaced, not followed
			if (exists && !S_ISDIR(old.st_mode))
				unlink(path);
			int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode | 0200);
			if (fd < 0)
				die_errno("tar-create", path, errno);
			char buf[1 << 16];
			unsigned long long left = size;
			while (left > 0) {
				size_t want = left < sizeof(buf) ? (size_t)left : sizeof(buf);
				if (read_full(0, buf, want) < 0)
					die_detail("tar-read", path, EIO, "the archive ends early");
				if (write_all(fd, buf, want) < 0)
					die_errno("tar-write", path, errno);
				left -= want;
			}
			if (size % BLOCK) {
				char pad[BLOCK];
				if (read_full(0, pad, BLOCK - size % BLOCK) < 0)
					die_detail("tar-read", path, EIO, "the archive ends early");
			}
			fchmod(fd, mode);
			close(fd);
			break;
		}
		default:
			fprintf(stderr, "skiff cp: skipped %s: entry type %c is not copied (devices are not)\n", n, type);
			if (size)
				skip_data(size);
			continue;
		}
		if (keep_owner && lchown(path, uid, gid) < 0)
			die_errno("tar-chown", path, errno);
		if (keep_owner && type != '2')
			chmod(path, mode); // chown clears setuid bits: put them back
		struct timespec times[2] = { { mtime, 0 }, { mtime, 0 } };
		utimensat(AT_FDCWD, path, times, AT_SYMLINK_NOFOLLOW);
	}
	return 0;
}

/* The builtin named by the process plan's args: ["tar-out", PATH, NAME, follow?] or ["tar-in", DEST, keep-owner?]. */
int tar_builtin(char **argv)
{
	if (argv[0] && !strcmp(argv[0], "tar-out") && argv[1] && argv[2]) {
		one_fs = argv[3] && !strcmp(argv[3], "one-file-system");
		return tar_out(argv[1], argv[2], argv[3] && !strcmp(argv[3], "follow"));
	}
	if (argv[0] && !strcmp(argv[0], "tar-in") && argv[1]) {
		struct tar_in_flags f = { 0, 0, 0, -1, -1, -1 };
		for (char **a = argv + 2; *a; a++) {
			if (!strcmp(*a, "keep-owner"))
				f.keep_owner = 1;
			else if (!strcmp(*a, "parents"))
				f.parents = 1;
			else if (!strcmp(*a, "keep-dest"))
				f.keep_dest = 1;
			else if (!strncmp(*a, "owner=", 6) && sscanf(*a + 6, "%ld:%ld", &f.uid, &f.gid) == 2)
				continue;
			else if (!strncmp(*a, "mode=", 5))
				f.mode = strtol(*a + 5, NULL, 8);
			else
				die_detail("plan", *a, EINVAL, "unknown tar-in flag");
		}
		return tar_in(argv[1], &f);
	}
	die_detail("plan", NULL, EINVAL, "unknown builtin");
}
