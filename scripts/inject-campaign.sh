#!/bin/sh
# The fault-injection campaign of docs/protection.md (opt-in: minutes, not
# part of npm test): RUNS seeded corruptions of the Mondrix kernel's disk
# driver (default 1,000) with its protection domain and as many without.
# Prints the outcome table; JSON records go to $OUT (default
# inject-campaign.json). Needs a built dist/ (npm run build).
set -e
cd "$(dirname "$0")/.."
RUNS="${RUNS:-1000}"
OUT="${OUT:-inject-campaign.json}"
node bin/previrt.js inject --runs "$RUNS" --seed "${SEED:-1}" --json "$OUT"
