// The bridge networks' name server, served by the network keeper (keeper.c) on every bridge's
// gateway address: a container's name, its --network-alias names, its --hostname and short id
// answer with its address on the network the question came from; every other name goes to the
// host's resolvers (not from an internal network). The names are the store's: one file per
// address a container holds (networks/<bridge>/ips/<ip>, written by skiff), alive while the
// container's supervisor is. See README.md, "Bridge networks".
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "shim.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Whether process `pid` is alive and started at `start` (field 22 of its stat), not a zombie. */
int process_alive(pid_t pid, const char *start)
{
	if (pid <= 0 || !start)
		return 0;
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (read_small_file(path, buf, sizeof(buf)) <= 0)
		return 0;
	char *p = strrchr(buf, ')');
	if (!p || p[1] != ' ')
		return 0;
	p += 2;
	if (*p == 'Z' || *p == 'X')
		return 0;
	// the state is field 3; the start time field 22
	for (int field = 3; field < 22 && p; field++) {
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	if (!p)
		return 0;
	size_t n = strlen(start);
	return !strncmp(p, start, n) && (p[n] == ' ' || p[n] == '\0');
}

/* An address file of a network: its JSON (the caller frees it), or NULL when it is unreadable or
 * its holder is gone. */
static struct json *read_lease(const char *path)
{
	char buf[4096];
	ssize_t n = read_small_file(path, buf, sizeof(buf));
	if (n <= 0)
		return NULL;
	struct json *j = json_parse(buf, (size_t)n);
	if (j && j->type == JSON_OBJECT && process_alive((pid_t)json_num(j, "pid", 0), json_str(j, "start")))
		return j;
	json_free(j);
	return NULL;
}

/* Calls `each` with every live lease of a network directory (networks/<bridge>); the number of them. */
int each_lease(const char *netdir, void (*each)(const struct json *lease, void *ctx), void *ctx)
{
	char dirpath[4200];
	snprintf(dirpath, sizeof(dirpath), "%s/ips", netdir);
	DIR *d = opendir(dirpath);
	if (!d)
		return 0;
	int count = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char path[4500];
		snprintf(path, sizeof(path), "%s/%s", dirpath, e->d_name);
		struct json *lease = read_lease(path);
		if (!lease)
			continue;
		count++;
		if (each)
			each(lease, ctx);
		json_free(lease);
	}
	closedir(d);
	return count;
}

/* ---- the DNS messages --------------------------------------------------------------------------- */

#define TYPE_A 1
#define TYPE_AAAA 28
#define MAX_ANSWERS 32

struct question {
	char name[256];
	unsigned type, klass;
	size_t end; // offset just after the question
	const char *source; // the asker's address, as text
	unsigned char addrs[MAX_ANSWERS][16];
	int naddrs;
	int named; // some container has the name (then no forwarding, even without an address)
	int asker_known; // the asker holds an address on this network
	char asker[80]; // and its container
	char bare[256]; // the name without a search domain of the containers' resolv.conf, if it has one
	int asker_here; // (another network's scan) the asker's container is on it
};

/* The first question of a query: 0, or -1 when it is not a query skiff answers. */
static int parse_question(const unsigned char *q, size_t len, struct question *out)
{
	if (len < 12 || (q[2] & 0x80) || ((q[2] >> 3) & 0xf) != 0 || q[4] != 0 || q[5] != 1)
		return -1;
	size_t off = 12, n = 0;
	while (off < len && q[off]) {
		unsigned l = q[off++];
		if (l > 63 || off + l > len || n + l + 1 >= sizeof(out->name))
			return -1;
		if (n)
			out->name[n++] = '.';
		for (unsigned i = 0; i < l; i++)
			out->name[n++] = (char)tolower(q[off + i]);
		off += l;
	}
	out->name[n] = 0;
	if (off + 5 > len)
		return -1;
	off++;
	out->type = (unsigned)(q[off] << 8 | q[off + 1]);
	out->klass = (unsigned)(q[off + 2] << 8 | q[off + 3]);
	out->end = off + 4;
	return 0;
}

