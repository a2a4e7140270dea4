#!/usr/bin/env bash
# Installs the peer engine for `starsim bench peer`: llama.cpp through PyPI's llama-cpp-python,
# compiled from source into a venv outside the repo:
#   ${STARSIM_CACHE:-$HOME/.cache/starsim}/peer/venv
# llama.cpp is built with its defaults, i.e. GGML_NATIVE=ON: tuned for this machine's own CPU
# (-march=native), like a local llama.cpp build that llama-bench would use. The venv is therefore
# not portable to other CPUs; delete it to rebuild.
# Safe to re-run: does nothing when the pinned version already imports.
# Last line on stdout: the absolute path of the venv's python.
set -euo pipefail

LLAMA_CPP_PYTHON_VERSION="0.3.36"
CACHE="${STARSIM_CACHE:-$HOME/.cache/starsim}"
PEER="$CACHE/peer"
VENV="$PEER/venv"
PY="$VENV/bin/python"
LOG="$PEER/install.log"

say() { printf 'install-peer: %s\n' "$*" >&2; }

installed_version() {
  [ -x "$PY" ] && "$PY" -c 'import llama_cpp; print(llama_cpp.__version__)' 2>/dev/null
}

if [ "$(installed_version || true)" = "$LLAMA_CPP_PYTHON_VERSION" ]; then
  echo "$PY"
  exit 0
fi

mkdir -p "$PEER"

need_apt=()
command -v g++ >/dev/null 2>&1 && command -v make >/dev/null 2>&1 || need_apt+=(build-essential)
command -v cmake >/dev/null 2>&1 || need_apt+=(cmake)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need_apt+=(python3-venv)
if [ ${#need_apt[@]} -gt 0 ]; then
  say "installing Debian packages: ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq >>"$LOG" 2>&1
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >>"$LOG" 2>&1
fi

if [ ! -x "$PY" ]; then
  say "creating venv $VENV"
  python3 -m venv "$VENV"
fi

say "building llama-cpp-python==$LLAMA_CPP_PYTHON_VERSION from source (10-20 min on 2 cores; log: $LOG)"
start=$SECONDS
export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}"
if ! "$PY" -m pip install --disable-pip-version-check --no-cache-dir --no-binary llama-cpp-python \
     "llama-cpp-python==$LLAMA_CPP_PYTHON_VERSION" >>"$LOG" 2>&1; then
  say "pip install failed; last lines of $LOG:"
  tail -n 30 "$LOG" >&2
  exit 1
fi

got="$(installed_version || true)"
if [ "$got" != "$LLAMA_CPP_PYTHON_VERSION" ]; then
  say "llama_cpp does not import as version $LLAMA_CPP_PYTHON_VERSION (got '${got:-nothing}'); see $LOG"
  exit 1
fi
say "llama-cpp-python $got ready after $((SECONDS - start)) s"
echo "$PY"
