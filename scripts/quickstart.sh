#!/usr/bin/env bash
# Tern in one command: builds everything, starts the dispatcher with the EDF
# policy on loopback serving the bimodal example spec (a short ~10 µs and a
# long ~1 ms `hash` function, deadlines 10x their cost), drives a short
# open-loop sweep at it with loadgen, prints the table, and writes
# results/quickstart/{sweep.csv,plot.svg}. The dispatcher is stopped on exit,
# also on error or Ctrl-C. Takes about a minute once built.
#
# Environment overrides (defaults in brackets):
#   WORKERS [1]     dispatcher workers. One worker keeps one core for the
#                   worker and one for the dispatcher + loadgen on a 2-core
#                   machine; more workers than free cores measure the
#                   scheduler, not Tern.
#   POLICY  [edf]   dispatcher policy (rr, jsq, lld, edf).
#   RATES   [100:1500:5]  loadgen --rates (R1,R2,... or FROM:TO:STEPS).
#   DURATION [3]    measured seconds per rate (after 1 s of warm-up).
#   MIX     [/short=1,/long=1]  request mix (50:50, as in "high bimodal").
#   OUT     [results/quickstart]
set -euo pipefail
cd "$(dirname "$0")/.."

WORKERS=${WORKERS:-1}
POLICY=${POLICY:-edf}
RATES=${RATES:-100:1500:5}
DURATION=${DURATION:-3}
MIX=${MIX:-/short=1,/long=1}
OUT=${OUT:-results/quickstart}
SPEC=functions/bimodal.json

scripts/setup.sh
functions/build.sh
cargo build --release -p tern-dispatcher -p tern-loadgen
. scripts/release_dir.sh

mkdir -p "$OUT"
log=$(mktemp -t tern-dispatcher.XXXXXX)
"$RELEASE_DIR"/dispatcher --spec "$SPEC" --policy "$POLICY" --workers "$WORKERS" \
  --listen 127.0.0.1:0 --idle adaptive >"$log" 2>&1 &
pid=$!
stop_dispatcher() {
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    # Give it a moment to print its per-route counters, then make sure.
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
  echo "--- dispatcher log (last lines) ---" >&2
  tail -n 15 "$log" >&2 || true
  rm -f "$log"
}
trap stop_dispatcher EXIT

url=""
for _ in $(seq 1 600); do
  url=$(grep -o 'listening on udp://[0-9.]*:[0-9]*' "$log" | head -n 1 | sed 's/^listening on //' || true)
  [ -n "$url" ] && break
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "quickstart: the dispatcher exited before listening:" >&2
    cat "$log" >&2
    exit 1
  fi
  sleep 0.1
done
[ -n "$url" ] || { echo "quickstart: the dispatcher did not start within 60 s" >&2; exit 1; }
echo "dispatcher ($POLICY, $WORKERS worker(s), adaptive idle) at $url"

"$RELEASE_DIR"/loadgen call --server "$url" --spec "$SPEC" --route /short 10

"$RELEASE_DIR"/loadgen sweep --server "$url" --spec "$SPEC" \
  --mix "$MIX" --body /short=10 --body /long=1000 \
  --rates "$RATES" --duration "$DURATION" --warmup 1 --idle adaptive --stop-when-saturated \
  --out "$OUT/sweep.csv" --plot "$OUT/plot.svg"

echo
echo "wrote $OUT/sweep.csv and $OUT/plot.svg"
