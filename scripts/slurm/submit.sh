#!/usr/bin/env bash
# Submits a StarSim sweep to Slurm as N shards plus a merge that runs when all of them succeeded:
#   scripts/slurm/submit.sh SWEEP.yaml SWEEP_DIR N [sbatch options for both jobs, e.g. --partition=cpu]
# Prints the two job ids ("ARRAY_JOB MERGE_JOB"). Results: SWEEP_DIR/merged.{txt,csv,json}.
# STARSIM (exported to the jobs) names the binary; default: `starsim` on PATH.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
sweep=${1:?usage: submit.sh SWEEP.yaml SWEEP_DIR N [sbatch options]}
out=${2:?usage: submit.sh SWEEP.yaml SWEEP_DIR N [sbatch options]}
shards=${3:?usage: submit.sh SWEEP.yaml SWEEP_DIR N [sbatch options]}
shift 3
[[ "$shards" =~ ^[0-9]+$ && "$shards" -ge 1 ]] || { echo "submit.sh: N must be a positive integer, got '$shards'" >&2; exit 64; }
[[ -f "$sweep" ]] || { echo "submit.sh: sweep file not found: $sweep" >&2; exit 2; }
mkdir -p "$out"
export STARSIM="${STARSIM:-starsim}"
array=$(sbatch --parsable --export=ALL --chdir="$PWD" --output="$out/slurm-shard-%a.out" --array=0-$((shards - 1)) "$@" \
    "$here/sweep.sbatch" "$sweep" "$out")
array=${array%%;*}
merge=$(sbatch --parsable --export=ALL --chdir="$PWD" --output="$out/slurm-merge.out" --dependency=afterok:"$array" \
    --kill-on-invalid-dep=yes "$@" "$here/merge.sbatch" "$out")
merge=${merge%%;*}
echo "$array $merge"
