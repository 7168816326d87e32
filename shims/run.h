// What the process roles of `run` and `exec` share (outer.c, holder.c, waiter.c, init.c,
// supervise.c, exec.c). Below them: shim.h (mounts, net, fuse, tar, json, util).
//
//   outer (supervisor) ── holder (prelude only)
//     └ waiter ── init ── the command
//   exec ── (joins a running container) ── the process, waited on as run's waiter does
#ifndef SKIFF_RUN_H
#define SKIFF_RUN_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "shim.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/* Signals with a meaning of their own to the supervisor and the waiter (see README.md). */
#define SIG_KILL_CONTAINER 64 /* SIGRTMAX: SIGKILL the container's pid 1 (a signal skiff cannot forward) */
#define SIG_DETACHED 63       /* the waiter to the supervisor: the user detached from the terminal */

/* outer.c: the signals passed on to the container, the plan, and what its supervisor section says */
extern const int forwarded[];
extern const size_t nforwarded;
extern const struct json *plan;
struct supervision {
	const char *dir;     // state.json and exit.json go here; NULL: no state
	int detach;          // outlive skiff, log the container's output
	int detached_later;  // started attached, the user detached (Ctrl-P Ctrl-Q): skiff is gone
	int round;           // 1 for the first start, +1 for every restart
	char start_time[32]; // the supervisor's start time (/proc/PID/stat field 22)
};
/* all off when the plan has no supervisor section */
extern struct supervision sup;
/* attached --rm runs: the waiter's word to the supervisor that the container is out of the store */
extern int end_pipe[2];
void write_maps(pid_t pid);
/* keeper.c: a container on bridge networks is in the keeper's user namespace */
void enter_keeper_userns(const struct json *bridge);

/* holder.c: the prelude's user (and network) namespace, made while skiff still works */
extern pid_t holder;
extern int holder_fd;
extern const struct json *early_helper;
extern int holder_netns;
void start_holder(int netns, const struct json *helper);
void end_holder(void);

/* waiter.c */
void waiter_main(pid_t outer, int syncfd[2], const sigset_t *mask, const sigset_t *oldmask, int logout, int logerr);
int run_waiter(int ptysock, pid_t init, const sigset_t *mask);


/* init.c: the waiter's end of the sync socket, where init reads "network configured" */
extern int network_ready_fd;
void become_process(int ptysock, const sigset_t *oldmask);
void become_container_process(int ptysock, const sigset_t *oldmask);

/* the plan's seccomp program, read while its file can be (before any namespace is entered) */
void seccomp_read(const struct json *proc);

/* oci.c: plan.oci's console socket and start fifo (host paths, opened by the outer process and
 * inherited), namespaces given by path, the created process let go */
extern int oci_console, oci_fifo;
void oci_open(const struct json *oci);
int join_namespace_path(const char *type, int nstype);
void oci_release(int sock, pid_t pid);

/* supervise.c */
void now_rfc3339(char *out, size_t cap);
void read_start_time(pid_t pid, char *out, size_t cap);
void write_state_file(const char *name, const char *text, int durable);
int log_start(const char *path, long long max);
int log_drain(int fd, const char *stream);
void log_write(const char *stream, const char *buf, size_t len);
void keep_preserved_fds_from_helpers(void);
void record_event(const char *action, int status);
const char *cgroup_path(void);
void setup_scope_cgroup(const struct json *scope);
void join_cgroup(pid_t pid);
long oom_kills(void);
void record_die(int status);

#endif
