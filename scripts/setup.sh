#!/usr/bin/env bash
# Installs what building and testing Tern needs on Debian 12 / Ubuntu:
# clang + lld + wasi-libc for the C guest functions, DPDK (libdpdk-dev) and
# libclang for the dpdk-sys bindings, iproute2 for the namespace testbed,
# fonts-dejavu-core for loadgen plot's text.
# Idempotent and quick when everything is already there.
set -euo pipefail

pkgs=(clang lld wasi-libc libclang-rt-14-dev-wasm32 libclang-dev pkg-config
      libdpdk-dev dpdk iproute2 ethtool fonts-dejavu-core)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
