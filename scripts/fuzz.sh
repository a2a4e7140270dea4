#!/usr/bin/env bash
# Coverage-guided fuzzing of StarSim's input readers (libFuzzer + AddressSanitizer), Fuzz/README.md.
#   scripts/fuzz.sh [seconds] [harness...]
# Builds the Fuzz package (release, --sanitize=fuzzer --sanitize=address) into .build-fuzz/build,
# then runs each harness (default: all) for `seconds` (default 20) on a working corpus in
# .build-fuzz/corpus/<harness> seeded from Fuzz/Corpus/<harness> (never committed), with a 10 s
# timeout per input, a 2 GB RSS limit and leak detection (leaks outside StarSim are suppressed
# in Fuzz/lsan-suppressions.txt). Prints executions, exec/s, crashes,
# leaks and timeouts per harness, and exits non-zero if any harness crashed, leaked, timed out or
# ran out of memory; the input that did it is left in .build-fuzz/artifacts/<harness>/.
#   FUZZ_ARGS="..."      extra libFuzzer flags for every harness (e.g. -seed=1)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="$root/.build-fuzz"
mkdir -p "$work/logs"
all=(fuzz-gguf fuzz-tokenizer fuzz-yaml fuzz-config-json)
say() { printf 'fuzz.sh: %s\n' "$*" >&2; }
trap 'say "stopped: line $LINENO: $BASH_COMMAND"' ERR

seconds=20
if [ $# -gt 0 ] && [[ $1 =~ ^[0-9]+$ ]]; then seconds=$1; shift; fi
harnesses=("$@")
[ ${#harnesses[@]} -gt 0 ] || harnesses=("${all[@]}")
for h in "${harnesses[@]}"; do
  case " ${all[*]} " in *" $h "*) ;; *) say "unknown harness '$h'; expected: ${all[*]}"; exit 2 ;; esac
done

# libFuzzer ships with the toolchain's clang runtime (Linux: libclang_rt.fuzzer-<arch>.a).
swiftc="$(command -v swiftc || true)"
[ -n "$swiftc" ] || { say "swiftc not found on PATH"; exit 2; }
toolchain="$(cd "$(dirname "$(readlink -f "$swiftc")")/.." && pwd)"
if ! compgen -G "$toolchain/lib/clang/*/lib/*/libclang_rt.fuzzer*.a" >/dev/null \
   && ! compgen -G "$toolchain/lib/swift/clang/lib/*/libclang_rt.fuzzer*.a" >/dev/null; then
  say "this Swift toolchain ($toolchain) has no libFuzzer runtime (libclang_rt.fuzzer*.a):"
  say "-sanitize=fuzzer needs a toolchain from swift.org for Linux (Xcode's has none)"
  exit 2
fi

# SwiftPM names a path dependency after its folder; a checkout in a folder named `fuzz` would have
# the same identity as the Fuzz package itself, so it is built from a copy in .build-fuzz/src/starsim
# (the files git lists: tracked and new, not ignored), refreshed file by file.
package="$root/Fuzz"
name="$(basename "$root")"
if [ "${name,,}" = fuzz ]; then
  copy="$work/src/starsim"
  say "checkout folder is named '$name': building from a copy in $copy"
  mkdir -p "$copy"
  listed="$work/src/files"
  git -C "$root" ls-files -z --cached --others --exclude-standard >"$listed"
  while IFS= read -r -d '' f; do
    [ -f "$root/$f" ] || continue
    if ! cmp -s "$root/$f" "$copy/$f"; then mkdir -p "$copy/$(dirname "$f")"; cp -p "$root/$f" "$copy/$f"; fi
  done <"$listed"
  (cd "$copy" && find . -type f -not -path './Fuzz/.build/*' -not -path './Fuzz/Package.resolved' \
    -not -path './Fuzz/.swiftpm/*' -printf '%P\0') | while IFS= read -r -d '' f; do
    [ -f "$root/$f" ] || rm -f "$copy/$f"
  done
  package="$copy/Fuzz"
fi

# `--sanitize` instruments the C code (Yams' libyaml) with both sanitizers, but swiftc keeps only the
# last `-sanitize=` it is given, so SwiftPM's `-sanitize=fuzzer -sanitize=address` would build the
# Swift code without coverage; the comma form, passed last, keeps both.
build=(-c release --package-path "$package" --scratch-path "$work/build"
       --sanitize=fuzzer --sanitize=address -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library)
say "building ${harnesses[*]} (release, fuzzer + address sanitizers)"
for h in "${harnesses[@]}"; do
  if ! swift build "${build[@]}" --product "$h" >"$work/build-$h.log" 2>&1; then
    grep -E 'error:' "$work/build-$h.log" >&2 || tail -20 "$work/build-$h.log" >&2
    say "build of $h failed (log: $work/build-$h.log)"
    exit 2
  fi
done
bin="$(swift build "${build[@]}" --show-bin-path)"
for h in "${harnesses[@]}"; do  # the Swift code adds tens of thousands of counters to libyaml's ~4,000
  # (-runs=0 still runs the empty input: no leak check, and any artifact goes to the logs)
  counters="$(ASAN_OPTIONS=detect_leaks=0 "$bin/$h" -runs=0 -detect_leaks=0 -artifact_prefix="$work/logs/probe-" 2>&1 \
    | sed -n -E 's/.*\(([0-9]+) inline 8-bit counters\).*/\1/p' | head -1 || true)"
  if [ "${counters:-0}" -lt 10000 ]; then say "warning: $h has ${counters:-no} coverage counters: is the Swift code instrumented?"; fi
done

max_len() {
  case "$1" in
    fuzz-gguf) echo 262144 ;;
    fuzz-config-json) echo 16384 ;;
    *) echo 65536 ;;
  esac
}

