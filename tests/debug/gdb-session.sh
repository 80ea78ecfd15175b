#!/usr/bin/env bash
# gdb-session.sh - drives gdb-multiarch in batch mode against `hvsim debug` (one ctest per
# case, tests/debug/debug-tests.cmake). Every wait is bounded: a hung server or gdb fails.
#
# usage: tests/debug/gdb-session.sh HVSIM WORKDIR CASE
#   CASE x86_64 | aarch64 | arm: the spinlock scenario of that arch, checked by gdb_checks.py
#        (reverse-stepi, a watchpoint reached by reverse-continue, a read watchpoint both ways,
#        the start of the recording)
#   CASE stale-lookup: bug-stale-slot-cache-x86_64 recorded with its bug knob on; from the end,
#        `monitor reverse-until` finds the kvm_lookup served by a stale cache
#   CASE replay-gdb: replaying that trace with the knob off stops at the divergence and serves
#        gdb there (`hvsim replay --gdb`)
#   CASE model-write: the same scenario without the knob; a watchpoint on 0xc0000000 reached
#        backward from the end stops at KVM's write for the last kvm_write_guest step, and says
#        it was a model write
#   CASE bad-input: a missing trace, a bad port, no trace: exit 2 with a message
# Exit 0 pass, 1 fail, 77 (skip) when gdb-multiarch is not installed.
set -u
[ $# -eq 3 ] || { echo "usage: $0 HVSIM WORKDIR CASE" >&2; exit 2; }
hvsim=$(realpath "$1")
work=$(realpath -m "$2")/$3
case_=$3
src=$(cd "$(dirname "$0")/../.." && pwd)
if [ "$case_" != bad-input ] && ! command -v gdb-multiarch >/dev/null; then
  echo "SKIP: gdb-multiarch is not installed"
  exit 77
fi
command -v sqlite3 >/dev/null || { echo "SKIP: sqlite3 is not installed"; exit 77; }
rm -rf "$work" && mkdir -p "$work" && cd "$work" || exit 1

fail() { echo "FAIL: $*"; exit 1; }

# start_server LOG CMD...: runs an hvsim command that serves gdb, in the background, and sets
# port from the line it prints.
start_server() {
  local log=$1
  shift
  timeout 300 "$@" >"$log" 2>&1 &
  server=$!
  port=
  for _ in $(seq 1 1200); do
    port=$(sed -n 's/.*waiting for gdb on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$log")
    [ -n "$port" ] && return 0
    kill -0 "$server" 2>/dev/null || break
    sleep 0.25
  done
  cat "$log"
  fail "the server did not print its port"
}

# gdb_batch OUT ARGS...: gdb-multiarch in batch mode, bounded in time.
gdb_batch() {
  local out=$1
  shift
  timeout 240 gdb-multiarch -nx -batch -ex "set pagination off" -ex "set confirm off" "$@" \
    >"$out" 2>&1
  local rc=$?
  cat "$out"
  [ $rc -eq 124 ] && fail "gdb-multiarch timed out"
  return 0
}

wait_server() {
  wait "$server"
  local rc=$?
  [ $rc -eq "$1" ] || { cat "$2"; fail "the server exited $rc, expected $1"; }
}

case $case_ in
x86_64|aarch64|arm)
  "$hvsim" run "$src/scenarios/none/spinlock-$case_.yaml" -o t.db --quiet || fail "run"
  start_server server.log "$hvsim" debug t.db --port 0
  gdb_batch gdb.out t.elf -ex "target remote 127.0.0.1:$port" -x "$src/tests/debug/gdb_checks.py"
  wait_server 0 server.log
  grep -q "CHECK FAIL" gdb.out && fail "a check failed"
  n=$(grep -c "CHECK ok" gdb.out)
  [ "$n" -eq 9 ] || fail "$n of 9 checks passed"
  ;;
stale-lookup)
  "$hvsim" run "$src/scenarios/kvm/bug-stale-slot-cache-x86_64.yaml" -o t.db --quiet \
    --set kvm.bug.stale_slot_cache=1
  [ $? -eq 1 ] || fail "the bug knob should make the guest's check fail (exit 1)"
  want=$(sqlite3 t.db "SELECT seq FROM events WHERE kind = 'kvm_lookup'
                       AND detail ->> 'stale' ORDER BY seq DESC LIMIT 1")
  [ -n "$want" ] || fail "the trace has no stale kvm_lookup"
  start_server server.log "$hvsim" debug t.db
  gdb_batch gdb.out t.elf -ex "target remote 127.0.0.1:$port" -ex "continue" \
    -ex "monitor reverse-until kind = 'kvm_lookup' AND detail ->> 'stale'" \
    -ex "maintenance flush register-cache" -ex "info threads" -ex "monitor seq" -ex "detach"
  wait_server 0 server.log
  grep -q "^> seq $want .*kvm_lookup .*\"stale\":true" gdb.out ||
    fail "monitor reverse-until did not stop at the stale kvm_lookup, seq $want"
  ;;
replay-gdb)
  "$hvsim" run "$src/scenarios/kvm/bug-stale-slot-cache-x86_64.yaml" -o t.db --quiet \
    --set kvm.bug.stale_slot_cache=1
  start_server server.log "$hvsim" replay t.db --set kvm.bug.stale_slot_cache=0 --gdb 0
  want=$(sed -n 's/^replay diverged at seq \([0-9]*\) .*/\1/p' server.log)
  [ -n "$want" ] || { cat server.log; fail "replay did not report a divergence"; }
  gdb_batch gdb.out t.elf -ex "target remote 127.0.0.1:$port" -ex "monitor seq" -ex "detach"
  wait_server 3 server.log
  grep -q "^just after event seq $want of " gdb.out ||
    fail "gdb was not served just after the diverging event, seq $want"
  ;;
model-write)
  "$hvsim" run "$src/scenarios/kvm/bug-stale-slot-cache-x86_64.yaml" -o t.db --quiet ||
    fail "run"
  want=$(sqlite3 t.db "SELECT seq FROM events WHERE kind = 'step'
                       AND detail ->> 'action' = 'kvm_write_guest' ORDER BY seq DESC LIMIT 1")
  start_server server.log "$hvsim" debug t.db
  gdb_batch gdb.out t.elf -ex "target remote 127.0.0.1:$port" -ex "continue" \
    -ex "watch *(long *)0xc0000000" -ex "reverse-continue" -ex "p/x *(long *)0xc0000000" \
    -ex "delete" -ex "stepi" -ex "detach"
  wait_server 0 server.log
  grep -q "^watchpoint: written by model write for event seq $want " gdb.out ||
    fail "the watchpoint did not name the model write of seq $want"
  grep -q "^Old value = 2459565876494606882" gdb.out || fail "no stop with the written value"
  grep -q '^\$1 = 0x0$' gdb.out || fail "the stop is not before the write"
  ;;
bad-input)
  "$hvsim" run "$src/scenarios/none/exits-x86_64.yaml" -o t.db --quiet || fail "run"
  for args in "missing.db" "t.db --port 70000" "t.db --port" "" "t.db --at -1" "t.db extra"; do
    # shellcheck disable=SC2086
    timeout 60 "$hvsim" debug $args >out 2>err
    rc=$?
    [ $rc -eq 2 ] || fail "hvsim debug $args exited $rc, expected 2"
    [ -s err ] || fail "hvsim debug $args printed no message"
  done
  grep -q "missing.db" <(timeout 60 "$hvsim" debug missing.db 2>&1) ||
    fail "the message does not name the missing trace"
  ;;
*)
  fail "no case $case_"
  ;;
esac
echo "pass: $case_"
