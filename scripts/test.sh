#!/usr/bin/env bash
# The test command: installs what is missing, builds the guest functions,
# checks formatting and lints, and runs every test of the workspace
# (DPDK tests too, which need root for network namespaces and vdevs).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
functions/build.sh

cargo fmt --all -- --check

# The scripts find binaries where cargo puts them (CARGO_TARGET_DIR too).
if grep -n '[t]arget/release/' scripts/*.sh; then
  echo "test.sh: a script hard-codes target/release; source scripts/release_dir.sh" >&2
  exit 1
fi
(
  CARGO_TARGET_DIR=$(mktemp -d) && mkdir "$CARGO_TARGET_DIR/release" && export CARGO_TARGET_DIR
  . scripts/release_dir.sh
  [ "$RELEASE_DIR" = "$CARGO_TARGET_DIR/release" ] ||
    { echo "test.sh: release_dir.sh ignores CARGO_TARGET_DIR ($RELEASE_DIR)" >&2; exit 1; }
  rm -r "$CARGO_TARGET_DIR"
)
cargo clippy --workspace --all-targets --features tern-rpc/dpdk,tern-dispatcher/dpdk,tern-loadgen/dpdk -- -D warnings
cargo test --workspace --features tern-rpc/dpdk,tern-dispatcher/dpdk,tern-loadgen/dpdk --release
