#!/usr/bin/env bash
# Soak test of the dispatcher (issue 10): five phases of hostile conditions on
# loopback, each checked for lost and doubly executed requests, with the
# dispatcher's RSS sampled every 5 s. Bounded: SECONDS/5 per phase (default
# 60 s in all: per phase SECONDS/5 - 2 s of load, then at most 2 s of drain,
# 6 s in phase 5; ~55 s of wall time once built), one loadgen run per phase,
# every process stopped on exit (also on error or Ctrl-C). Not run in CI: it
# takes a minute and needs both cores.
#
#   scripts/soak.sh [SECONDS]        (or SOAK_SECONDS=N; default 60)
#
# Phases (spec functions/soak.json, 1 worker, --idle adaptive, policy edf):
#   1 overload     /long (hash, ~1 ms, expected 1000 us) at 10x the worker's
#                  nominal capacity (1 worker / 1000 us = 1000 req/s, so
#                  10,000 req/s), 64 sessions, no admission control.
#   2 admission    the same against a dispatcher restarted with --admission.
#   3 faults       /fib + /short at 500 req/s with loadgen's client-side
#                  fault injector: 5% drop, 5% duplication, 5% reordering of
#                  its datagrams, both directions (loadgen --fault).
#   4 hostile      300 req/s of /fib 90% with /loop (runaway, due in 1 ms) 4%,
#                  /trap 2%, /bigoutput 2%, /oom 1%, /stackoverflow 1%.
#   5 kill         /fib + /long at 500 req/s; half-way the dispatcher is
#                  killed with SIGKILL and restarted on the same port.
# Phases 2-5 run on one dispatcher process (B, started with --admission),
# killed in phase 5 and replaced by C; phase 1 runs on A.
#
# What each phase prints (counts from loadgen's CSV, warm-up 0 so every
# request counts, and from the dispatcher's counters, read with SIGUSR1 at
# the phase's start and end):
#   sent          requests loadgen scheduled (its `requests`). `wire` of them
#                 went on the wire; the rest never left loadgen's queue (an
#                 open-loop client at 10x overload holds the backlog) and end
#                 as timeouts.
#   completed     responses with status ok.
#   by_status     error responses by status (rejected-overload, trap, ...).
#   client_failed requests the RPC layer gave up on (RequestFailed: no answer
#                 after its retransmissions, or its session reset) plus
#                 timeouts at the end of loadgen's drain; `unanswered` is the
#                 part of those that was sent and had no answer at the drain's
#                 end (a hang would show here).
#                 In phase 1 `unanswered` is about 512: loadgen keeps sending
#                 its backlog during the drain, so its 64 x 8 slots are in
#                 flight when the drain ends (a full server queue, not a hang).
#   lost          sent - (completed + by_status + client_failed): a request
#                 with no outcome at all. Must be 0.
#   received      requests the dispatcher received in the phase (the sum of
#                 its per-route `requests` plus unknown types: each delivery
#                 is placed once, so executions <= deliveries).
#   executed_twice max(0, received - wire). Must be 0. It is exact when every
#                 wire request reached the server (no failures); when some
#                 did not (drops, the kill), a double delivery could hide
#                 behind a request that never arrived, so it is a lower bound
#                 and `never_received` (wire - received) is printed too.
#                 In phase 5 the client is paused (SIGSTOP) for 10 ms before
#                 the kill, so that B's count read just before the kill is
#                 complete; B's requests and C's are added. Requests B held
#                 at the kill must end as client failures, never as a
#                 second execution at C: 4 `loadgen call /slow` probes
#                 (200 ms each) are sent 50 ms before the kill so that there
#                 are some; a line of their own says whether B received
#                 them, whether C did (a second execution) and how each
#                 ended (an answer, a client-side error, or nothing = lost).
# RSS: VmRSS of the dispatcher process serving at that moment, from
# /proc/PID/status every 5 s (see the floor below). rss_growth_pct is for process B (the one that
# lives through phases 2-5): from its first sample at least 5 s after its
# start (warm-up: modules compiled, first sandboxes made) to its last sample
# before the kill.
#
# Last line: soak_lost=N soak_dup=N rss_growth_pct=X (sums over phases).
# Each RSS line shows one VmRSS read and its floor, the least of 5 reads
# 20 ms apart (what stays resident between requests; a single read can land
# while a hostile request holds a 4 MiB linear memory). rss_growth_pct uses
# the floors.
#
# Environment: OUT=DIR also keeps the raw files (CSVs, loadgen tables,
# dispatcher logs, rss samples) there; DISPATCHER=PATH runs another
# dispatcher binary (e.g. one built with a patch under test).
set -euo pipefail
cd "$(dirname "$0")/.."

