#!/usr/bin/env bash
# Installs what is missing (see scripts/install.sh), then runs the whole test suite, including the
# tests that use the real SmolLM2 file (they fail, rather than skip, when it is missing here).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh
export STARSIM_REQUIRE_MODEL=1
exec swift test -c release -Xswiftc -enable-testing "$@"
