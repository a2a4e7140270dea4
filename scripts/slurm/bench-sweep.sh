#!/usr/bin/env bash
# Benchmark: a sweep on one process vs the same sweep as N shards on a local single-node Slurm
# (job array + merge job), interleaved ROUNDS times; prints wall seconds and rows/s of each and the
# ratio. Results go in BENCHMARKS.md ("Sharded sweeps").
#   scripts/slurm/bench-sweep.sh [SWEEP.yaml] [N] [ROUNDS]
# Default: scenarios/sweeps/capacity-10k.yaml (10,000 configurations), 2 shards, 1 round.
set -euo pipefail
cd "$(dirname "$0")/../.."
sweep=${1:-scenarios/sweeps/capacity-10k.yaml}
shards=${2:-2}
rounds=${3:-1}
starsim=${STARSIM:-$(pwd)/.build/release/starsim}
[[ -x "$starsim" ]] || { echo "bench-sweep.sh: $starsim not found; build first (swift build -c release)" >&2; exit 2; }
work=$(mktemp -d "${TMPDIR:-/tmp}/starsim-bench.XXXXXX")
trap 'scripts/slurm/local-cluster.sh stop "$work/slurm" || true; rm -rf "$work"' EXIT
scripts/slurm/local-cluster.sh start "$work/slurm"
export SLURM_CONF="$work/slurm/slurm.conf"
now() { date +%s.%N; }
echo "sweep $sweep, $shards shards, $(nproc) CPUs, $(lscpu | sed -n 's/^Model name: *//p' | head -1)"
for r in $(seq "$rounds"); do
    t0=$(now)
    "$starsim" project "$sweep" --csv > "$work/single.csv" 2>/dev/null
    t1=$(now)
    rm -rf "$work/sweep"
    read -r _ merge < <(STARSIM="$starsim" scripts/slurm/submit.sh "$sweep" "$work/sweep" "$shards")
    while :; do
        state=$(scontrol show job "$merge" -o 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p')
        [[ "$state" == COMPLETED ]] && break
        [[ "$state" =~ ^(FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY)$ ]] && { echo "merge job ended as $state" >&2; exit 1; }
        sleep 0.5
    done
    t2=$(now)
    cmp -s "$work/single.csv" "$work/sweep/merged.csv" || { echo "merged CSV differs from the single-process run" >&2; exit 1; }
    rows=$(($(wc -l < "$work/single.csv") - 1))
    awk -v r="$r" -v n="$rows" -v a="$t0" -v b="$t1" -v c="$t2" -v s="$shards" 'BEGIN {
        one = b - a; sh = c - b
        printf "round %d: %d rows; one process %.1f s (%.0f rows/s); %d Slurm shards + merge %.1f s (%.0f rows/s); sharded/one = %.2f; merged CSV identical\n",
            r, n, one, n / one, s, sh, n / sh, sh / one }'
done
