#!/usr/bin/env bash
# Runs every Go fuzz target in the module for a short time each.
set -euo pipefail
fuzztime=${1:-5s}
cd "$(dirname "$0")/.."
status=0
while IFS= read -r file; do
  pkg=./$(dirname "$file")
  for target in $(grep -oE '^func (Fuzz[A-Za-z0-9_]+)' "$file" | awk '{print $2}'); do
    echo "fuzz: $pkg $target ($fuzztime)"
    out=$(mktemp)
    if ! go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg" 2>&1 | tee "$out"; then
      # Go's fuzzing engine sometimes ends a run with a bare "context
      # deadline exceeded" when the time is up while a worker is busy
      # (no input failed, nothing written to testdata). Only that is run
      # once more; a real failure ("Failing input") is never retried.
      if grep -q 'context deadline exceeded' "$out" && ! grep -q 'Failing input' "$out"; then
        echo "fuzz: $pkg $target ended on the engine's deadline, running it once more"
        go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg" || status=1
      else
        status=1
      fi
    fi
    rm -f "$out"
  done
done < <(grep -rlE '^func Fuzz' --include='*_test.go' pkg cmd 2>/dev/null || true)
exit $status
