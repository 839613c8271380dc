#!/usr/bin/env bash
# End-to-end no-op function through the dispatcher across the veth testbed
# (scripts/testbed.sh), over DPDK net_af_xdp on both ends vs over kernel UDP
# on both ends, same spec, same open-loop load, same run; prints loadgen's
# report for each and a summary of p50/p99. Needs root.
#
# Environment overrides (defaults in brackets):
#   RATE [500]      offered requests per second (Poisson)
#   DURATION [5]     measured seconds (after 1 s of warm-up)
#   WORKERS [1]      dispatcher workers
#   IDLE [adaptive]  poll-loop idle mode of dispatcher and loadgen
set -euo pipefail
cd "$(dirname "$0")/.."

RATE=${RATE:-500}
DURATION=${DURATION:-5}
WORKERS=${WORKERS:-1}
IDLE=${IDLE:-adaptive}
export TERN_NS_A=ternnoop$$a TERN_NS_B=ternnoop$$b

scripts/setup.sh
functions/build.sh
cargo build --release -p tern-dispatcher -p tern-loadgen --features tern-dispatcher/dpdk,tern-loadgen/dpdk --bins
. scripts/release_dir.sh
# Private copies: other builds may replace the release binaries meanwhile.
bin=$(mktemp -d -t tern-noop.XXXXXX)
cp "$RELEASE_DIR"/dispatcher "$RELEASE_DIR"/loadgen "$bin/"

spec="$bin/noop.json"
cat >"$spec" <<JSON
[{"name": "noop", "port": 31850, "routes": [{"route": "/noop", "request-type": 1,
  "path": "$PWD/functions/build/noop.wasm", "expected-execution-us": 5, "relative-deadline-us": 1000}]}]
JSON

pid=""
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid"; sleep 0.5; kill -KILL "$pid" 2>/dev/null || true; fi
  scripts/testbed.sh down >/dev/null
  rm -rf "$bin" /var/run/dpdk/ternnoop$$*
}
trap cleanup EXIT
scripts/testbed.sh up

run() { # name dispatcher-listen-address [dispatcher-args...] -- loadgen-server-address
  local name=$1 listen=$2; shift 2
  local dargs=()
  while [ "$1" != "--" ]; do dargs+=("$1"); shift; done
  local url=$2
  ip netns exec "$TERN_NS_A" "$bin/dispatcher" --spec "$spec" --workers "$WORKERS" --idle "$IDLE" \
    --listen "$listen" "${dargs[@]}" >"$bin/$name.dispatcher.log" 2>&1 &
  pid=$!
  for _ in $(seq 600); do grep -q "listening on" "$bin/$name.dispatcher.log" && break; sleep 0.1; done
  grep -q "listening on" "$bin/$name.dispatcher.log" || { cat "$bin/$name.dispatcher.log"; exit 1; }
  ip netns exec "$TERN_NS_B" "$bin/loadgen" run --server "$url" --spec "$spec" --mix /noop=1 \
    --rate "$RATE" --duration "$DURATION" --idle "$IDLE" 2>&1 | grep -vE '^(EAL|TELEMETRY|libxdp|libbpf)' | tee "$bin/$name.loadgen.log"
  kill -TERM "$pid"; wait "$pid" 2>/dev/null || true; pid=""
}

echo "== kernel UDP (dispatcher 10.77.0.1, loadgen 10.77.0.2) =="
run udp "udp://10.77.0.1:31850" -- "udp://10.77.0.1:31850"
echo "== DPDK net_af_xdp (dispatcher 10.77.0.11, loadgen 10.77.0.12) =="
# In a dpdk:// address's eal=, + stands for a space.
eal_d="-l+0+--no-huge+--no-pci+--no-shconf+-m+512+--file-prefix=ternnoop$$d+--vdev=net_af_xdp0,iface=veth-a"
eal_l="-l+1+--no-huge+--no-pci+--no-shconf+-m+512+--file-prefix=ternnoop$$l+--vdev=net_af_xdp0,iface=veth-b"
run dpdk "dpdk://10.77.0.11:31850?dev=net_af_xdp0&eal=$eal_d" -- \
  "dpdk://10.77.0.11:31850?dev=net_af_xdp0&ip=10.77.0.12&eal=$eal_l"

echo "== summary: no-op function end to end, rate $RATE/s, $DURATION s, $WORKERS worker(s), idle $IDLE =="
for name in udp dpdk; do
  awk -v n="$name" '$2 == "all" { printf "%-5s p50 %s  p99 %s  (achieved %s/s)\n", n, $5, $7, $4 }' "$bin/$name.loadgen.log"
done
