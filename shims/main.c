// skiff-shim entry: error reporting shared by every mode, and the mode switch.
#include "shim.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/syscall.h>
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

/*
 * skiff starts us with posix_spawn (shims/addon/spawn.c), and glibc's leaves the signals it keeps
 * for itself (32, 33) ignored in the child, which exec keeps: the container's processes would
 * inherit that. Their default back, through the kernel's own call (glibc's sigaction refuses them).
 */
static void default_reserved_signals(void)
{
	struct {
		void (*handler)(int);
		unsigned long flags;
		void (*restorer)(void);
		unsigned long mask;
	} dfl = { SIG_DFL, 0, NULL, 0 };
	for (int sig = 32; sig < SIGRTMIN; sig++)
		syscall(SYS_rt_sigaction, sig, &dfl, NULL, sizeof(dfl.mask));
}

int main(int argc, char **argv)
{
	default_reserved_signals();
	trace_mark("shim started");
	if (argc >= 2 && !strcmp(argv[1], "run"))
		return run_main();
	if (argc >= 2 && !strcmp(argv[1], "exec"))
		return exec_main();
	if (argc >= 2 && !strcmp(argv[1], "fsops"))
		return fsops_main(argc, argv);
	fprintf(stderr, "skiff-shim: internal helper of skiff; usage: skiff-shim run | exec | fsops ROOT\n");
	return 2;
}
