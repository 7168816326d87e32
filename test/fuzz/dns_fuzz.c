// libFuzzer harness: the keeper's name server (shims/dns.c) on hostile queries, which any
// container on a network can send. A network directory with one lease (the asker's) is made once.
#include "../../shims/shim.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char netdir[64];

static void make_network(void)
{
	snprintf(netdir, sizeof(netdir), "/tmp/skiff-dns-fuzz-%d", (int)getpid());
	char path[128];
	mkdir(netdir, 0700);
	snprintf(path, sizeof(path), "%s/ips", netdir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/ips/10.89.0.2", netdir);
	FILE *f = fopen(path, "w");
	// this process, with its start time (field 22 of /proc/self/stat), stands for a live holder
	char stat[1024] = "", *p = stat;
	read_small_file("/proc/self/stat", stat, sizeof(stat));
	p = strrchr(stat, ')');
	for (int field = 2; p && field < 22; field++)
		p = strchr(p + 1, ' ');
	long long start = p ? atoll(p + 1) : 0;
	fprintf(f, "{\"container\":\"c1\",\"names\":[\"web\",\"c1\"],\"ip\":\"10.89.0.2\",\"ip6\":\"fd00::2\",\"pid\":%d,\"start\":\"%lld\"}", (int)getpid(), start);
	fclose(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!*netdir)
		make_network();
	static unsigned char out[1500];
	struct json *search = json_parse("[\"example.org\"]", 15);
	(void)dns_answer(data, size, "10.89.0.2", netdir, size & 1, search, out, size > 512 ? sizeof(out) : 512);
	json_free(search);
	return 0;
}
