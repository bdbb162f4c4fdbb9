#!/usr/bin/env bash
# Stop the loopback SLURM cluster that .ci/slurm/start.sh started, by the PIDs it recorded.
#
# Usage: bash .ci/slurm/stop.sh [STATE_DIR]   (default: $SLURM_STATE or /tmp/nrdh-slurm)
# Cancels any jobs left, then sends TERM to slurmd, slurmctld and munged (in that order),
# and KILL to whichever is still alive 10 s later. Never matches processes by name; a pid
# file whose process is gone or is some other program is skipped. Removes the
# /etc/slurm/slurm.conf link when it points into STATE_DIR; logs stay in STATE_DIR.
set -uo pipefail

STATE=$(realpath -m "${1:-${SLURM_STATE:-/tmp/nrdh-slurm}}")
GRACE_S=10

say() { echo "[slurm-stop] $*"; }

# stop_daemon PIDFILE PROGRAM: TERM, then KILL, the process PIDFILE names if it is PROGRAM.
stop_daemon() {
    local pidfile=$1 program=$2 pid
    if [[ ! -s $pidfile ]]; then
        say "$program: no pid file $pidfile, skipping"
        return
    fi
    pid=$(cat "$pidfile")
    if [[ $(cat "/proc/$pid/comm" 2>/dev/null) != "$program" ]]; then
        say "$program: pid $pid from $pidfile is not running $program, skipping"
        return
    fi
    kill -TERM "$pid" 2>/dev/null
    local deadline=$((SECONDS + GRACE_S))
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do
        sleep 0.2
    done
    if kill -0 "$pid" 2>/dev/null; then
        say "$program: pid $pid ignored TERM for ${GRACE_S}s, sending KILL"
        kill -KILL "$pid" 2>/dev/null
    fi
    say "$program: stopped pid $pid"
}

if [[ -f $STATE/slurm.conf ]]; then
    export SLURM_CONF=$STATE/slurm.conf
    jobs=$(squeue -h -o %A 2>/dev/null)
    if [[ -n $jobs ]]; then
        say "cancelling jobs left in the queue: $(echo $jobs)"
        # shellcheck disable=SC2086  # one argument per job id
        scancel $jobs
        deadline=$((SECONDS + GRACE_S))
        while [[ -n $(squeue -h -o %A 2>/dev/null) ]] && ((SECONDS < deadline)); do
            sleep 0.5
        done
    fi
fi

stop_daemon "$STATE/slurmd.pid" slurmd
stop_daemon "$STATE/slurmctld.pid" slurmctld
stop_daemon "$STATE/munge/munged.pid" munged

if [[ $(readlink /etc/slurm/slurm.conf) == "$STATE/slurm.conf" ]]; then
    rm /etc/slurm/slurm.conf
fi
