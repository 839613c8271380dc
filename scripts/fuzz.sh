#!/usr/bin/env bash
# Bounded fuzz run of Tern's parsers with cargo-fuzz (libFuzzer, nightly).
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET]      (default 30, or $FUZZ_SECONDS)
#   FUZZ_TARGETS="wire spec" scripts/fuzz.sh 600
#
# Targets (fuzz/fuzz_targets/): `wire` (every header parser in
# rpc/src/wire, with round-trip and checksum properties), `spec` (the spec
# file reader, tern_sched::spec::Spec::parse), `endpoint` (whole datagrams
# into an Endpoint over an in-memory transport; slow, ~100-200 executions/s).
#
# Each target starts from its committed seeds (fuzz/seeds/<target>) plus
# what earlier runs found (fuzz/corpus/<target>, not committed) and runs one
# libFuzzer process (one core) for the given time. For each target the
# script prints one line from libFuzzer's final stats:
#
#   fuzz_<target> executions=N exec_per_s=R crashes=0|1 seconds=S
#
# A crash (panic, failed assertion, sanitizer report, timeout or
# out-of-memory) leaves its input in fuzz/artifacts/<target>/; reproduce it
# with `cargo +nightly fuzz run <target> fuzz/artifacts/<target>/<file>`.
# Exits non-zero if any target crashed.
#
# Not part of scripts/test.sh: it needs the nightly toolchain and a first
# build of the fuzz crate takes minutes (its own workspace, with the address
# sanitizer), which CI's stable, time-bounded run does not have.
set -euo pipefail

seconds="${1:-${FUZZ_SECONDS:-30}}"
targets="${FUZZ_TARGETS:-wire spec endpoint}"
cd "$(dirname "$0")/.."

if ! rustup toolchain list | grep -q '^nightly'; then
    echo "fuzz.sh: needs the nightly toolchain (rustup toolchain install nightly)" >&2
    exit 2
fi
if ! cargo +nightly fuzz --version > /dev/null 2>&1; then
    echo "fuzz.sh: installing cargo-fuzz" >&2
    cargo install --locked cargo-fuzz
fi

# cargo fuzz builds in fuzz/target; a CARGO_TARGET_DIR meant for the
# stable workspace would mix sanitizer builds into it.
unset CARGO_TARGET_DIR

status=0
for t in $targets; do
    mkdir -p "fuzz/corpus/$t"
    args=(-max_total_time="$seconds" -print_final_stats=1)
    if [[ -f "fuzz/$t.dict" ]]; then
        args+=(-dict="fuzz/$t.dict")
    fi
    log="$(mktemp)"
    crashes=0
    if ! cargo +nightly fuzz run "$t" "fuzz/corpus/$t" "fuzz/seeds/$t" -- "${args[@]}" > "$log" 2>&1; then
        crashes=1
        status=1
        tail -n 40 "$log" >&2
        echo "fuzz.sh: $t failed (log above); a crashing input is kept in fuzz/artifacts/$t/" >&2
    fi
    execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)"
    rate="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)"
    took="$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -n 1)"
    echo "fuzz_$t executions=${execs:-0} exec_per_s=${rate:-0} crashes=$crashes seconds=${took:-?}"
    rm -f "$log"
done
exit "$status"
