// skiff-shim entry: the mode switch. The modes are below it (outer.c for run, exec.c, fsops.c),
// what they share below them (mounts.c, net.c, fuse.c, tar.c, json.c), and util.c at the bottom.
#include "shim.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

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
	if (argc >= 2 && !strcmp(argv[1], "keeper"))
		return keeper_main();
	if (argc >= 2 && (!strcmp(argv[1], "netattach") || !strcmp(argv[1], "netdetach")))
		return netlink_main(!strcmp(argv[1], "netattach"));
	if (argc >= 2 && !strcmp(argv[1], "fsops"))
		return fsops_main(argc, argv);
	fprintf(stderr, "skiff-shim: internal helper of skiff; usage: skiff-shim run | exec | keeper | netattach | netdetach | fsops ROOT\n");
	return 2;
}
