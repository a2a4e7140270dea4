#!/usr/bin/env bash
# Installs what is missing (see scripts/install.sh), then runs the whole test suite, including the
# tests that use the real SmolLM2 file (they fail, rather than skip, when it is missing here):
#   1. build (release, with this machine's vector instructions: scripts/cpu-flags.sh);
#   2. the bitwise-determinism tests with OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE unset, then with
#      OPENBLAS_CORETYPE=Haswell (Docs/Determinism.md), whatever this machine's environment sets;
#   3. a package that depends on the StarSim library by URL and version builds and runs a projection
#      (scripts/check-consumer.sh);
#   4. the whole suite, in this machine's environment;
#   5. the HTML report in Debian's chromium, headless (scripts/browser-test.sh: installs chromium when
#      missing; STARSIM_BROWSER_TEST=0 skips it);
#   6. sharded sweeps on a real single-node Slurm started here and stopped again
#      (scripts/slurm/test-sweep.sh: job array + merge byte-identical to one process; kill and resume;
#      STARSIM_SLURM_TEST=0 skips it);
#   7. each fuzz harness for 20 s (scripts/fuzz.sh; STARSIM_FUZZ_SECONDS changes it, 0 skips it),
#      after replaying every input in Fuzz/Regressions/.
# Extra arguments go to the suite's `swift test` (e.g. --filter NAME).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh
export STARSIM_REQUIRE_MODEL=1
# shellcheck disable=SC2207
flags=($(scripts/cpu-flags.sh))
build=(-c release -Xswiftc -enable-testing "${flags[@]}")
say() { printf 'test.sh: %s\n' "$*" >&2; }

say "building (${flags[*]:-generic x86-64})"
swift build --build-tests "${build[@]}"
bitwise='[Bb]itwise|DeterminismTests'
say "bitwise tests with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset"
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE swift test --skip-build "${build[@]}" --filter "$bitwise"
say "bitwise tests with OPENBLAS_CORETYPE=Haswell"
env OPENBLAS_CORETYPE=Haswell swift test --skip-build "${build[@]}" --filter "$bitwise"
say "a package depending on the library"
scripts/check-consumer.sh
say "the whole suite"
swift test --skip-build "${build[@]}" "$@"
if [ "${STARSIM_BROWSER_TEST:-1}" != 0 ]; then
  say "the HTML report in a headless browser"
  scripts/browser-test.sh
fi
if [ "${STARSIM_SLURM_TEST:-1}" != 0 ]; then
  say "sharded sweeps on a local Slurm"
  scripts/slurm/test-sweep.sh
fi
fuzz_seconds="${STARSIM_FUZZ_SECONDS:-20}"
if [ "$fuzz_seconds" -gt 0 ]; then
  say "fuzzing each input reader for ${fuzz_seconds}s"
  scripts/fuzz.sh "$fuzz_seconds"
fi
