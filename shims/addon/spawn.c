/*
 * skiff's spawn addon: start the shim with posix_spawn, which glibc makes with
 * clone(CLONE_VM|CLONE_VFORK), and watch it for its exit on a thread of its own.
 *
 * Why: Node starts children with fork. Forking skiff's ~50 MB process copies its page tables, the
 * child's exec then tears that copy down, and Node waits for the exec all along: ~11 ms per spawn
 * on the slow machine here, against ~2 ms this way (docs/architecture.md, "Start-up"). The child
 * gets what libuv would give it: default signal handlers, no blocked signals, a session of its
 * own, fds 0-3 as asked and no other (skiff's fds are close-on-exec).
 *
 *   spawn(file, argv, env, stdio) -> [pid, fd0, fd1, fd2, fd3] or a negative errno
 *       stdio[i]: -1 inherit, -2 /dev/null, -3 a socket pair (its other end is returned);
 *       stdio[4...]: skiff's fds given to the child as fds 4... (--preserve-fds); each must be
 *       open, else -EBADF (inherited ones too are close-on-exec: Node's start-up marks them so)
 *   watch(pid, onexit(code, signal)) -> handle   awaits pid's exit on a thread, reaps it and calls back on Node's
 *   unref(handle)                                 let Node exit while pid runs on
 *
 * And two calls Node lacks, for the id maps' checks on the path of every run (they replace a
 * read of /proc/self/status and a read and parse of /proc/self/mountinfo, ~0.6 ms here and more
 * on hosts with many mounts):
 *   noNewPrivs() -> 1 or 0 (prctl PR_GET_NO_NEW_PRIVS), or a negative errno
 *   mountFlags(path) -> statvfs(path).f_flag (ST_NOSUID is 2), or a negative errno
 *
 * And the store's locks (core/lock.ts): a lock the kernel drops with its holder, so that no
 * kill -9 at any instant can leave one that blocks later commands:
 *   flock(fd, exclusive) -> 0, or a negative errno (-EWOULDBLOCK: another process holds it)
 *       never waits (LOCK_NB): the caller polls, with its own deadline and message
 */
#define _GNU_SOURCE
#define NAPI_VERSION 8
#include <node_api.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHECK(call)                                                                                \
	do {                                                                                       \
		if ((call) != napi_ok)                                                             \
			return NULL;                                                               \
	} while (0)

enum { STDIO_INHERIT = -1, STDIO_IGNORE = -2, STDIO_PIPE = -3, NFDS = 4 };

/* A JS array of strings as a NULL-terminated vector; NULL on failure (an exception is pending). */
static char **string_vector(napi_env env, napi_value array)
{
	uint32_t n;
	if (napi_get_array_length(env, array, &n) != napi_ok)
		return NULL;
	char **v = calloc((size_t)n + 1, sizeof(char *));
	if (!v)
		return NULL;
	for (uint32_t i = 0; i < n; i++) {
		napi_value item;
		size_t len;
		if (napi_get_element(env, array, i, &item) != napi_ok || napi_get_value_string_utf8(env, item, NULL, 0, &len) != napi_ok ||
		    !(v[i] = malloc(len + 1)) || napi_get_value_string_utf8(env, item, v[i], len + 1, &len) != napi_ok) {
			for (uint32_t j = 0; j <= i; j++)
				free(v[j]);
			free(v);
			return NULL;
		}
	}
	return v;
}

static void free_vector(char **v)
{
	for (char **p = v; p && *p; p++)
		free(*p);
	free(v);
}

