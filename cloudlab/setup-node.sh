#!/usr/bin/env bash
# Prepares one CloudLab node (Ubuntu 22.04 / Debian 12, mlx5 NIC) for Tern
# over DPDK: build dependencies, rdma-core for the mlx5 PMD, Rust, 2 MiB
# hugepages, and a release build with DPDK. Idempotent. Run from the Tern
# checkout as root:  sudo cloudlab/setup-node.sh
set -euo pipefail
cd "$(dirname "$0")/.."

HUGEPAGES=${HUGEPAGES:-2048}   # 2 MiB pages: 4 GiB

apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
  build-essential clang lld libclang-dev pkg-config libdpdk-dev dpdk \
  rdma-core ibverbs-providers libibverbs-dev iproute2 ethtool curl ca-certificates >/dev/null
scripts/setup.sh

if ! command -v cargo >/dev/null; then
  curl -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
  # shellcheck disable=SC1091
  . "$HOME/.cargo/env"
fi

echo "$HUGEPAGES" > /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
mkdir -p /dev/hugepages
mountpoint -q /dev/hugepages || mount -t hugetlbfs nodev /dev/hugepages

functions/build.sh
cargo build --release -p tern-dispatcher -p tern-loadgen \
  --features tern-dispatcher/dpdk,tern-loadgen/dpdk --bins
cargo build --release -p tern-rpc --features dpdk --example pingpong

echo "Mellanox ports (PCI address = bus-info, pass it to -a and to dev= of a dpdk:// address):"
for dev in /sys/class/net/*; do
  name=$(basename "$dev")
  drv=$(ethtool -i "$name" 2>/dev/null | awk '/^driver:/ {print $2}')
  if [ "$drv" = mlx5_core ]; then
    echo "  $name $(ethtool -i "$name" | awk '/^bus-info:/ {print $2}') $(ip -brief addr show "$name" | awk '{print $3}')"
  fi
done
