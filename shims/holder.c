// The prelude's holder (`run` only): a process that makes the container's user namespace, and its
// network namespace, while skiff still makes the container; the outer process maps it meanwhile,
// and the first waiter joins it. See README.md, step 1.
#include "run.h"

/*
 * The prelude: skiff sends the id maps before it has made the container, and a holder process
 * makes the user namespace and gets its maps (newuidmap/newgidmap, ~5 ms) while skiff still
 * works. With "netns" (the container will have a network namespace of its own), the holder also
 * makes that; with a network helper in the prelude too (pasta), the helper is started on it at
 * once and configures the network (~30 ms here) meanwhile. The first round's waiter joins those
 * namespaces instead of making them; the
 * holder then goes (the namespaces live on with their members, and the helper holds the network
 * namespace).
 */
pid_t holder = -1;
int holder_fd = -1;
/* the prelude's helper, started on the holder's network namespace: the first round awaits it */
const struct json *early_helper;
/* the holder made the container's network namespace too (the prelude's "netns") */
int holder_netns;

void start_holder(int netns, const struct json *helper)
{
	int sp[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
		die_errno("socketpair", NULL, errno);
	pid_t outer = getpid();
	holder = fork();
	if (holder < 0)
		die_errno("fork", NULL, errno);
	if (holder == 0) {
		close(sp[0]);
		die_with_parent(outer);
		if (unshare(CLONE_NEWUSER) < 0)
			die_errno("unshare-user", NULL, errno);
		// all capabilities in the new user namespace already, unmapped: enough for this
		if (netns) {
			net_make_namespace();
			trace_mark("network namespace made (prelude)");
		}
		sync_write(sp[1], 'u');
		for (;;)
			pause(); // until the waiter has joined: then SIGKILL (or the supervisor's death)
	}
	close(sp[1]);
	if (sync_read(sp[0]) != 'u')
		_exit(125); // the holder said why on the status fd
	holder_netns = netns;
	// pasta joins an unmapped user namespace as well: it starts before the maps are written
	if (helper) {
		net_spawn_helper(helper, holder, NULL);
		early_helper = helper;
		trace_mark("network helper started (prelude)");
	}
	write_maps(holder);
	trace_mark("id maps written (prelude)");
	holder_fd = sp[0];
}

/*
 * The waiter is in the holder's namespace (or failed): the holder is not needed any more. Not
 * waited for here (~0.7 ms before the container could start): run_round reaps every child.
 */
void end_holder(void)
{
	if (holder <= 0)
		return;
	kill(holder, SIGKILL);
	close(holder_fd);
	holder_fd = -1;
	holder = -1;
}
