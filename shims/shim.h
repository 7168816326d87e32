// skiff-shim: shared declarations. See README.md for the protocol.
#ifndef SKIFF_SHIM_H
#define SKIFF_SHIM_H

#include <stddef.h>
#include <sys/types.h>

enum json_type { JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT };

struct json {
	enum json_type type;
	char *key;    // member name inside an object
	char *str;    // JSON_STRING
	double num;   // JSON_NUMBER, JSON_BOOL
	struct json *child; // first element or member
	struct json *next;
	size_t len;
};

struct json *json_parse(const char *text, size_t len);
void json_free(struct json *j);
const struct json *json_get(const struct json *obj, const char *key);
const char *json_str(const struct json *obj, const char *key);
double json_num(const struct json *obj, const char *key, double fallback);
int json_bool(const struct json *obj, const char *key);
// NULL-terminated vector of the strings of an array (the strings are not copied)
char **json_strv(const struct json *arr);
int json_has_string(const struct json *arr, const char *s);

// util.c, at the bottom: report a failure as data on the status fd, then _exit: 125, or 126/127 for exec.
void die_errno(const char *op, const char *path, int err) __attribute__((noreturn));
void die_detail(const char *op, const char *path, int err, const char *detail) __attribute__((noreturn));
// A small file (procfs, cgroupfs) in one read, NUL-terminated: its length, or -1 (buf is "").
ssize_t read_small_file(const char *path, char *buf, size_t size);
// The status fd (fd 3 in `run`, stdout in `fsops`).
extern int status_fd;
void send_message(const char *json);
void json_escape(char *out, size_t cap, const char *s);
// SKIFF_TRACE=1: "skiff-shim trace: <ms> [pid] what" on stderr
void trace_mark(const char *what);
int trace_enabled(void);
// One line from fd (a plan is a few KB), without its newline; the rest is kept for the next call.
char *read_line(int fd);
// Write text to an existing file (procfs, cgroupfs): 0, or -1 with errno.
int write_file(const char *path, const char *text);
int write_all(int fd, const char *buf, size_t len);
// Parent death kills us; exits at once when the parent is already not the one expected.
void die_with_parent(pid_t parent);
// One byte each way on a socket between two roles; 0 from sync_read means the other side died.
void sync_write(int fd, char c);
char sync_read(int fd);
// 0, 1 and 2 onto /dev/null (stderr kept when tracing).
void quiet_stdio(void);

int fsops_main(int argc, char **argv);
// tar.c: the builtins of `skiff cp` (tar-out, tar-in), argv as in the process plan
int tar_builtin(char **argv);
int run_main(void);
int exec_main(void);
int keeper_main(void);
int netlink_main(int attach);

// mounts.c: build the container's filesystem from the plan, then pivot_root into it.
/* the root filesystem and the plan's mounts; then enter_rootfs pivots into it */
void setup_rootfs(const struct json *plan);
void enter_rootfs(const struct json *plan);
void mount_scratch(const struct json *rootfs);
/* hooks.c: a CDI spec's OCI hooks of this kind (createContainer, startContainer) */
void run_hooks(const struct json *plan, const char *kind);

// net.c: the network namespace (waiter) and its user-mode helper (supervisor).
#include <signal.h>
#include <sys/types.h>
void net_make_namespace(void);
void net_allow_ping(const struct json *plan);
void net_new_namespace(const struct json *plan);
void net_spawn_helper(const struct json *h, pid_t target, const sigset_t *oldmask);
void net_await_helper(const struct json *h, pid_t target);
void net_start_helper(const struct json *plan, pid_t target, const sigset_t *oldmask);
void net_stop_helper(void);
pid_t net_helper_pid(void);
void net_helper_reaped(void);
// net.c: skiff's own port forwarder (with slirp4netns)
extern int fwd_channel[2];
void fwd_listen(const struct json *plan);
int fwd_listeners(int *fds, int max);
void fwd_close(void);
void fwd_channel_open(void);
void fwd_channel_close_parent_end(void);
void fwd_accept(int fd);
void fwd_serve(int channel, const char *to);
// netlink.c: bridges, veth pairs, addresses and routes; the network keeper's nf_tables rules
void net_sysctl(const char *path, const char *value);
void bridge_attach(const struct json *links, pid_t keeper, pid_t target);
int bridge_attach_status(const struct json *links, pid_t keeper, pid_t target);
int link_delete(const char *name);
void nft_keeper_rules(int uplink);
// dns.c: the bridge networks' leases (networks/<bridge>/ips/<ip>) and the DNS answers from them
int process_alive(pid_t pid, const char *start);
int each_lease(const char *netdir, void (*each)(const struct json *lease, void *ctx), void *ctx);
ssize_t dns_answer(const unsigned char *query, size_t len, const char *source, const char *netdir, int internal, const struct json *search, unsigned char *out, size_t cap);
// fuse.c: the fuse-overlayfs root filesystem, mounted by the waiter
void fuse_mount_rootfs(const struct json *plan, const sigset_t *oldmask);
void fuse_unmount_rootfs(void);

#endif
