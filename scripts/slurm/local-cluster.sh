#!/usr/bin/env bash
# A single-node Slurm on this machine, for tests: `local-cluster.sh start STATE_DIR` installs Debian's
# slurm-wlm and munge when missing, writes a slurm.conf under STATE_DIR (nothing under /etc is
# changed), starts munged, slurmctld and slurmd, and waits until the node is idle; `local-cluster.sh
# stop STATE_DIR` stops exactly the daemons it started. Commands that talk to this cluster need
# `export SLURM_CONF=STATE_DIR/slurm.conf`.
set -euo pipefail
action=${1:?usage: local-cluster.sh start|stop STATE_DIR}
state=${2:?usage: local-cluster.sh start|stop STATE_DIR}
mkdir -p "$state"
state=$(cd "$state" && pwd)
export SLURM_CONF="$state/slurm.conf"

stop() {
    for name in slurmd slurmctld munged; do
        if [[ -f "$state/$name.pid" ]]; then
            pid=$(cat "$state/$name.pid" 2>/dev/null || true)
            if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
                kill "$pid" 2>/dev/null || true
                for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
                kill -9 "$pid" 2>/dev/null || true
            fi
            rm -f "$state/$name.pid"
        fi
    done
}

if [[ "$action" == stop ]]; then stop; exit 0; fi
[[ "$action" == start ]] || { echo "local-cluster.sh: unknown action '$action' (start or stop)" >&2; exit 64; }

if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null || ! command -v sbatch >/dev/null; then
    echo "local-cluster.sh: installing slurm-wlm and munge (Debian packages)" >&2
    SUDO=""; [[ $(id -u) -eq 0 ]] || SUDO="sudo"
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends slurm-wlm munge >&2 \
        || { $SUDO apt-get update >&2 && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends slurm-wlm munge >&2; }
fi

stop  # leftovers of an earlier run in the same directory
mkdir -p "$state/ctld" "$state/spool" "$state/munge"
node=$(hostname -s)
cpus=$(nproc)
user=$(id -un)

# munge: its own key and socket under STATE_DIR (the system's munged, if any, is left alone).
keyfile="$state/munge/munge.key"
[[ -f "$keyfile" ]] || { dd if=/dev/urandom of="$keyfile" bs=1 count=1024 status=none; chmod 600 "$keyfile"; }
socket="$state/munge/munge.socket"
munged --force --key-file="$keyfile" --socket="$socket" --pid-file="$state/munged.pid" \
    --log-file="$state/munge/munged.log" --seed-file="$state/munge/munged.seed"

cat > "$SLURM_CONF" <<CONF
ClusterName=starsim-test
SlurmctldHost=$node(127.0.0.1)
SlurmUser=$user
SlurmdUser=$user
AuthType=auth/munge
AuthInfo=socket=$socket
CredType=cred/munge
StateSaveLocation=$state/ctld
SlurmdSpoolDir=$state/spool
SlurmctldPidFile=$state/slurmctld.pid
SlurmdPidFile=$state/slurmd.pid
SlurmctldLogFile=$state/slurmctld.log
SlurmdLogFile=$state/slurmd.log
SlurmctldPort=${STARSIM_SLURMCTLD_PORT:-16817}
SlurmdPort=${STARSIM_SLURMD_PORT:-16818}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
SlurmdTimeout=300
NodeName=$node NodeAddr=127.0.0.1 CPUs=$cpus State=UNKNOWN
PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
CONF

slurmctld -i
slurmd
for _ in $(seq 100); do
    if sinfo -h -o '%t' 2>/dev/null | grep -qE '^(idle|mix|alloc)'; then
        echo "local-cluster.sh: Slurm is up ($node, $cpus CPUs, SLURM_CONF=$SLURM_CONF)" >&2
        exit 0
    fi
    sleep 0.3
done
echo "local-cluster.sh: Slurm did not come up; logs:" >&2
tail -n 20 "$state/slurmctld.log" "$state/slurmd.log" "$state/munge/munged.log" >&2 || true
stop
exit 1
