#!/usr/bin/env bash
# The local stand-in for CloudLab's two nodes: two network namespaces joined
# by a veth pair.
#
#   scripts/testbed.sh up      create (idempotent: an existing testbed is rebuilt)
#   scripts/testbed.sh down    remove (idempotent)
#   scripts/testbed.sh status  show what exists
#
# Names and addresses come from the environment, so tests can run several
# testbeds side by side:
#   TERN_NS_A=tern-a  TERN_NS_B=tern-b         namespace names
#   TERN_VETH_A=veth-a TERN_VETH_B=veth-b      interface names (inside the namespaces)
#   TERN_IP_A=10.77.0.1 TERN_IP_B=10.77.0.2    addresses (/24), only inside the namespaces
#   TERN_MTU=1500
#
# Each side has one RX and one TX queue and no checksum/segmentation
# offloads: a kernel sender on veth otherwise leaves UDP checksums unfilled
# (CHECKSUM_PARTIAL), which AF_XDP/AF_PACKET readers (DPDK's net_af_xdp and
# net_af_packet) would see as corrupt. Needs root (ip netns).
set -euo pipefail

ns_a=${TERN_NS_A:-tern-a}
ns_b=${TERN_NS_B:-tern-b}
veth_a=${TERN_VETH_A:-veth-a}
veth_b=${TERN_VETH_B:-veth-b}
ip_a=${TERN_IP_A:-10.77.0.1}
ip_b=${TERN_IP_B:-10.77.0.2}
mtu=${TERN_MTU:-1500}

down() {
  # Deleting a namespace deletes the veth end inside it, and with it the
  # pair (the pair is created directly inside the namespaces, never in ours).
  ip netns del "$ns_a" 2>/dev/null || true
  ip netns del "$ns_b" 2>/dev/null || true
}

side() { # ns veth ip
  local ns=$1 veth=$2 addr=$3
  ip netns exec "$ns" ip link set lo up
  ip netns exec "$ns" ip link set "$veth" mtu "$mtu"
  ip netns exec "$ns" ip addr add "$addr/24" dev "$veth"
  if command -v ethtool >/dev/null; then
    ip netns exec "$ns" ethtool -K "$veth" tx off rx off tso off gso off gro off >/dev/null 2>&1 || true
    ip netns exec "$ns" ethtool -L "$veth" rx 1 tx 1 >/dev/null 2>&1 || true
  fi
  ip netns exec "$ns" ip link set "$veth" up
}

up() {
  down
  ip netns add "$ns_a"
  ip netns add "$ns_b"
  ip link add "$veth_a" netns "$ns_a" type veth peer name "$veth_b" netns "$ns_b"
  side "$ns_a" "$veth_a" "$ip_a"
  side "$ns_b" "$veth_b" "$ip_b"
  # Wait for carrier on both ends (veth comes up asynchronously).
  for _ in $(seq 50); do
    if ip netns exec "$ns_a" ip link show "$veth_a" | grep -q LOWER_UP &&
       ip netns exec "$ns_b" ip link show "$veth_b" | grep -q LOWER_UP; then
      break
    fi
    sleep 0.05
  done
  echo "testbed up: $ns_a/$veth_a $ip_a <-> $ns_b/$veth_b $ip_b (mtu $mtu)"
}

status() {
  for pair in "$ns_a:$veth_a" "$ns_b:$veth_b"; do
    ns=${pair%%:*} veth=${pair##*:}
    if ip netns exec "$ns" ip -brief addr show "$veth" 2>/dev/null; then :; else echo "$ns: absent"; fi
  done
}

case "${1:-}" in
  up) up ;;
  down) down; echo "testbed down: $ns_a $ns_b" ;;
  status) status ;;
  *) echo "usage: $0 up|down|status   (env: TERN_NS_A TERN_NS_B TERN_VETH_A TERN_VETH_B TERN_IP_A TERN_IP_B TERN_MTU)" >&2; exit 2 ;;
esac
