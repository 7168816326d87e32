#!/usr/bin/env bash
# A one-node Slurm on this machine, for the HPC tests and benchmarks: munged, slurmctld and
# slurmd from Debian's slurm-wlm, configured in a directory of their own (nothing in /etc/slurm
# is touched). Run as root. Does I/O.
#
#   bash test/slurm/slurm.sh start DIR    writes DIR/slurm.conf, starts the daemons, waits until
#                                         the node is idle; then SLURM_CONF=DIR/slurm.conf srun ...
#   bash test/slurm/slurm.sh stop DIR     stops them (and every job), removes nothing else
#
# With SKIFF_RUNC=/path/to/skiff-runc in the environment of `start`, DIR/oci.conf makes skiff the
# OCI runtime of `srun --container=BUNDLE` (docs/oci-runtime.md has the same lines).
#
# The node runs jobs with proctrack/linuxproc and task/none: this host's cgroups are hybrid, and
# skiff's containers must not depend on Slurm's cgroup plugins (sites differ). KillWait=5: a
# cancelled step gets SIGTERM, then SIGKILL 5 s later.
set -euo pipefail
cmd=${1:?usage: slurm.sh start|stop DIR}
dir=${2:?usage: slurm.sh start|stop DIR}
say() { printf 'slurm.sh: %s\n' "$*"; }

stop() {
  for p in slurmd slurmctld munged; do
    if [ -f "$dir/$p.pid" ]; then kill "$(cat "$dir/$p.pid")" 2>/dev/null || true; fi
  done
  for _ in $(seq 50); do
    alive=0
    for p in slurmd slurmctld munged; do
      if [ -f "$dir/$p.pid" ] && kill -0 "$(cat "$dir/$p.pid")" 2>/dev/null; then alive=1; fi
    done
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  for p in slurmd slurmctld munged; do
    if [ -f "$dir/$p.pid" ]; then kill -9 "$(cat "$dir/$p.pid")" 2>/dev/null || true; rm -f "$dir/$p.pid"; fi
  done
  # steps the daemons left (they end with slurmd; make sure)
  pkill -9 -f "slurmstepd: \[" 2>/dev/null || true
}

if [ "$cmd" = stop ]; then stop; exit 0; fi
[ "$cmd" = start ] || { echo "slurm.sh: unknown command $cmd" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "slurm.sh: run as root (slurmd starts jobs as their users)" >&2; exit 1; }
for t in munged slurmctld slurmd srun; do
  command -v "$t" >/dev/null || { echo "slurm.sh: $t is missing: apt-get install slurm-wlm munge" >&2; exit 1; }
done

mkdir -p "$dir/state" "$dir/spool" "$dir/munge"
chmod 0755 "$dir"
node=$(hostname -s)
cpus=$(nproc)
mem=$(awk '/MemTotal/ { print int($2 / 1024 / 2) }' /proc/meminfo)
cat >"$dir/slurm.conf" <<CONF
ClusterName=skifftest
SlurmctldHost=$node
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.socket
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
SlurmctldPort=16817
SlurmdPort=16818
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
KillWait=5
InactiveLimit=0
MinJobAge=5
NodeName=$node CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:8
CONF
# cgroup.conf is read by slurmd even with these plugins; tell it to leave cgroups alone
cat >"$dir/cgroup.conf" <<CONF
CgroupPlugin=cgroup/v1
IgnoreSystemd=yes
CONF
if [ -n "${SKIFF_RUNC:-}" ]; then
  # each user's containers under /tmp/skiff-runc-USER (skiff checks it is theirs, mode 0700)
  r="$SKIFF_RUNC --rootless=true --root=/tmp/skiff-runc-%u"
  cat >"$dir/oci.conf" <<CONF
RunTimeQuery="$r state %n.%u.%j.%s.%t"
RunTimeKill="$r kill -a %n.%u.%j.%s.%t"
RunTimeDelete="$r delete --force %n.%u.%j.%s.%t"
RunTimeRun="$r run %n.%u.%j.%s.%t -b %b"
CONF
  chmod 0644 "$dir/oci.conf"
else
  rm -f "$dir/oci.conf"
fi
export SLURM_CONF=$dir/slurm.conf

stop
munged --socket="$dir/munge/munge.socket" --pid-file="$dir/munged.pid" --log-file="$dir/munged.log" --seed-file="$dir/munge/seed" --force
slurmctld -f "$SLURM_CONF"
slurmd -f "$SLURM_CONF"
for _ in $(seq 100); do
  if sinfo -h -o %t 2>/dev/null | grep -qE '^(idle|mix|alloc)'; then
    say "up: node $node ($cpus cpus), SLURM_CONF=$SLURM_CONF"
    exit 0
  fi
  sleep 0.2
done
say "the node did not come up; logs:"
tail -n 20 "$dir/slurmctld.log" "$dir/slurmd.log" >&2 || true
exit 1
