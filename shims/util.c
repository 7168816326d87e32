// Small helpers every part of the shim uses, at the bottom of it: the status fd and failures
// reported as data on it (die_*), SKIFF_TRACE, and a few file and pipe operations. Calls nothing
// of the shim's own but json_escape's neighbours here.
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "shim.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

int status_fd = 3;

/* SKIFF_TRACE=1: timings of the shim's steps on stderr, beside skiff's own (core/trace.ts). */
static int tracing = -1;
static struct timespec trace_start;

int trace_enabled(void)
{
	if (tracing < 0) {
		const char *v = getenv("SKIFF_TRACE");
		tracing = v && *v && strcmp(v, "0");
		// skiff's start (CLOCK_MONOTONIC, ns), so both traces count from the same moment
		const char *origin = getenv("SKIFF_TRACE_ORIGIN");
		long long ns = origin ? atoll(origin) : 0;
		if (ns > 0) {
			trace_start.tv_sec = (time_t)(ns / 1000000000LL);
			trace_start.tv_nsec = (long)(ns % 1000000000LL);
		} else {
			clock_gettime(CLOCK_MONOTONIC, &trace_start);
		}
	}
	return tracing;
}

void trace_mark(const char *what)
{
	if (!trace_enabled())
		return;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	double ms = (double)(now.tv_sec - trace_start.tv_sec) * 1e3 + (double)(now.tv_nsec - trace_start.tv_nsec) / 1e6;
	fprintf(stderr, "skiff-shim trace: %8.1f ms  [%d] %s\n", ms, getpid(), what);
}

void json_escape(char *out, size_t cap, const char *s)
{
	size_t o = 0;
	for (; s && *s && o + 7 < cap; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = (char)c;
		} else if (c < 0x20) {
			o += (size_t)snprintf(out + o, cap - o, "\\u%04x", c);
		} else {
			out[o++] = (char)c;
		}
	}
	out[o] = '\0';
}

void send_message(const char *json)
{
	// One write per line: lines from several processes never interleave (writes below
	// PIPE_BUF to a socket or pipe are atomic).
	char line[8192];
	int n = snprintf(line, sizeof(line), "%s\n", json);
	if (n > 0 && write(status_fd, line, (size_t)n) < 0) {
		// nobody is listening any more; nothing else to do
	}
}

void die_detail(const char *op, const char *path, int err, const char *detail)
{
	char p[2048], d[4096], msg[7000];
	json_escape(p, sizeof(p), path ? path : "");
	json_escape(d, sizeof(d), detail ? detail : "");
	snprintf(msg, sizeof(msg), "{\"type\":\"error\",\"op\":\"%s\",\"path\":\"%s\",\"errno\":%d,\"detail\":\"%s\"}", op, p, err, d);
	send_message(msg);
	if (!strcmp(op, "exec"))
		_exit(err == ENOENT ? 127 : 126);
	_exit(125);
}

ssize_t read_small_file(const char *path, char *buf, size_t size)
{
	buf[0] = '\0';
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, size - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return n;
}

void die_errno(const char *op, const char *path, int err)
{
	die_detail(op, path, err ? err : errno, NULL);
}

/* 0, 1 and 2 onto /dev/null (stderr kept when tracing): skiff's terminal or pipe is not ours now. */
void quiet_stdio(void)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null < 0)
		return;
	dup2(null, 0);
	dup2(null, 1);
	if (!trace_enabled())
		dup2(null, 2);
	close(null);
}

/* One line from skiff (a plan is a few KB): read in blocks, the rest kept for the next line. */
char *read_line(int fd)
{
	static char *pending;
	static size_t have;
	size_t cap = have + (1 << 16), len = have;
	char *buf = malloc(cap + 1);
	if (!buf)
		die_errno("malloc", NULL, ENOMEM);
	if (have)
		memcpy(buf, pending, have);
	free(pending);
	pending = NULL;
	have = 0;
	size_t scanned = 0;
	for (;;) {
		char *nl = memchr(buf + scanned, '\n', len - scanned);
		if (nl) {
			size_t rest = len - (size_t)(nl - buf) - 1;
			if (rest) {
				if (!(pending = malloc(rest)))
					die_errno("malloc", NULL, ENOMEM);
				memcpy(pending, nl + 1, rest);
				have = rest;
			}
			*nl = '\0';
			return buf;
		}
		scanned = len;
		if (len == cap && !(buf = realloc(buf, (cap *= 2) + 1)))
			die_errno("malloc", NULL, ENOMEM);
		ssize_t n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die_errno("read-plan", NULL, errno);
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	return buf;
}

int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, text, strlen(text));
	int err = errno;
	close(fd);
	errno = err;
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

/* Parent death kills us. Check the parent is still the one we expect: it may already be gone. */
void die_with_parent(pid_t parent)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	// In a new pid namespace the parent lives outside it and getppid() is 0.
	pid_t now = getppid();
	if (now != parent && now != 0)
		_exit(125);
}

void sync_write(int fd, char c)
{
	while (write(fd, &c, 1) < 0 && errno == EINTR) {
	}
}

char sync_read(int fd)
{
	char c = 0;
	ssize_t n;
	while ((n = read(fd, &c, 1)) < 0 && errno == EINTR) {
	}
	return n == 1 ? c : 0;
}

int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO; // nothing written, and no error: would loop for ever
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}
