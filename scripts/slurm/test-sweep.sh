#!/usr/bin/env bash
# Sharded sweeps on a real Slurm, end to end (run by scripts/test.sh, so by .ci/run):
#   1. starts a single-node Slurm on this machine (scripts/slurm/local-cluster.sh; installs Debian's
#      slurm-wlm and munge when missing) and stops it again on exit;
#   2. runs scenarios/sweeps/sharded-small.yaml on one process (table, CSV, JSON);
#   3. submits it as a 4-task job array plus the dependent merge job (scripts/slurm/submit.sh) and
#      checks that merged.txt/.csv/.json are byte-identical to step 2;
#   4. resume: runs shard 0/2 of scenarios/sweeps/resume.yaml, kills it (SIGKILL) after its first
#      rows, runs it again, runs shard 1/2, and checks the merge against the unsharded run.
# STARSIM names the binary (default .build/release/starsim, built by scripts/test.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
starsim=${STARSIM:-$root/.build/release/starsim}
[[ -x "$starsim" ]] || { echo "test-sweep.sh: $starsim not found; build first (swift build -c release)" >&2; exit 2; }
work=$(mktemp -d "${TMPDIR:-/tmp}/starsim-slurm.XXXXXX")
cleanup() { scripts/slurm/local-cluster.sh stop "$work/slurm" || true; rm -rf "$work"; }
trap cleanup EXIT
say() { printf 'test-sweep.sh: %s\n' "$*" >&2; }
fail() { say "FAIL: $*"; exit 1; }

scripts/slurm/local-cluster.sh start "$work/slurm"
export SLURM_CONF="$work/slurm/slurm.conf"

# 1–3. The job array and the merge job.
sweep=scenarios/sweeps/sharded-small.yaml
"$starsim" project "$sweep" --table > "$work/single.txt" 2>/dev/null
"$starsim" project "$sweep" --csv > "$work/single.csv" 2>/dev/null
"$starsim" project "$sweep" --json > "$work/single.json" 2>/dev/null
read -r array merge < <(STARSIM="$starsim" scripts/slurm/submit.sh "$sweep" "$work/sweep" 4)
say "submitted job array $array (4 shards) and merge job $merge"
state=""
for _ in $(seq 600); do
    state=$(scontrol show job "$merge" -o 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p')
    case "$state" in
        COMPLETED) break ;;
        FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY|BOOT_FAIL|DEADLINE) break ;;
    esac
    sleep 1
done
if [[ "$state" != COMPLETED ]]; then
    tail -n 20 "$work"/sweep/slurm-*.out >&2 || true
    fail "merge job $merge ended as '${state:-unknown}'"
fi
for f in txt csv json; do
    cmp "$work/single.$f" "$work/sweep/merged.$f" || fail "merged.$f differs from the single-process run"
done
[[ $(ls "$work"/sweep/shard-*-of-00004.jsonl | wc -l) -eq 4 ]] || fail "expected 4 shard files"
say "Slurm: 4 shards + merge byte-identical to one process ($(wc -l < "$work/single.csv") CSV lines)"

# 4. Kill a shard mid-way, run it again, merge.
resume=scenarios/sweeps/resume.yaml
"$starsim" project "$resume" --csv > "$work/resume-single.csv" 2>/dev/null
rows="$work/resume/shard-00000-of-00002.jsonl"
"$starsim" project "$resume" --shard 0/2 --out "$work/resume" --serial > /dev/null 2>&1 &
pid=$!
for _ in $(seq 600); do
    [[ -s "$rows" ]] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
done
kill -0 "$pid" 2>/dev/null || fail "shard 0/2 finished before it could be killed; the resume test needs a slower sweep"
kill -9 "$pid"; wait "$pid" 2>/dev/null || true
before=$(wc -l < "$rows")
if "$starsim" merge "$work/resume" > /dev/null 2>&1; then fail "merge accepted a killed shard"; fi
summary=$("$starsim" project "$resume" --shard 0/2 --out "$work/resume" --json 2>/dev/null)
resumed=$(sed -n 's/.*"resumed": \([0-9]*\).*/\1/p' <<< "$summary")
repaired=$(sed -n 's/.*"repaired_bytes": \([0-9]*\).*/\1/p' <<< "$summary")
[[ $((resumed + repaired)) -gt 0 ]] || fail "the re-run found nothing of the killed run to resume: $summary"
"$starsim" project "$resume" --shard 1/2 --out "$work/resume" > /dev/null 2>&1
"$starsim" merge "$work/resume" --csv > "$work/resume-merged.csv"
cmp "$work/resume-single.csv" "$work/resume-merged.csv" || fail "the resumed sweep differs from the single-process run"
say "resume: killed shard 0/2 after $before row(s); re-run: $summary; merge byte-identical"
say "passed"