TOTAL=${1:-${SOAK_SECONDS:-60}}
[[ "$TOTAL" =~ ^[0-9]+$ ]] && [ "$TOTAL" -ge 20 ] && [ "$TOTAL" -le 3600 ] ||
  { echo "soak.sh: SECONDS must be a whole number in 20..3600 (got $TOTAL)" >&2; exit 2; }
PHASE=$((TOTAL / 5))
LOAD=$((PHASE - 2)) # seconds of load per phase; the rest is the drain
SPEC=functions/soak.json
IDLE=adaptive
NOMINAL_RPS=1000 # 1 worker / /long's expected 1000 us
OVERLOAD_RPS=$((10 * NOMINAL_RPS))

functions/build.sh >/dev/null
cargo build --release -q -p tern-dispatcher -p tern-loadgen
. scripts/release_dir.sh
DISPATCHER=${DISPATCHER:-$RELEASE_DIR/dispatcher}

work=$(mktemp -d -t tern-soak.XXXXXX)
dpid=""
lgpid=""
probes=()
PROBES=4
sampler=""
port=0
echo 0 >"$work/phase"

stop_dispatcher() {
  [ -n "$dpid" ] || return 0
  if kill -0 "$dpid" 2>/dev/null; then
    kill -TERM "$dpid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$dpid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$dpid" 2>/dev/null || true
  fi
  wait "$dpid" 2>/dev/null || true
  dpid=""
}
cleanup() {
  [ -n "$sampler" ] && kill "$sampler" 2>/dev/null && wait "$sampler" 2>/dev/null
  for p in "${probes[@]}"; do kill -KILL "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  if [ -n "$lgpid" ]; then
    kill -CONT "$lgpid" 2>/dev/null || true
    kill -KILL "$lgpid" 2>/dev/null || true
    wait "$lgpid" 2>/dev/null || true
  fi
  stop_dispatcher
  if [ -n "${OUT:-}" ]; then mkdir -p "$OUT" && cp -r "$work"/. "$OUT"/; fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start_dispatcher NAME ARGS...: starts a dispatcher on $port (0 the first
# time; the port it got is reused, so clients can find a restarted one) and
# waits until it listens (60 s at most).
start_dispatcher() {
  local name=$1
  shift
  local log="$work/dispatcher-$name.log"
  "$DISPATCHER" --spec "$SPEC" --workers 1 --idle "$IDLE" --policy edf \
    --listen "127.0.0.1:$port" "$@" >"$log" 2>&1 &
  dpid=$!
  echo "$dpid $name $SECONDS" >"$work/current"
  wait_listening "$name"
}
wait_listening() {
  local log="$work/dispatcher-$1.log" url=""
  for _ in $(seq 1 600); do
    url=$(grep -o 'listening on udp://[0-9.]*:[0-9]*' "$log" | head -n 1 || true)
    [ -n "$url" ] && break
    kill -0 "$dpid" 2>/dev/null || { echo "soak.sh: dispatcher $1 exited:" >&2; cat "$log" >&2; exit 1; }
    sleep 0.1
  done
  [ -n "$url" ] || { echo "soak.sh: dispatcher $1 did not start within 60 s" >&2; exit 1; }
  port=${url##*:}
}

# received NAME: asks dispatcher NAME (pid $dpid) for its counters (SIGUSR1)
# and prints the requests it has received so far.
received() {
  local log="$work/dispatcher-$1.log" before n
  before=$(grep -c '^report (running)' "$log" || true)
  kill -USR1 "$dpid"
  for _ in $(seq 1 500); do
    n=$(grep -c '^unknown request types:' "$log" || true)
    [ "$n" -gt "$before" ] && break
    sleep 0.01
  done
  [ "$n" -gt "$before" ] || { echo "soak.sh: dispatcher $1 did not report" >&2; exit 1; }
  awk '/^report \(running\)/ { s = 0 }
       /^\// { s += $3 }
       /^unknown request types:/ { u = $4; sub(";", "", u); s += u }
       END { print s }' "$log"
}

# route_requests NAME ROUTE: from dispatcher NAME's last report, the
# requests ROUTE received.
route_requests() {
  awk -v r="$2" '/^report \(running\)/ { s = 0 } $1 == r { s = $3 } END { print s + 0 }' \
    "$work/dispatcher-$1.log"
}

# pending NAME: from dispatcher NAME's last report, the requests it had
# received but not answered (queued or running).
pending() {
  awk '/^report \(running\)/ { s = 0 }
       /^\// { s += $3 - $4; for (i = 7; i <= NF; i++) if (split($i, kv, "=") == 2) s -= kv[2] }
       END { print s }' "$work/dispatcher-$1.log"
}

# RSS sampler: every 5 s, the VmRSS of whichever dispatcher is serving.
(
  t0=$SECONDS
  while sleep 5; do
    read -r pid name born <"$work/current" || continue
    rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$pid/status" 2>/dev/null || true)
    [ -n "$rss" ] || continue
    # The floor of 5 reads 20 ms apart: what stays resident between
    # requests. One read can land while a hostile request holds a 4 MiB
    # linear memory, and a leak check must not take that for growth.
    floor=$rss
    for _ in 1 2 3 4; do
      sleep 0.02
      r=$(awk '/^VmRSS/ { print $2 }' "/proc/$pid/status" 2>/dev/null || true)
      [ -n "$r" ] && [ "$r" -lt "$floor" ] && floor=$r
    done
    echo "rss t=$((SECONDS - t0))s phase=$(cat "$work/phase") dispatcher=$name pid=$pid age=$((SECONDS - born))s VmRSS=${rss} kB floor=${floor} kB"
    echo "$name $((SECONDS - born)) $floor" >>"$work/rss"
  done
) &
sampler=$!

# run_loadgen N ARGS...: one loadgen run in the background (pid $lgpid).
run_loadgen() {
  local n=$1
  shift
  "$RELEASE_DIR"/loadgen run --server "udp://127.0.0.1:$port" --spec "$SPEC" \
    --warmup 0 --idle "$IDLE" --out "$work/phase$n.csv" "$@" \
    >"$work/phase$n.txt" 2>"$work/phase$n.err" &
  lgpid=$!
}
wait_loadgen() {
  local n=$1
  wait "$lgpid" || { echo "soak.sh: loadgen failed in phase $n:" >&2; cat "$work/phase$n.err" >&2; exit 1; }
  lgpid=""
}

lost_total=0
dup_total=0
# report N NAME RECEIVED: the phase's line from its CSV's `all` row.
report() {
  local n=$1 name=$2 recv=$3 line
  line=$(awk -F, -v recv="$recv" '
    NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
    $c["route"] == "all" {
      sent = $c["requests"]; wire = $c["sent"]; ok = $c["ok"]
      st = ""; errs = 0
      split("no_such_function trap deadline_exceeded rejected_overload too_large bad_request other", k, " ")
      for (i = 1; i <= 7; i++) { v = $c["err_" k[i]]; errs += v; if (v > 0) st = st (st == "" ? "" : ",") k[i] "=" v }
      if (st == "") st = "none"
      failed = $c["failed"]; to = $c["timeouts"]
      unanswered = to - (sent - wire)
      lost = sent - (ok + errs + failed + to)
      dup = recv - wire; if (dup < 0) dup = 0
      nr = wire - recv; if (nr < 0) nr = 0
      printf "sent=%d wire=%d completed=%d by_status=%s client_failed=%d (rpc_failed=%d timeouts=%d unanswered=%d never_sent=%d) received=%d never_received=%d executed_twice=%d lost=%d achieved_rps=%s p99_us=%s\n",
        sent, wire, ok, st, failed + to, failed, to, unanswered, sent - wire, recv, nr, dup, lost, $c["achieved_rps"], $c["p99_us"]
      print lost, dup > "/dev/stderr"
    }' "$work/phase$n.csv" 2>"$work/phase$n.sums")
  [ -n "$line" ] || { echo "soak.sh: no 'all' row in phase $n's CSV" >&2; exit 1; }
  echo "phase $n $name: $line"
  read -r l d <"$work/phase$n.sums"
  lost_total=$((lost_total + l))
  dup_total=$((dup_total + d))
  grep '^warning' "$work/phase$n.err" | sed "s/^/  phase $n loadgen /" || true
}

echo "soak: dispatcher $DISPATCHER, ${TOTAL} s (${PHASE} s per phase: ${LOAD} s of load + up to 2 s of drain, phase 5 up to 6 s)," \
  "1 worker, --idle $IDLE, policy edf, loopback, $(nproc) cores, spec $SPEC"

# 1: 10x overload without admission control.
echo 1 >"$work/phase"
start_dispatcher A
base=$(received A)
run_loadgen 1 --mix /long=1 --body /long=1000 --rate "$OVERLOAD_RPS" --sessions 64 \
  --duration "$LOAD" --drain 2
wait_loadgen 1
report 1 "overload ${OVERLOAD_RPS} req/s (10x), no admission" $(($(received A) - base))
stop_dispatcher

# 2: the same with admission control (dispatcher B lives on to phase 5).
echo 2 >"$work/phase"
start_dispatcher B --admission
base=$(received B)
run_loadgen 2 --mix /long=1 --body /long=1000 --rate "$OVERLOAD_RPS" --sessions 64 \
  --duration "$LOAD" --drain 2
wait_loadgen 2
report 2 "overload ${OVERLOAD_RPS} req/s (10x), --admission" $(($(received B) - base))

# 3: client-side faults at a normal load.
echo 3 >"$work/phase"
base=$(received B)
run_loadgen 3 --mix /fib=1,/short=1 --body /fib=10 --body /short=10 --rate 500 \
  --duration "$LOAD" --drain 2 --fault drop=0.05,dup=0.05,reorder=0.05,seed=10
wait_loadgen 3
report 3 "faults 5% drop+dup+reorder, 500 req/s" $(($(received B) - base))

# 4: hostile functions among /fib.
echo 4 >"$work/phase"
base=$(received B)
run_loadgen 4 --mix /fib=90,/loop=4,/trap=2,/bigoutput=2,/oom=1,/stackoverflow=1 \
  --body /fib=10 --rate 300 --duration "$LOAD" --drain 2
wait_loadgen 4
report 4 "hostile mix 300 req/s (10% hostile)" $(($(received B) - base))

# 5: SIGKILL and restart half-way. So that the kill surely finds requests
# received and not answered, PROBES separate `loadgen call /slow` clients
# (200 ms of work each, a route loadgen's mix does not use) are started
# 50 ms before it. The load client is then paused (SIGSTOP) for 10 ms so
# that B has received all it ever will when its count is read.
echo 5 >"$work/phase"
base=$(received B)
run_loadgen 5 --mix /fib=1,/long=1 --body /fib=10 --body /long=1000 --rate 500 \
  --duration "$LOAD" --drain 6
sleep "$((LOAD / 2))"
for i in $(seq 1 "$PROBES"); do
  timeout 30 "$RELEASE_DIR"/loadgen call --server "udp://127.0.0.1:$port" --spec "$SPEC" \
    --route /slow --timeout 20 200000 >"$work/probe$i.out" 2>&1 &
  probes+=("$!")
done
sleep 0.05
kill -STOP "$lgpid"
sleep 0.01
from_b=$(($(received B) - base))
pend_b=$(pending B)
slow_b=$(route_requests B /slow)
kill -KILL "$dpid"
wait "$dpid" 2>/dev/null || true
echo "  phase 5: dispatcher B (pid $dpid) killed with SIGKILL at $((LOAD / 2)) s after receiving $from_b requests" \
  "($slow_b of the $PROBES /slow probes), $pend_b unanswered (queued or running); restarting as C on port $port"
kill -CONT "$lgpid"
start_dispatcher C --admission
wait_loadgen 5
recv_c=$(received C)
slow_c=$(route_requests C /slow)
answered=0 failed=0 hung=0
for i in "${!probes[@]}"; do
  rc=0
  wait "${probes[$i]}" || rc=$?
  case $rc in
    0) answered=$((answered + 1)) ;;
    124) hung=$((hung + 1)) ;;
    *) failed=$((failed + 1)) ;;
  esac
done
probes=()
report 5 "kill -9 + restart, /fib+/long 500 req/s" $((from_b - slow_b + recv_c - slow_c))
echo "phase 5 probes: sent=$PROBES received_by_B=$slow_b received_by_C=$slow_c (a second execution; must be 0)" \
  "answered=$answered client_failed=$failed lost=$hung (no answer and no error within 30 s)"
sed -n 's/^loadgen: error: /  phase 5 probe: /p' "$work"/probe*.out | sort | uniq -c | sed 's/^ */  /'
lost_total=$((lost_total + hung))
dup_total=$((dup_total + slow_c))

kill "$sampler" 2>/dev/null || true
wait "$sampler" 2>/dev/null || true
sampler=""
growth=$(awk '$1 == "B" && $2 >= 5 { if (first == "") first = $3; last = $3 }
  END { if (first == "") print "n/a"; else printf "%.1f", 100 * (last - first) / first }' "$work/rss" 2>/dev/null || echo n/a)
for p in A B C; do
  awk -v p="$p" '$1 == p { if (f == "") { f = $3; fa = $2 } l = $3; la = $2; n++ }
    END { if (n) printf "rss dispatcher %s: %d samples, first %d kB (age %d s), last %d kB (age %d s)\n", p, n, f, fa, l, la }' \
    "$work/rss" 2>/dev/null || true
done
echo "rss_growth_pct is dispatcher B's (phases 2-5), first sample after 5 s of age to its last before the kill"
echo "soak_lost=$lost_total soak_dup=$dup_total rss_growth_pct=$growth"