static int start(const char *file, char **argv, char **envp, const int32_t *kinds, uint32_t nkinds, pid_t *pid, int parent_end[NFDS])
{
	int child_end[NFDS];
	int err = 0;
	for (int i = 0; i < NFDS; i++)
		parent_end[i] = child_end[i] = -1;
	for (uint32_t i = NFDS; i < nkinds; i++) {
		if (kinds[i] < 0 || fcntl(kinds[i], F_GETFD) < 0)
			return EBADF;
	}
	posix_spawn_file_actions_t actions;
	posix_spawnattr_t attr;
	posix_spawn_file_actions_init(&actions);
	posix_spawnattr_init(&attr);
	// the extra fds first, from the highest: a source (3, 4...) is copied before a lower
	// destination is written over it, and fd 3 before the control socket takes its place
	for (uint32_t i = nkinds; i-- > NFDS && !err;)
		err = posix_spawn_file_actions_adddup2(&actions, kinds[i], (int)i);
	for (int i = 0; i < NFDS && !err; i++) {
		if (kinds[i] == STDIO_PIPE) {
			int sp[2];
			if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0) {
				err = errno;
				break;
			}
			parent_end[i] = sp[0];
			child_end[i] = sp[1];
			// dup2 onto fd i clears close-on-exec (glibc makes dup2 of an fd onto itself do so too)
			err = posix_spawn_file_actions_adddup2(&actions, sp[1], i);
		} else if (kinds[i] == STDIO_IGNORE) {
			err = posix_spawn_file_actions_addopen(&actions, i, "/dev/null", O_RDWR, 0);
		} else if (fcntl(i, F_GETFD) >= 0) {
			// inherited: fd i as skiff has it (a dup2 onto itself clears close-on-exec)
			err = posix_spawn_file_actions_adddup2(&actions, i, i);
		}
	}
	sigset_t all, none;
	sigfillset(&all);
	sigemptyset(&none);
	if (!err)
		err = posix_spawnattr_setsigdefault(&attr, &all);
	if (!err)
		err = posix_spawnattr_setsigmask(&attr, &none);
	if (!err)
		err = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSID);
	if (!err)
		err = posix_spawn(pid, file, &actions, &attr, argv, envp);
	posix_spawn_file_actions_destroy(&actions);
	posix_spawnattr_destroy(&attr);
	for (int i = 0; i < NFDS; i++) {
		if (child_end[i] >= 0)
			close(child_end[i]);
		if (err && parent_end[i] >= 0) {
			close(parent_end[i]);
			parent_end[i] = -1;
		}
	}
	return err;
}

static napi_value spawn_fn(napi_env env, napi_callback_info info)
{
	size_t argc = 4;
	napi_value args[4], out, v;
	CHECK(napi_get_cb_info(env, info, &argc, args, NULL, NULL));
	if (argc < 4) {
		napi_throw_type_error(env, NULL, "spawn(file, argv, env, stdio)");
		return NULL;
	}
	char file[4096];
	size_t len;
	CHECK(napi_get_value_string_utf8(env, args[0], file, sizeof(file), &len));
	int32_t kinds[NFDS + 256];
	uint32_t nkinds;
	CHECK(napi_get_array_length(env, args[3], &nkinds));
	if (nkinds < NFDS || nkinds > NFDS + 256) {
		napi_throw_range_error(env, NULL, "spawn: stdio has 4 entries, and at most 256 more");
		return NULL;
	}
	for (uint32_t i = 0; i < nkinds; i++) {
		CHECK(napi_get_element(env, args[3], i, &v));
		CHECK(napi_get_value_int32(env, v, &kinds[i]));
	}
	char **argv = string_vector(env, args[1]);
	char **envp = argv ? string_vector(env, args[2]) : NULL;
	pid_t pid = -1;
	int ends[NFDS];
	int err = argv && envp ? start(file, argv, envp, kinds, nkinds, &pid, ends) : ENOMEM;
	free_vector(argv);
	free_vector(envp);
	if (err) {
		CHECK(napi_create_int32(env, -err, &out));
		return out;
	}
	CHECK(napi_create_array_with_length(env, 1 + NFDS, &out));
	CHECK(napi_create_int32(env, pid, &v));
	CHECK(napi_set_element(env, out, 0, v));
	for (uint32_t i = 0; i < NFDS; i++) {
		CHECK(napi_create_int32(env, ends[i], &v));
		CHECK(napi_set_element(env, out, i + 1, v));
	}
	return out;
}

