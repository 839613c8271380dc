#!/usr/bin/env bash
# Runs every benchmark behind the README's "Figures" table once, each with
# its baseline in the same run, and writes the full output plus the key
# lines (udp_p50_ratio, goodput_ratio, dpdk_*_p50_ratio, invoke_ratio,
# min_mdecisions_per_s, max_sustained_rps, the end-to-end p50/p99) to
# $OUT/figures.txt. Run it on a quiet machine (no builds, no other
# benchmarks): it takes about 6 minutes on 2 cores once built. The DPDK rows
# need root (network namespaces, vdevs); without root they are skipped.
#
# Environment overrides (defaults in brackets):
#   OUT     [results/figures]
#   IDLE    [adaptive]  idle mode of every poll loop (spin only where each
#                       polling thread has a core of its own)
#   QUICK   [0]         1: a short smoke run (figures not worth reporting)
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=${OUT:-results/figures}
IDLE=${IDLE:-adaptive}
QUICK=${QUICK:-0}
mkdir -p "$OUT"
log="$OUT/figures.txt"

scripts/setup.sh
functions/build.sh
features=tern-rpc/dpdk,tern-dispatcher/dpdk,tern-loadgen/dpdk
cargo build --release --workspace --features "$features" --bins --examples
. scripts/release_dir.sh

root=0; [ "$(id -u)" = 0 ] && root=1
if [ "$QUICK" = 1 ]; then
  pp=(--samples 2000 --rounds 2 --mib 16); ppd=(--samples 2000 --rounds 2); il=(--duration 0.5 --bisect 1)
  e2e=(RATE=200 DURATION=1)
else
  pp=(); ppd=(); il=(); e2e=(RATE=500 DURATION=5)
fi

{
  echo "# $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
  echo "# git $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . 2>/dev/null || echo ' (with local changes)')"
  echo "# $0 IDLE=$IDLE QUICK=$QUICK; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$log"

run() { # title, command...
  local title=$1; shift
  echo "## $title: $*" | tee -a "$log"
  "$@" 2>&1 | tee -a "$log"
  echo >>"$log"
}

run "RPC round trip and goodput, kernel UDP loopback" \
  "$RELEASE_DIR"/examples/pingpong --transport udp --idle "$IDLE" "${pp[@]}"
if [ "$root" = 1 ]; then
  run "RPC round trip over DPDK (memif, af_xdp)" \
    "$RELEASE_DIR"/examples/pingpong --transport dpdk --idle "$IDLE" "${ppd[@]}"
else
  echo "## DPDK pingpong skipped: needs root" | tee -a "$log"
fi
run "Sandbox invocation" "$RELEASE_DIR"/examples/invoke_cost
run "Dispatcher cost per request" "$RELEASE_DIR"/examples/dispatch_cost
run "loadgen's own limit" "$RELEASE_DIR"/examples/instrument_limit --idle "$IDLE" "${il[@]}"
if [ "$root" = 1 ]; then
  run "No-op end to end, two namespaces" env "${e2e[@]}" IDLE="$IDLE" scripts/dpdk_e2e_noop.sh
fi

echo "## key lines" | tee -a "$log"
grep -E '^[a-z_0-9]+=[0-9.]+' "$log" | tee -a "$log"
