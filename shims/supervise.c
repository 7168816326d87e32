// What the supervisor (the outer process of `run`) keeps for a container: the state files in its
// directory (state.json, exit.json, cgroup), the log of a detached container's output, and the
// container's cgroup (a systemd scope's leaves, the move into it, its OOM kills). See README.md.
#include "run.h"

void now_rfc3339(char *out, size_t cap)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	size_t n = strftime(out, cap, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, cap - n, ".%09ldZ", ts.tv_nsec);
}

void read_start_time(pid_t pid, char *out, size_t cap)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	out[0] = '\0';
	if (read_small_file(path, buf, sizeof(buf)) <= 0)
		return;
	char *p = strrchr(buf, ')');
	// fields after the command name start at field 3; the start time is field 22
	for (int field = 2; p && field < 22; field++)
		p = strchr(p + 1, ' ');
	if (p)
		snprintf(out, cap, "%.*s", (int)strcspn(p + 1, " "), p + 1);
}

/*
 * Write DIR/NAME through a temporary file and rename: readers see the old or the new file. Only
 * exit.json is made durable (fsync): it is what `ps -a` shows after a crash or a reboot.
 * state.json and cgroup describe processes that die with the machine, and an fsync there would
 * sit between a short command's exec and its reaping.
 */
void write_state_file(const char *name, const char *text, int durable)
{
	if (!sup.dir)
		return;
	char path[4096], tmp[4200];
	snprintf(path, sizeof(path), "%s/%s", sup.dir, name);
	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp-%d", sup.dir, name, getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return; // the directory is gone (rm -f, --rm): nothing to record
	int ok = write_all(fd, text, strlen(text)) == 0 && (!durable || fsync(fd) == 0);
	close(fd);
	if (!ok || rename(tmp, path) < 0)
		unlink(tmp);
}

/*
 * Log lines in the CRI format podman's k8s-file driver also writes:
 *   2026-11-24T22:40:18.123456789Z stdout F a whole line
 *   2026-11-24T22:40:18.123456789Z stderr P a partial line (no newline yet)
 * The file is renamed to PATH.1 when it passes maxBytes.
 */
static struct {
	const char *path;
	long long max;
	long long size;
	int fd;
} logfile = { NULL, 0, 0, -1 };

