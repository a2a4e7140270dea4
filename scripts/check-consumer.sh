#!/usr/bin/env bash
# Checks that another Swift package can depend on the StarSim library: copies this checkout's files
# (tracked and new, as `git ls-files` lists them) into a temporary git repository tagged 1.0.0, makes
# a tiny package that depends on it by URL and version — the way SwiftPM treats a real dependency,
# refusing `unsafeFlags` — builds it with default flags and runs one projection through the API.
# Everything is written under a temporary directory that is removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/starsim-consumer.XXXXXX")"
trap 'rm -rf "$work"' EXIT
say() { printf 'check-consumer: %s\n' "$*" >&2; }

say "copying the library into $work/starsim (a git repository tagged 1.0.0)"
mkdir -p "$work/starsim"
git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
  [ -e "$f" ] || continue   # deleted but not yet committed
  mkdir -p "$work/starsim/$(dirname "$f")"
  cp -p "$f" "$work/starsim/$f"
done
git -C "$work/starsim" init -q
git -C "$work/starsim" add -A
git -C "$work/starsim" -c user.name=ci -c user.email=ci@localhost commit -q -m "library under test"
git -C "$work/starsim" tag 1.0.0

mkdir -p "$work/consumer/Sources/Consumer"
cat > "$work/consumer/Package.swift" <<SWIFT
// swift-tools-version: 6.0
import PackageDescription
let package = Package(
    name: "Consumer",
    dependencies: [.package(url: "file://$work/starsim", from: "1.0.0")],
    targets: [.executableTarget(name: "Consumer", dependencies: [.product(name: "StarSim", package: "starsim")])]
)
SWIFT
cat > "$work/consumer/Sources/Consumer/main.swift" <<'SWIFT'
import Foundation
import StarSim

// One projection through the public API: Llama-3.1-8B, 32K context, Star on 4 hosts.
let model = try CapacityModels.resolve("llama-3.1-8b")
let result = CapacityProjection.project(ProjectionConfig(model: model, method: .star, contextLength: 32_768, hosts: 4))
guard let ttft = result.timeToFirstToken else {
    print("projection failed: \(result.statusText)")
    exit(1)
}
print("consumer: llama-3.1-8b, 32K tokens, star on 4 hosts: TTFT \(ttft) s, \(result.bytesMoved) bytes moved")
SWIFT
say "building the consumer package (debug, default flags)"
if ! (cd "$work/consumer" && swift build >"$work/build.log" 2>&1); then
  tail -n 40 "$work/build.log" >&2
  say "FAILED: the consumer package did not build"; exit 1
fi
out="$("$work/consumer/.build/debug/Consumer")"
echo "$out"
case "$out" in consumer:*TTFT*) say "ok" ;; *) say "FAILED: unexpected output"; exit 1 ;; esac