# Runs one harness; writes its log and a one-line result to .build-fuzz/logs/.
run() {
  local h=$1 corpus="$work/corpus/$1" artifacts="$work/artifacts/$1" log="$work/logs/$1.log"
  local dict="$root/Fuzz/Dictionaries/$1.dict" stamp="$work/logs/$1.start" args=()
  mkdir -p "$corpus" "$artifacts" "$work/logs"
  [ -f "$dict" ] && args+=("-dict=$dict")
  # Inputs that once crashed a reader are replayed first (read-only corpus): a fix that regresses fails here.
  local dirs=("$corpus" "$root/Fuzz/Corpus/$h")
  [ -d "$root/Fuzz/Regressions/$h" ] && [ -n "$(ls -A "$root/Fuzz/Regressions/$h")" ] && dirs+=("$root/Fuzz/Regressions/$h")
  # shellcheck disable=SC2206
  [ -n "${FUZZ_ARGS:-}" ] && args+=(${FUZZ_ARGS})
  touch "$stamp"
  local rc=0
  ASAN_OPTIONS="detect_leaks=1:${ASAN_OPTIONS:-}" \
  LSAN_OPTIONS="suppressions=$root/Fuzz/lsan-suppressions.txt:print_suppressions=0:${LSAN_OPTIONS:-}" "$bin/$h" "${dirs[@]}" \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len="$(max_len "$h")" \
    -detect_leaks=1 -print_final_stats=1 -artifact_prefix="$artifacts/" "${args[@]}" >"$log" 2>&1 || rc=$?
  local execs rate
  execs="$(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || true)"
  rate="$(grep -m1 -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' || true)"
  if [ -z "$execs" ]; then  # no final stats (e.g. killed): the last status line
    execs="$(grep -o '^#[0-9]*' "$log" | tail -1 | tr -d '#' || true)"
    rate="$(grep -o 'exec/s: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*$' || true)"
  fi
  # libFuzzer names what it saves by kind: crash-, leak-, timeout-, oom- (then the input's SHA-1).
  count() { find "$artifacts" -maxdepth 1 -type f -name "$1-*" -newer "$stamp" | wc -l; }
  local crashes leaks timeouts ooms input status=ok
  crashes="$(count crash)" leaks="$(count leak)" timeouts="$(count timeout)" ooms="$(count oom)"
  input="$(find "$artifacts" -maxdepth 1 -type f -newer "$stamp" | head -1)"
  if [ "$rc" -ne 0 ] || [ -n "$input" ]; then status=FAILED; fi
  printf '%-17s %-6s executions %9s  exec/s %6s  crashes %s  leaks %s  timeouts %s  oom %s  corpus %s%s\n' \
    "$h" "$status" "${execs:-?}" "${rate:-?}" "$crashes" "$leaks" "$timeouts" "$ooms" "$(ls "$corpus" | wc -l)" \
    "${input:+  input: $input}" >"$work/logs/$h.result"
}

say "running each harness for ${seconds}s, one at a time (logs: $work/logs/)"
for h in "${harnesses[@]}"; do
  rm -f "$work/logs/$h.result"
  run "$h"
  cat "$work/logs/$h.result"
done
failed=0
for h in "${harnesses[@]}"; do grep -q '^[^ ]* *FAILED ' "$work/logs/$h.result" && failed=1; done
if [ "$failed" -ne 0 ]; then
  say "FAILED: a harness crashed, leaked, timed out or ran out of memory; inputs in $work/artifacts/<harness>/,"
  say "stack traces in $work/logs/<harness>.log; reproduce with: $bin/<harness> <input>"
  exit 1
fi
say "no crash, leak or timeout"
