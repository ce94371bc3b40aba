#!/usr/bin/env bash
# `make bench`: cloud API economy and speed at scale against the
# in-process simulators (tests/bench). Prints the results table and writes
# tests/bench/RESULTS.md and tests/bench/results.json. Extra arguments go
# to kumo-bench (e.g. -only storage -volumes 50); see -help.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
go run ./tests/bench/cmd/kumo-bench -out tests/bench "$@"
