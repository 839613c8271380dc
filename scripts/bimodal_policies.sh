#!/usr/bin/env bash
# The results/bimodal entry: the same open-loop sweep of the bimodal spec
# (short ~10 µs / long ~1 ms `hash`, deadlines 10x their cost) under each
# dispatcher policy, one CSV per policy, then one plot of all of them.
#
#   scripts/bimodal_policies.sh            # rr jsq lld edf
#   POLICIES="rr edf" WORKERS=2 RATES=200,600,1000 scripts/bimodal_policies.sh
#
# Environment overrides (defaults in brackets):
#   POLICIES [rr jsq lld edf]
#   WORKERS  [2]   policies only differ with more than one worker; on a
#                  2-core machine two workers share the cores with the
#                  dispatcher and loadgen (all with adaptive idling).
#   RATES    [200:2000:7]  MIX [/short=1,/long=1]  DURATION [3]  SEED [1]
#   OUT      [results/bimodal]
#   NICE     []    e.g. -10: run the dispatcher and loadgen at that nice level,
#                  to shield them from other jobs on a shared machine (root
#                  only; recorded in commands.txt)
# Writes OUT/<policy>.csv, OUT/plot.svg, OUT/plot.png and OUT/commands.txt
# (the exact commands run, with the machine they ran on).
set -euo pipefail
cd "$(dirname "$0")/.."

POLICIES=${POLICIES:-rr jsq lld edf}
WORKERS=${WORKERS:-2}
RATES=${RATES:-200:2000:7}
MIX=${MIX:-/short=1,/long=1}
DURATION=${DURATION:-3}
SEED=${SEED:-1}
OUT=${OUT:-results/bimodal}
SPEC=functions/bimodal.json
prio=()
[ -n "${NICE:-}" ] && prio=(nice -n "$NICE")

scripts/setup.sh
functions/build.sh
cargo build --release -p tern-dispatcher -p tern-loadgen
. scripts/release_dir.sh

mkdir -p "$OUT"
cmds="$OUT/commands.txt"
{
  echo "# $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
  echo "# git $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . 2>/dev/null || echo ' (with local changes)')"
  echo "# $0 POLICIES='$POLICIES' WORKERS=$WORKERS RATES=$RATES MIX=$MIX DURATION=$DURATION SEED=$SEED NICE=${NICE:-}"
  echo "# load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$cmds"

pid=""
log=$(mktemp -t tern-dispatcher.XXXXXX)
stop_dispatcher() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  [ -n "$pid" ] && wait "$pid" 2>/dev/null || true
  pid=""
}
trap 'stop_dispatcher; rm -f "$log"' EXIT

for policy in $POLICIES; do
  dcmd=("${prio[@]}" "$RELEASE_DIR"/dispatcher --spec "$SPEC" --policy "$policy" --workers "$WORKERS"
        --listen 127.0.0.1:0 --idle adaptive)
  "${dcmd[@]}" >"$log" 2>&1 &
  pid=$!
  url=""
  for _ in $(seq 1 600); do
    url=$(grep -o 'listening on udp://[0-9.]*:[0-9]*' "$log" | head -n 1 | sed 's/^listening on //' || true)
    [ -n "$url" ] && break
    kill -0 "$pid" 2>/dev/null || { echo "dispatcher ($policy) exited:" >&2; cat "$log" >&2; exit 1; }
    sleep 0.1
  done
  [ -n "$url" ] || { echo "dispatcher ($policy) did not start" >&2; exit 1; }
  lcmd=("${prio[@]}" "$RELEASE_DIR"/loadgen sweep --server "$url" --spec "$SPEC"
        --mix "$MIX" --body /short=10 --body /long=1000
        --rates "$RATES" --duration "$DURATION" --warmup 1 --seed "$SEED" --idle adaptive
        --stop-when-saturated --out "$OUT/$policy.csv")
  printf '%s\n' "${dcmd[*]} &" "${lcmd[*]}" >>"$cmds"
  echo "=== policy $policy ($WORKERS workers) at $url ==="
  "${lcmd[@]}"
  stop_dispatcher
  echo "# load average after $policy: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$cmds"
  echo "--- dispatcher counters ($policy) ---"
  tail -n 8 "$log"
  sleep 1
done

csvs=()
for policy in $POLICIES; do csvs+=("$OUT/$policy.csv"); done
title="bimodal (${MIX}), ${WORKERS} workers, $(nproc)-core machine, adaptive idle"
"$RELEASE_DIR"/loadgen plot "${csvs[@]}" -o "$OUT/plot.svg" --title "$title"
"$RELEASE_DIR"/loadgen plot "${csvs[@]}" -o "$OUT/plot.png" --title "$title"
echo "$RELEASE_DIR/loadgen plot ${csvs[*]} -o $OUT/plot.svg --title '$title'" >>"$cmds"
echo "wrote ${csvs[*]} $OUT/plot.svg $OUT/plot.png $cmds"