static void log_open(void)
{
	logfile.fd = open(logfile.path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	struct stat st;
	logfile.size = logfile.fd >= 0 && fstat(logfile.fd, &st) == 0 ? st.st_size : 0;
}

void log_write(const char *stream, const char *buf, size_t len)
{
	if (logfile.fd < 0)
		return;
	char ts[48];
	now_rfc3339(ts, sizeof(ts));
	while (len > 0) {
		const char *nl = memchr(buf, '\n', len);
		size_t line = nl ? (size_t)(nl - buf) : len;
		if (logfile.max > 0 && logfile.size > 0 && logfile.size + (long long)line + 64 > logfile.max) {
			char old[4200];
			snprintf(old, sizeof(old), "%s.1", logfile.path);
			close(logfile.fd);
			rename(logfile.path, old);
			log_open();
			if (logfile.fd < 0)
				return;
		}
		char head[96];
		int h = snprintf(head, sizeof(head), "%s %s %c ", ts, stream, nl ? 'F' : 'P');
		struct iovec iov[3] = { { head, (size_t)h }, { (void *)buf, line }, { "\n", 1 } };
		ssize_t n = writev(logfile.fd, iov, 3);
		if (n > 0)
			logfile.size += n;
		buf += line + (nl ? 1 : 0);
		len -= line + (nl ? 1 : 0);
	}
}

/* Read what is there now; 0 at EOF or when nothing is left (the pipes are non-blocking). */
int log_drain(int fd, const char *stream)
{
	char buf[65536];
	ssize_t n = read(fd, buf, sizeof(buf));
	if (n > 0)
		log_write(stream, buf, (size_t)n);
	return n > 0;
}

/* Start logging a detached container's output to `path`, rotated at `max` bytes (0: never). */
int log_start(const char *path, long long max)
{
	logfile.path = path;
	logfile.max = max;
	log_open();
	return logfile.fd;
}

/* set when the supervisor made the container's cgroup itself, in its systemd scope */
static char scope_container[4000];

const char *cgroup_path(void)
{
	return scope_container[0] ? scope_container : json_str(json_get(plan, "cgroup"), "path");
}

/* This process's cgroup directory: the "0::/path" line of /proc/self/cgroup under `mount`. */
static void own_cgroup_dir(const char *mount, char *out, size_t size)
{
	char buf[4096];
	read_small_file("/proc/self/cgroup", buf, sizeof(buf));
	char *line = strstr(buf, "0::");
	if (!line || (line != buf && line[-1] != '\n'))
		die_detail("cgroup-scope", "/proc/self/cgroup", ENOENT, "no cgroup v2 line");
	line += 3;
	line[strcspn(line, "\n")] = '\0';
	snprintf(out, size, "%s%s", mount, strcmp(line, "/") ? line : "");
}

/*
 * Under systemd, skiff starts us through `systemd-run --user --scope -p Delegate=yes`: the scope
 * is ours, and we start in it. A cgroup that hands controllers to its children may hold no
 * process itself, so the supervisor moves to the leaf "supervisor" and the container gets the
 * sibling "container", with the limit files skiff computed. Its path goes to the container's
 * directory, where stats, pause, update, exec and rm find it.
 */
void setup_scope_cgroup(const struct json *scope)
{
	char base[3900], dir[4000], num[32];
	own_cgroup_dir(json_str(scope, "mount") ? json_str(scope, "mount") : "/sys/fs/cgroup", base, sizeof(base));
	snprintf(dir, sizeof(dir), "%s/supervisor", base);
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		die_errno("cgroup-scope", dir, errno);
	snprintf(dir, sizeof(dir), "%s/supervisor/cgroup.procs", base);
	snprintf(num, sizeof(num), "%d", getpid());
	if (write_file(dir, num) < 0)
		die_errno("cgroup-scope", dir, errno);
	// one controller at a time: one that cannot be enabled fails only the limits that need it
	snprintf(dir, sizeof(dir), "%s/cgroup.subtree_control", base);
	for (const struct json *c = json_get(scope, "controllers") ? json_get(scope, "controllers")->child : NULL; c; c = c->next) {
		char want[64];
		snprintf(want, sizeof(want), "+%s", c->str);
		if (write_file(dir, want) < 0 && json_has_string(json_get(scope, "needed"), c->str))
			die_detail("cgroup-enable", base, errno, c->str);
	}
	snprintf(scope_container, sizeof(scope_container), "%s/container", base);
	if (mkdir(scope_container, 0755) < 0 && errno != EEXIST)
		die_errno("cgroup-scope", scope_container, errno);
	for (const struct json *f = json_get(scope, "files") ? json_get(scope, "files")->child : NULL; f; f = f->next) {
		char path[4400], what[600];
		snprintf(path, sizeof(path), "%s/%s", scope_container, f->key);
		if (f->type == JSON_STRING && write_file(path, f->str) < 0) {
			int e = errno;
			snprintf(what, sizeof(what), "%s=%s", f->key, f->str);
			rmdir(scope_container);
			die_detail("cgroup-set", path, e, what);
		}
	}
	write_state_file("cgroup", scope_container, 0);
}

/* Move `pid` into the container's cgroup (before init exists, so everything it starts is in it). */
void join_cgroup(pid_t pid)
{
	const char *cg = cgroup_path();
	if (!cg)
		return;
	char path[4200], num[32];
	snprintf(path, sizeof(path), "%s/cgroup.procs", cg);
	snprintf(num, sizeof(num), "%d", pid);
	if (write_file(path, num) < 0)
		die_errno("cgroup", path, errno);
}

/* oom_kill of memory.events: how many processes the kernel killed for memory so far. */
long oom_kills(void)
{
	const char *cg = cgroup_path();
	char path[4200], buf[1024];
	if (!cg)
		return 0;
	snprintf(path, sizeof(path), "%s/memory.events", cg);
	read_small_file(path, buf, sizeof(buf));
	char *p = strstr(buf, "oom_kill ");
	return p ? atol(p + 9) : 0;
}

/*
 * A container event in the journal (core/events.ts), as Docker writes it: one line appended with
 * O_APPEND, which no other writer's line can split. "die" carries the exit code (status >= 0).
 */
void record_event(const char *action, int status)
{
	const struct json *ev = json_get(json_get(plan, "supervisor"), "events");
	const char *path = json_str(ev, "path");
	if (!path)
		return;
	char id[160], name[600], image[2100], line[16384], code[48] = "", labels[8192] = "";
	// the container's labels among the attributes, as Docker's events carry them (those that fit)
	size_t used = 0;
	const struct json *l = json_get(ev, "labels");
	for (const struct json *c = l && l->type == JSON_OBJECT ? l->child : NULL; c; c = c->next) {
		char k[1024], v[2100];
		if (!c->key || c->type != JSON_STRING || strlen(c->key) > 300 || strlen(c->str) > 600)
			continue;
		json_escape(k, sizeof(k), c->key);
		json_escape(v, sizeof(v), c->str);
		int m = snprintf(labels + used, sizeof(labels) - used, "\"%s\":\"%s\",", k, v);
		if (m < 0 || (size_t)m >= sizeof(labels) - used) {
			labels[used] = '\0';
			break;
		}
		used += (size_t)m;
	}
	json_escape(id, sizeof(id), json_str(ev, "id"));
	json_escape(name, sizeof(name), json_str(ev, "name"));
	json_escape(image, sizeof(image), json_str(ev, "image"));
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	long long ns = (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
	if (status >= 0)
		snprintf(code, sizeof(code), "\"exitCode\":\"%d\",", status);
	int n = snprintf(line, sizeof(line),
			 "{\"Type\":\"container\",\"Action\":\"%s\",\"Actor\":{\"ID\":\"%s\",\"Attributes\":{%s%s\"image\":\"%s\",\"name\":\"%s\"}},"
			 "\"scope\":\"local\",\"time\":%lld,\"timeNano\":%lld,\"status\":\"%s\",\"id\":\"%s\",\"from\":\"%s\"}\n",
			 action, id, labels, code, image, name, (long long)ts.tv_sec, ns, action, id, image);
	if (n <= 0 || n >= (int)sizeof(line))
		return;
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return; // the journal is a record, not a duty
	if (write(fd, line, (size_t)n) < 0) {
	}
	close(fd);
}

/* The container's end ("die"), once per round. */
static int die_recorded_round;

void record_die(int status)
{
	if (die_recorded_round == sup.round)
		return;
	die_recorded_round = sup.round;
	record_event("die", status);
}