/*
 * One watched child. Three hold it: the watch thread, the thread-safe function (its finalizer)
 * and the JS handle; the last to let go frees it. Node may finalize the thread-safe function
 * while the thread still waits (when it tears down without process.exit: Node 20 then deletes
 * the function at once), so the thread calls it only under `lock` and only while `finalized` is 0.
 */
struct watch {
	pid_t pid;
	napi_threadsafe_function tsfn;
	pthread_mutex_t lock;
	int refs;
	int finalized;
};

static void put_watch(struct watch *w)
{
	pthread_mutex_lock(&w->lock);
	int last = --w->refs == 0;
	pthread_mutex_unlock(&w->lock);
	if (last) {
		pthread_mutex_destroy(&w->lock);
		free(w);
	}
}

/*
 * The watch thread waits for the exit without reaping (WNOWAIT): the pid stays a zombie, and so
 * not reusable, until Node's thread has reaped it and told skiff, which signals it only before.
 */
static void *await_exit(void *arg)
{
	struct watch *w = arg;
	siginfo_t info;
	while (waitid(P_PID, (id_t)w->pid, &info, WEXITED | WNOWAIT) < 0 && errno == EINTR) {
	}
	pthread_mutex_lock(&w->lock);
	if (!w->finalized) {
		// the queue is unbounded: this does not block (and Node's finalizer waits for the lock)
		napi_call_threadsafe_function(w->tsfn, w, napi_tsfn_nonblocking);
		napi_release_threadsafe_function(w->tsfn, napi_tsfn_release);
	}
	pthread_mutex_unlock(&w->lock);
	put_watch(w);
	return NULL;
}

/* On Node's thread: reap, then onexit(code, null), onexit(null, signal number), or (null, null)
 * when someone else reaped it (its status is unknown). */
static void call_onexit(napi_env env, napi_value onexit, void *context, void *data)
{
	(void)context;
	struct watch *w = data;
	if (!env || !onexit)
		return; // Node is going away
	int st;
	pid_t r;
	while ((r = waitpid(w->pid, &st, 0)) < 0 && errno == EINTR) {
	}
	napi_value undefined, args[2];
	napi_get_undefined(env, &undefined);
	napi_get_null(env, &args[0]);
	napi_get_null(env, &args[1]);
	if (r == w->pid && WIFSIGNALED(st))
		napi_create_int32(env, WTERMSIG(st), &args[1]);
	else if (r == w->pid)
		napi_create_int32(env, WEXITSTATUS(st), &args[0]);
	napi_call_function(env, undefined, onexit, 2, args, NULL);
}

/* The thread-safe function is gone: released by the thread, or Node is going away. */
static void tsfn_finalized(napi_env env, void *data, void *hint)
{
	(void)env;
	(void)hint;
	struct watch *w = data;
	pthread_mutex_lock(&w->lock);
	w->finalized = 1;
	pthread_mutex_unlock(&w->lock);
	put_watch(w);
}

static void handle_finalized(napi_env env, void *data, void *hint)
{
	(void)env;
	(void)hint;
	put_watch(data);
}

