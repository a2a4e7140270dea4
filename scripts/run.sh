#!/usr/bin/env bash
# Installs what is missing (see scripts/install.sh), builds `starsim` (release) and runs a scenario:
# by default scenarios/default.yaml (global vs Star vs Ring on a ~4K-token passkey prompt, 4 hosts).
# Usage: scripts/run.sh [scenario.yaml] [extra starsim run options]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh
scenario="${1:-scenarios/default.yaml}"; [ $# -gt 0 ] && shift
# shellcheck disable=SC2046
swift build -c release --product starsim $(scripts/cpu-flags.sh) >&2
exec .build/release/starsim run "$scenario" "$@"
