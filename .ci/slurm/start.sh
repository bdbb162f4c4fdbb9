#!/usr/bin/env bash
# Start a single-node SLURM cluster on loopback (munged, slurmctld, slurmd) for CI.
#
# Usage: bash .ci/slurm/start.sh [STATE_DIR]   (default: $SLURM_STATE or /tmp/nrdh-slurm)
# Needs root on Debian/Ubuntu without systemd. Installs the packages when missing, writes
# slurm.conf and every pid/log/spool file under STATE_DIR, links /etc/slurm/slurm.conf to it
# (srun inside a Snakemake job runs with SLURM_CONF removed, so only the default path works)
# and returns once the node is idle.
# No slurmdbd: accounting is off, so job status must come from squeue (MinJobAge=600 keeps
# finished jobs visible to it); see .ci/slurm/README.md.
set -euo pipefail

STATE=$(realpath -m "${1:-${SLURM_STATE:-/tmp/nrdh-slurm}}")
CONF="$STATE/slurm.conf"
READY_TIMEOUT_S=${SLURM_READY_TIMEOUT_S:-60}
T0=$SECONDS

say() { echo "[slurm-start] $*"; }

die() {
    echo "[slurm-start] ERROR: $*" >&2
    exit 1
}

dump_logs() {
    local log
    for log in "$STATE"/munge/munged.log "$STATE"/slurmctld.log "$STATE"/slurmd.log; do
        [[ -f $log ]] || continue
        echo "----- last 40 lines of $log -----" >&2
        tail -n 40 "$log" >&2
    done
}

fail() {
    dump_logs
    die "$*"
}

# wait_for SECONDS DESCRIPTION COMMAND...: poll COMMAND every 0.5 s until it succeeds.
wait_for() {
    local limit=$1 what=$2
    shift 2
    local deadline=$((SECONDS + limit))
    until "$@" >/dev/null 2>&1; do
        ((SECONDS < deadline)) || fail "$what not ready after ${limit}s (state in $STATE)"
        sleep 0.5
    done
}

ctld_up() { scontrol ping | grep "is UP" >/dev/null; }

node_idle() { [[ $(sinfo -h -n localhost -o %t) == idle ]]; }

[[ $EUID -eq 0 ]] || die "must run as root (it installs packages and starts daemons)"

for pidfile in "$STATE/slurmd.pid" "$STATE/slurmctld.pid" "$STATE/munge/munged.pid"; do
    if [[ -s $pidfile ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
        die "already running: pid $(cat "$pidfile") from $pidfile; run .ci/slurm/stop.sh $STATE first"
    fi
done

missing=0
for tool in munged slurmctld slurmd sbatch squeue; do
    command -v "$tool" >/dev/null || missing=1
done
if ((missing)); then
    say "installing munge and slurm packages"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq || die "apt-get update failed"
    apt-get install -y -qq --no-install-recommends munge slurmctld slurmd slurm-client >/dev/null \
        || die "apt-get install of munge slurmctld slurmd slurm-client failed"
    say "packages installed after $((SECONDS - T0))s"
fi

if [[ -e /etc/slurm/slurm.conf && ! -L /etc/slurm/slurm.conf ]]; then
    die "/etc/slurm/slurm.conf is a real file (another cluster's config?); refusing to replace it"
fi
rm -rf "$STATE"
install -d "$STATE" "$STATE/ctld" "$STATE/spool" /etc/slurm
install -d -o munge -g munge -m 0700 "$STATE/munge"
install -d -o munge -g munge -m 0755 /run/munge

# munge: the shared-secret authentication that every slurm daemon and client uses.
if [[ ! -s /etc/munge/munge.key ]]; then
    mungekey --create --keyfile=/etc/munge/munge.key || die "mungekey --create failed"
fi
chown munge:munge /etc/munge/munge.key
chmod 0600 /etc/munge/munge.key
runuser -u munge -- /usr/sbin/munged --pid-file="$STATE/munge/munged.pid" \
    --log-file="$STATE/munge/munged.log" || fail "munged did not start"
wait_for 20 munged sh -c 'munge -n | unmunge'

# RealMemory above what slurmd detects drains the node, so declare 90% of MemTotal.
mem_mb=$(awk '/^MemTotal:/ {print int($2 / 1024 * 0.9)}' /proc/meminfo)
cat >"$CONF" <<EOF
# Single-node loopback cluster written by .ci/slurm/start.sh; not for production.
ClusterName=nrdh-ci
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
# No cgroups in containers: track processes through /proc, no task binding.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
# Without a default, one job would take the whole node's memory.
DefMemPerCPU=100
ReturnToService=2
# No slurmdbd: finished jobs stay visible to squeue for MinJobAge seconds, long after the
# executor plugin's status checks; the plugin uses squeue only if MinJobAge >= 3x its interval.
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MinJobAge=600
MailProg=/bin/true
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/spool
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/slurmctld.log
SlurmdLogFile=$STATE/slurmd.log
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$(nproc) RealMemory=$mem_mb State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
ln -sfn "$CONF" /etc/slurm/slurm.conf

# The machine's hostname is not "localhost", so slurmd is told which node it is.
/usr/sbin/slurmctld -f "$CONF" || fail "slurmctld did not start"
wait_for "$READY_TIMEOUT_S" "slurmctld (scontrol ping)" ctld_up
/usr/sbin/slurmd -f "$CONF" -N localhost || fail "slurmd did not start"
wait_for "$READY_TIMEOUT_S" "node localhost (sinfo state idle)" node_idle

say "ready after $((SECONDS - T0))s; /etc/slurm/slurm.conf -> $CONF"
sinfo
