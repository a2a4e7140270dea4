#!/usr/bin/env bash
# Prints the swift build flags that let the compiler use this machine's vector instructions in the
# executable and the tests (never set in Package.swift, so that other packages can depend on the
# StarSim library): `skylake-avx512` (AVX-512 F/BW/CD/DQ/VL on top of the Haswell set) or `haswell`
# (AVX2, FMA, BMI1/2, F16C, MOVBE, LZCNT, POPCNT) when /proc/cpuinfo reports all of its features,
# else nothing (the generic x86-64 build runs everywhere, slower: SIMD fma becomes a libm call).
# CPU names, not x86-64-v3/v4: Swift's Clang importer rejects the level names. Results do not depend on the level: the kernels' float operations are the same IEEE
# operations at every level (Docs/Determinism.md).
#   STARSIM_TARGET_CPU=none|haswell|skylake-avx512  overrides the detection.
set -euo pipefail
level="${STARSIM_TARGET_CPU:-}"
if [ -z "$level" ]; then
  level=none
  if [ "$(uname -m)" = "x86_64" ] && [ -r /proc/cpuinfo ]; then
    flags=" $(grep -m1 '^flags' /proc/cpuinfo | cut -d: -f2) "
    has() { for f in "$@"; do case "$flags" in *" $f "*) ;; *) return 1;; esac; done; }
    if has avx2 fma bmi1 bmi2 f16c movbe abm popcnt; then level=haswell; fi
    if [ "$level" = haswell ] && has avx512f avx512bw avx512cd avx512dq avx512vl; then level=skylake-avx512; fi
  fi
fi
case "$level" in
  none) ;;
  haswell|skylake-avx512) printf -- '-Xswiftc -target-cpu -Xswiftc %s\n' "$level" ;;
  *) echo "cpu-flags: STARSIM_TARGET_CPU=$level: expected none, haswell or skylake-avx512" >&2; exit 2 ;;
esac
