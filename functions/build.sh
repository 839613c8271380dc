#!/usr/bin/env bash
# Builds every guest function: functions/*.c and functions/hostile/*.c ->
# functions/build/<name>.wasm, with Debian's clang + lld + wasi-libc.
#
# A file whose first line is `// tern-abi: raw` is built for the raw ABI
# (no libc start-up, exports marked with export_name in the source); every
# other file is a WASI command (`main()` reading stdin, writing stdout).
# Only files newer than their .wasm (or than this script) are rebuilt, so a
# run with nothing to do takes a few milliseconds.
#
# Usage: functions/build.sh [-f]     (-f rebuilds everything)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$here/build"
force=0
[ "${1:-}" = "-f" ] && force=1

CLANG="${CLANG:-clang}"
CFLAGS=(--target=wasm32-wasi -O2 -Wall -Werror)

check_toolchain() {
  if ! command -v "$CLANG" >/dev/null 2>&1; then
    echo "functions/build.sh: '$CLANG' not found; run scripts/setup.sh (installs clang, lld, wasi-libc)" >&2
    exit 1
  fi
  local probe="$out/.probe.$$"
  if ! printf 'int main(void){return 0;}\n' | "$CLANG" "${CFLAGS[@]}" -x c - -o "$probe.wasm" 2>"$probe.err"; then
    echo "functions/build.sh: $CLANG cannot build for wasm32-wasi (wasi-libc, lld or libclang-rt wasm32 missing?); run scripts/setup.sh" >&2
    sed 's/^/  /' "$probe.err" >&2
    rm -f "$probe.err" "$probe.wasm"
    exit 1
  fi
  rm -f "$probe.err" "$probe.wasm"
}

mkdir -p "$out"
checked=0
built=0
for src in "$here"/*.c "$here"/hostile/*.c; do
  [ -e "$src" ] || continue
  name="$(basename "$src" .c)"
  wasm="$out/$name.wasm"
  if [ "$force" = 0 ] && [ "$wasm" -nt "$src" ] && [ "$wasm" -nt "$0" ]; then
    continue
  fi
  if [ "$checked" = 0 ]; then check_toolchain; checked=1; fi
  flags=()
  if head -n1 "$src" | grep -q '^// tern-abi: raw'; then
    flags=(-nostartfiles -Wl,--no-entry)
  fi
  # Build to a temporary name and rename, so an interrupted build never
  # leaves a truncated .wasm that looks up to date.
  "$CLANG" "${CFLAGS[@]}" "${flags[@]}" "$src" -o "$wasm.tmp.$$"
  mv -f "$wasm.tmp.$$" "$wasm"
  built=$((built + 1))
done
[ "$built" = 0 ] || echo "functions/build.sh: built $built function(s) in $out" >&2