static void match(const struct json *lease, void *ctx)
{
	struct question *q = ctx;
	const char *ip = json_str(lease, "ip"), *ip6 = json_str(lease, "ip6");
	if ((ip && !strcmp(ip, q->source)) || (ip6 && !strcmp(ip6, q->source))) {
		q->asker_known = 1;
		snprintf(q->asker, sizeof(q->asker), "%s", json_str(lease, "container") ? json_str(lease, "container") : "");
	}
	const struct json *names = json_get(lease, "names");
	int hit = 0;
	for (const struct json *n = names ? names->child : NULL; n && !hit; n = n->next)
		hit = n->str && (!strcasecmp(n->str, q->name) || (*q->bare && !strcasecmp(n->str, q->bare)));
	if (!hit)
		return;
	q->named = 1;
	const char *want = q->type == TYPE_A ? ip : q->type == TYPE_AAAA ? ip6 : NULL;
	if (want && q->naddrs < MAX_ANSWERS && inet_pton(q->type == TYPE_A ? AF_INET : AF_INET6, want, q->addrs[q->naddrs]) == 1)
		q->naddrs++;
}

/* On another network: whether the asker's container is there too. */
static void find_asker(const struct json *lease, void *ctx)
{
	struct question *q = ctx;
	const char *c = json_str(lease, "container");
	if (c && *q->asker && !strcmp(c, q->asker))
		q->asker_here = 1;
}

/* A name not on the asker's network: looked up on its container's other networks, as Docker does. */
static void match_elsewhere(const char *netdir, struct question *q)
{
	char parent[4096];
	snprintf(parent, sizeof(parent), "%s", netdir);
	char *slash = strrchr(parent, '/');
	if (!slash || !*q->asker)
		return;
	const char *self = slash + 1;
	*slash = 0;
	DIR *d = opendir(parent);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, "sk", 2) || !strcmp(e->d_name, self))
			continue;
		char dir[4400];
		snprintf(dir, sizeof(dir), "%s/%s", parent, e->d_name);
		q->asker_here = 0;
		each_lease(dir, find_asker, q);
		if (q->asker_here)
			each_lease(dir, match, q);
	}
	closedir(d);
}

/*
 * The answer to `query` (from `source`, on the network of `netdir`), into `out`: its length; 0 to
 * send the query on to the host's resolvers; -1 to drop it (not a question, or not from a
 * container of this network). `internal`: nothing goes on from this network. `search`: the search
 * domains the containers' resolv.conf has (the host's), so that "db.DOMAIN" is "db" and is not
 * sent to the host's resolvers first (slow, or never answered, offline).
 */
ssize_t dns_answer(const unsigned char *query, size_t len, const char *source, const char *netdir, int internal, const struct json *search, unsigned char *out, size_t cap)
{
	static struct question q;
	memset(&q, 0, sizeof(q));
	q.source = source;
	if (parse_question(query, len, &q) < 0 || q.end > cap)
		return -1;
	// "db.example.org" where example.org is a search domain: the resolver's try for "db" first
	size_t nl = strlen(q.name);
	for (const struct json *d = search ? search->child : NULL; d && !*q.bare; d = d->next) {
		size_t dl = d->str ? strlen(d->str) : 0;
		if (dl && nl > dl + 1 && q.name[nl - dl - 1] == '.' && !strcasecmp(q.name + nl - dl, d->str))
			snprintf(q.bare, sizeof(q.bare), "%.*s", (int)(nl - dl - 1), q.name);
	}
	each_lease(netdir, match, &q);
	if (!q.asker_known)
		return -1; // only the network's own containers are answered
	if (!q.named)
		match_elsewhere(netdir, &q);
	if (!q.named && !internal)
		return 0;
	memcpy(out, query, q.end);
	out[2] = (unsigned char)(0x80 | 0x04 | (query[2] & 0x01)); // answer, authoritative, RD as asked
	out[3] = (unsigned char)(0x80 | (q.named ? 0 : 3));          // RA; NOERROR or NXDOMAIN
	memset(out + 6, 0, 6);
	size_t off = q.end;
	int i = 0;
	for (; i < q.naddrs; i++) {
		size_t rdlen = q.type == TYPE_A ? 4 : 16;
		if (off + 12 + rdlen > cap)
			break;
		unsigned char rr[12] = { 0xc0, 12, 0, (unsigned char)q.type, 0, 1, 0, 0, 0, 10, 0, (unsigned char)rdlen };
		memcpy(out + off, rr, 12);
		memcpy(out + off + 12, q.addrs[i], rdlen);
		off += 12 + rdlen;
	}
	out[7] = (unsigned char)i;
	return (ssize_t)off;
}
