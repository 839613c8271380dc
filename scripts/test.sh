#!/usr/bin/env bash
# The test command: installs what is missing, builds the guest functions,
# checks formatting and lints, and runs every test of the workspace
# (DPDK tests too, which need root for network namespaces and vdevs).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
functions/build.sh

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --features tern-rpc/dpdk,tern-dispatcher/dpdk,tern-loadgen/dpdk -- -D warnings
cargo test --workspace --features tern-rpc/dpdk,tern-dispatcher/dpdk,tern-loadgen/dpdk --release