static napi_value watch_fn(napi_env env, napi_callback_info info)
{
	size_t argc = 2;
	napi_value args[2], name, handle;
	CHECK(napi_get_cb_info(env, info, &argc, args, NULL, NULL));
	int32_t pid;
	CHECK(napi_get_value_int32(env, args[0], &pid));
	struct watch *w = calloc(1, sizeof(*w));
	if (!w) {
		napi_throw_error(env, NULL, "out of memory");
		return NULL;
	}
	w->pid = pid;
	w->refs = 3;
	pthread_mutex_init(&w->lock, NULL);
	CHECK(napi_create_string_utf8(env, "skiff shim watch", NAPI_AUTO_LENGTH, &name));
	if (napi_create_threadsafe_function(env, args[1], NULL, name, 0, 1, w, tsfn_finalized, NULL, call_onexit, &w->tsfn) != napi_ok) {
		pthread_mutex_destroy(&w->lock);
		free(w);
		return NULL;
	}
	pthread_attr_t attr;
	pthread_t thread;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	int err = pthread_create(&thread, &attr, await_exit, w);
	pthread_attr_destroy(&attr);
	if (err) {
		put_watch(w); // the thread's
		put_watch(w); // the handle's
		napi_release_threadsafe_function(w->tsfn, napi_tsfn_abort);
		napi_throw_error(env, NULL, strerror(err));
		return NULL;
	}
	if (napi_create_external(env, w, handle_finalized, NULL, &handle) != napi_ok) {
		put_watch(w);
		return NULL;
	}
	return handle;
}

static napi_value unref_fn(napi_env env, napi_callback_info info)
{
	size_t argc = 1;
	napi_value arg;
	void *w;
	CHECK(napi_get_cb_info(env, info, &argc, &arg, NULL, NULL));
	CHECK(napi_get_value_external(env, arg, &w));
	struct watch *watch = w;
	pthread_mutex_lock(&watch->lock);
	if (!watch->finalized)
		napi_unref_threadsafe_function(env, watch->tsfn);
	pthread_mutex_unlock(&watch->lock);
	return NULL;
}

static napi_value no_new_privs_fn(napi_env env, napi_callback_info info)
{
	(void)info;
	int r = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
	napi_value out;
	CHECK(napi_create_int32(env, r < 0 ? -errno : r, &out));
	return out;
}

static napi_value mount_flags_fn(napi_env env, napi_callback_info info)
{
	size_t argc = 1;
	napi_value arg, out;
	CHECK(napi_get_cb_info(env, info, &argc, &arg, NULL, NULL));
	if (argc < 1) {
		napi_throw_type_error(env, NULL, "mountFlags(path)");
		return NULL;
	}
	char path[4096];
	size_t len;
	CHECK(napi_get_value_string_utf8(env, arg, path, sizeof(path), &len));
	struct statvfs st;
	CHECK(napi_create_double(env, statvfs(path, &st) < 0 ? -(double)errno : (double)st.f_flag, &out));
	return out;
}

static napi_value flock_fn(napi_env env, napi_callback_info info)
{
	size_t argc = 2;
	napi_value args[2], out;
	CHECK(napi_get_cb_info(env, info, &argc, args, NULL, NULL));
	int32_t fd;
	bool exclusive;
	if (argc < 2 || napi_get_value_int32(env, args[0], &fd) != napi_ok || napi_get_value_bool(env, args[1], &exclusive) != napi_ok) {
		napi_throw_type_error(env, NULL, "flock(fd, exclusive)");
		return NULL;
	}
	int r;
	do
		r = flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB);
	while (r < 0 && errno == EINTR);
	CHECK(napi_create_int32(env, r < 0 ? -errno : 0, &out));
	return out;
}

NAPI_MODULE_INIT()
{
	// A watch thread may outlive the environment that loaded us (a worker's ends; Node then
	// unloads the addon): the code it runs must stay mapped.
	Dl_info self;
	if (dladdr((void *)await_exit, &self) && self.dli_fname)
		dlopen(self.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
	static const struct {
		const char *name;
		napi_callback fn;
	} fns[] = { { "spawn", spawn_fn }, { "watch", watch_fn }, { "unref", unref_fn }, { "noNewPrivs", no_new_privs_fn }, { "mountFlags", mount_flags_fn },
		     { "flock", flock_fn } };
	for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
		napi_value f;
		CHECK(napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].fn, NULL, &f));
		CHECK(napi_set_named_property(env, exports, fns[i].name, f));
	}
	return exports;
}
