#!/bin/bash
# A/B runs of one bench for two builds, alternating, for noisy figures that need many
# runs (the contended mutex comparison: see README, Known limits).
#
#   npm run build && cp dist/index.mjs /tmp/A.mjs     # build A
#   ...change lib/..., npm run build && cp dist/index.mjs /tmp/B.mjs
#   bench/ab.sh /tmp/A.mjs /tmp/B.mjs [seconds] [bench] > ab.log
#
# Each round copies one build over dist/index.mjs and runs `node bench/run.mjs <bench>`
# (default: mutex, with N_UNCONTENDED=1000 so that only the contended rows take time),
# printing the ratio column of every candidate row whose implementation label matches
# MATCH (an awk regex; default: fastipc Mutex, the two contended rows), one line per run:
#   HH:MM:SS A 0.96 0.89
# and at the end the median of each column per build. dist/index.mjs is rebuilt at the
# end (npm run build). Do not run tests or other benches meanwhile.
set -euo pipefail
A=${1:?usage: bench/ab.sh A.mjs B.mjs [seconds] [bench]}
B=${2:?usage: bench/ab.sh A.mjs B.mjs [seconds] [bench]}
SECS=${3:-600}
BENCH=${4:-mutex}
cd "$(dirname "$0")/.."
trap 'npm run build >/dev/null 2>&1' EXIT
log=$(mktemp)
end=$((SECONDS + SECS))
while [ $SECONDS -lt $end ]; do
  for label in A B; do
    if [ $label = A ]; then cp "$A" dist/index.mjs; else cp "$B" dist/index.mjs; fi
    ratios=$(N_UNCONTENDED=${N_UNCONTENDED:-1000} node bench/run.mjs "$BENCH" 2>&1 |
      awk -F'|' -v m="${MATCH:-fastipc Mutex}" '$4 ~ m && $9 ~ /×/ { gsub(/[ ×]/, "", $9); sub(/\(.*/, "", $9); printf "%s ", $9 }')
    echo "$(date +%T) $label $ratios" | tee -a "$log"
  done
done
node -e '
  const cols = {};
  for (const line of require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n")) {
    const [, label, ...r] = line.trim().split(/\s+/);
    r.forEach((x, i) => ((cols[label] ??= [])[i] ??= []).push(Number(x)));
  }
  const med = (a) => { const s = [...a].sort((x, y) => x - y); return s[s.length >> 1]; };
  for (const [label, c] of Object.entries(cols)) console.log(`${label}: ${c.length ? c[0].length : 0} runs, medians ${c.map(med).join(" ")}`);
' "$log"
rm -f "$log"
