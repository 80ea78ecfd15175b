#!/usr/bin/env bash
# durability.sh - what a trace holds when its recording is killed or interrupted, and that the
# traces of older hvsim versions still read (docs/trace-format.md, "Recording, durability and
# signals" and "Schema versions").
#
# usage: tests/trace/durability.sh HVSIM WORKDIR CASE
#   kill-at        kill -9 at exact events (HVSIM_TEST_SIGNAL=SEQ:KILL, raised by `hvsim run`
#                  right after event SEQ is written): the trace holds events 0 .. SEQ exactly
#   kill-external  kill -9 from outside at three moments of a running recording, and a copy
#                  of the killed trace's files elsewhere: each holds a prefix of the run
#   interrupt      SIGINT, SIGTERM, SIGHUP at exact events and SIGINT from outside: the run
#                  ends by that signal (128 + N), every event up to it is in the trace, and
#                  the trace says interrupted
#   old-traces     the version 1 and 2 traces of tests/trace/fixtures: `show` prints what the
#                  hvsim that wrote them printed, and `replay` reads them
#   crash-points   a shorter recording (crash-run.yaml, about 40000 events) killed with -9 at
#                  many exact events (chunk ends, both sides of them, the last events) and
#                  from outside at several moments, and interrupted (SIGINT) at exact events
#                  and from outside: each trace opens, says what it is, holds exactly the
#                  events the durability promise keeps, and replays them all
# "A prefix of the run" is checked on `hvsim show --json` against the complete recording's,
# and on the events view through the sqlite3 shell. Exit 0 when the case passed, 1 when it
# failed, 77 (ctest's SKIP_RETURN_CODE) when sqlite3 is missing.
set -u

if [ $# -ne 3 ]; then
  echo "usage: $0 HVSIM WORKDIR CASE" >&2
  exit 2
fi
hvsim=$(realpath "$1")
work=$(realpath -m "$2")/$3
here=$(cd "$(dirname "$0")" && pwd)
scenario=$here/long-run.yaml
problem=

if ! command -v sqlite3 >/dev/null; then
  echo "$3: SKIP (sqlite3 is not installed)"
  exit 77
fi
rm -rf "$work"
mkdir -p "$work"
cd "$work" || exit 1

fail() {
  problem="${problem}$*; "
}

# The complete recording every case compares with: full.json (show --json) and full.sql (the
# events view, one line per event). The guest is built once: the later runs take its image
# from the first trace (a scenario's guest may be an ELF), which spares the compiler.
record_full() {
  local min=${1:-200000}
  "$hvsim" run "$scenario" -o build.db --quiet >build.out 2>&1 || fail "the first run failed"
  sqlite3 build.db "SELECT writefile('guest.elf', data) FROM blobs WHERE name = 'guest.elf'" \
    >/dev/null
  sed 's|^guest: .*|guest: guest.elf|' "$scenario" >run.yaml
  scenario=$work/run.yaml
  "$hvsim" run "$scenario" -o full.db --quiet >full.out 2>&1 || fail "the complete run failed"
  "$hvsim" show full.db --json >full.json
  view full.db >full.sql
  total=$(wc -l <full.json)
  [ "$total" -gt "$min" ] || fail "the complete run has only $total events"
}

view() {
  sqlite3 "$1" "SELECT seq, vm, vcpu, icount, kind, pc, detail FROM events"
}

# is_prefix FILE FULL: FILE's lines are FULL's first lines.
is_prefix() {
  local n
  n=$(wc -l <"$1")
  head -n "$n" "$2" | cmp -s - "$1"
}

# check_trace NAME DB WANT STATUS: DB holds exactly WANT events (or, with WANT "any", some
# prefix of the run, the empty one included), they are the complete run's first ones through
# hvsim and through SQL, and run_info.status is STATUS.
check_trace() {
  local name=$1 db=$2 want=$3 status=$4 n sqln
  "$hvsim" show "$db" --json >"$name.json" 2>"$name.err" || fail "$name: show failed: $(cat "$name.err")"
  n=$(wc -l <"$name.json")
  if [ "$want" != any ]; then
    [ "$n" -eq "$want" ] || fail "$name: $n events, expected $want"
  fi
  is_prefix "$name.json" full.json || fail "$name: show --json is not a prefix of the run's"
  "$hvsim" show "$db" >"$name.txt" || fail "$name: show (text) failed"
  if [ "$status" = complete ]; then
    grep -q ", complete, " "$name.txt" || fail "$name: show does not say complete"
  elif [ "$status" = interrupted ]; then
    grep -q "INTERRUPTED" "$name.txt" || fail "$name: show does not say INTERRUPTED"
  else
    grep -q "INCOMPLETE" "$name.txt" || fail "$name: show does not say INCOMPLETE"
  fi
  [ "$(sqlite3 "$db" "SELECT value FROM run_info WHERE key = 'status'")" = "$status" ] ||
    fail "$name: status is not $status"
  # Plain SQL sees the committed events (all of them once the trace is finished).
  view "$db" >"$name.sql"
  sqln=$(wc -l <"$name.sql")
  is_prefix "$name.sql" full.sql || fail "$name: the events view is not a prefix of the run's"
  if [ "$status" != recording ] && [ "$sqln" -ne "$n" ]; then
    fail "$name: the events view has $sqln events, show $n"
  fi
  echo "$name: $n events ($sqln committed), status $status"
}

# wait_recording DB PID: waits until the recording has a tail file (it runs the guest).
wait_recording() {
  local i
  for i in $(seq 1 600); do
    [ -e "$1-tail" ] && return 0
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}

case_kill_at() {
  record_full
  local seq code
  for seq in 0 4095 4096 150000; do
    HVSIM_TEST_SIGNAL=$seq:KILL "$hvsim" run "$scenario" -o "k$seq.db" --quiet >/dev/null 2>&1
    code=$?
    [ "$code" -eq 137 ] || fail "kill at $seq: exit $code, expected 137 (SIGKILL)"
    check_trace "kill-at-$seq" "k$seq.db" $((seq + 1)) recording
  done
}

case_kill_external() {
  record_full
  local delay pid
  for delay in 0.1 0.4 0.9; do
    "$hvsim" run "$scenario" -o "x$delay.db" --quiet >/dev/null 2>&1 &
    pid=$!
    if wait_recording "x$delay.db" "$pid"; then
      sleep "$delay"
      kill -KILL "$pid" 2>/dev/null
    fi
    wait "$pid"
    if [ -e "x$delay.db-tail" ]; then
      # a prefix: empty when a loaded machine had not run the guest to its first event yet
      check_trace "kill-after-$delay" "x$delay.db" any recording
    else
      # it finished before the kill: the whole run, complete
      check_trace "kill-after-$delay" "x$delay.db" "$total" complete
    fi
  done
  # The killed trace's files, moved together, read the same elsewhere.
  mkdir -p moved
  cp x0.4.db* moved/
  "$hvsim" show moved/x0.4.db --json | cmp -s - kill-after-0.4.json ||
    fail "the moved copy of a killed trace reads differently"
}

case_interrupt() {
  record_full
  local sig seq code want
  for sig in INT:130 TERM:143 HUP:129; do
    seq=$((RANDOM % 100000 + 1000))
    want=${sig#*:}
    HVSIM_TEST_SIGNAL=$seq:${sig%:*} "$hvsim" run "$scenario" -o "i${sig%:*}.db" --quiet \
      >/dev/null 2>"i${sig%:*}.stderr"
    code=$?
    [ "$code" -eq "$want" ] || fail "SIG${sig%:*} at $seq: exit $code, expected $want"
    grep -q "interrupted by SIG${sig%:*} after $((seq + 1)) events" "i${sig%:*}.stderr" ||
      fail "SIG${sig%:*}: message: $(cat "i${sig%:*}.stderr")"
    check_trace "SIG${sig%:*}-at-$seq" "i${sig%:*}.db" $((seq + 1)) interrupted
    [ "$(sqlite3 "i${sig%:*}.db" "SELECT value FROM run_info WHERE key = 'interrupted_by'")" = \
      "SIG${sig%:*}" ] || fail "SIG${sig%:*}: run_info.interrupted_by"
  done
  # Ctrl-C from outside, at whatever point the run has reached.
  local pid n
  "$hvsim" run "$scenario" -o ext.db --quiet >/dev/null 2>ext.stderr &
  pid=$!
  if wait_recording ext.db "$pid"; then
    sleep 0.3
    kill -INT "$pid" 2>/dev/null
  fi
  wait "$pid"
  code=$?
  if [ "$code" -eq 130 ]; then
    n=$(sed -n 's/.*interrupted by SIGINT after \([0-9]*\) events.*/\1/p' ext.stderr)
    check_trace "SIGINT-from-outside" ext.db "${n:-0}" interrupted
    [ ! -e ext.db-tail ] || fail "an interrupted trace kept its tail file"
  elif [ "$code" -eq 0 ]; then
    check_trace "SIGINT-too-late" ext.db "$total" complete
  else
    fail "SIGINT from outside: exit $code"
  fi
}

case_old_traces() {
  local f base code
  for f in "$here"/fixtures/*.sql; do
    base=$(basename "$f" .sql)
    # the fixtures are kept as SQL text (sqlite3 .dump, with the file's application_id and
    # user_version): the trace file is made from it, page for page what that hvsim wrote
    rm -f "$base.db"
    sqlite3 "$base.db" <"$f" || fail "$base: the fixture's SQL does not load"
    "$hvsim" show "$base.db" --json | cmp -s - "$here/fixtures/$base.json" ||
      fail "$base: show --json differs from what its hvsim printed"
    "$hvsim" show "$base.db" | cmp -s - "$here/fixtures/$base.txt" ||
      fail "$base: show differs from what its hvsim printed"
    "$hvsim" show "$base.db" --kind sched --json >"$base.sched"
    [ "$(wc -l <"$base.sched")" -eq "$(grep -c '"kind":"sched"' "$here/fixtures/$base.json")" ] ||
      fail "$base: show --kind sched"
    # Replay runs the stored scenario again: identical (exit 0, or 1 for expectations that
    # fail the same way), or, when a model changed since, a divergence reported (3); never
    # unreadable (2).
    "$hvsim" replay "$base.db" >"$base.replay" 2>&1
    code=$?
    if [ "$code" -ne 0 ] && [ "$code" -ne 1 ] && [ "$code" -ne 3 ]; then
      fail "$base: replay exited $code: $(head -3 "$base.replay")"
    fi
    grep -qE "replay identical: [1-9]|after [1-9][0-9]* identical events" "$base.replay" ||
      fail "$base: replay compared nothing: $(head -1 "$base.replay")"
    echo "$base: $(head -1 "$base.replay")"
  done
}

# replays_all NAME DB: `hvsim replay` of a trace cut short re-runs the scenario and reports
# that every event the trace holds matched.
replays_all() {
  local n
  n=$(wc -l <"$1.json")
  "$hvsim" replay "$2" >"$1.replay" 2>&1 || fail "$1: replay exited $?: $(head -2 "$1.replay")"
  grep -q "the recorded trace is incomplete; its $n events all matched\|replay identical: $n" \
    "$1.replay" || fail "$1: replay: $(head -1 "$1.replay")"
}

case_crash_points() {
  scenario=$here/crash-run.yaml
  record_full 30000
  local seq code delay pid n
  # kill -9 right after event SEQ: the trace holds events 0 .. SEQ, all of them. The points
  # are the first event, both sides of chunk ends (HV_TRACE_CHUNK_EVENTS = 4096), points in
  # between, and the last events of the run.
  for seq in 0 4095 4096 4097 12288 23456 $((total - 1)); do
    HVSIM_TEST_SIGNAL=$seq:KILL "$hvsim" run "$scenario" -o "k$seq.db" --quiet >/dev/null 2>&1
    code=$?
    [ "$code" -eq 137 ] || fail "kill at $seq: exit $code, expected 137 (SIGKILL)"
    check_trace "kill-at-$seq" "k$seq.db" $((seq + 1)) recording
    [ -e "k$seq.db-tail" ] || fail "kill at $seq: no tail file"
    case $seq in 4096 | 23456) replays_all "kill-at-$seq" "k$seq.db" ;; esac
  done
  # SIGINT at exact events: the run ends by it (130) with every event committed.
  for seq in 20000; do
    HVSIM_TEST_SIGNAL=$seq:INT "$hvsim" run "$scenario" -o "i$seq.db" --quiet >/dev/null 2>&1
    code=$?
    [ "$code" -eq 130 ] || fail "SIGINT at $seq: exit $code, expected 130"
    check_trace "SIGINT-at-$seq" "i$seq.db" $((seq + 1)) interrupted
    replays_all "SIGINT-at-$seq" "i$seq.db"
  done
  # kill -9 and SIGINT from outside, at moments the run reaches by itself: a prefix (empty
  # when the guest had not started yet), or the whole run when it finished first.
  for delay in 0.2 0.5 1 INT; do
    "$hvsim" run "$scenario" -o "x$delay.db" --quiet >/dev/null 2>&1 &
    pid=$!
    if wait_recording "x$delay.db" "$pid"; then
      if [ "$delay" = INT ]; then
        sleep 0.4
        kill -INT "$pid" 2>/dev/null
      else
        sleep "$delay"
        kill -KILL "$pid" 2>/dev/null
      fi
    fi
    wait "$pid"
    code=$?
    if [ "$code" -eq 0 ]; then
      check_trace "outside-$delay" "x$delay.db" "$total" complete
    elif [ "$code" -eq 130 ]; then
      check_trace "outside-$delay" "x$delay.db" any interrupted
      replays_all "outside-$delay" "x$delay.db"
    elif [ "$code" -eq 137 ] &&
         [ "$(sqlite3 "x$delay.db" "SELECT value FROM run_info WHERE key = 'status'")" = complete ]; then
      # killed after the trace was finished, while the process was ending: a whole run
      check_trace "outside-$delay" "x$delay.db" "$total" complete
    elif [ "$code" -eq 137 ]; then
      check_trace "outside-$delay" "x$delay.db" any recording
    else
      fail "outside-$delay: exit $code"
    fi
  done
}

fn=case_${3//-/_}
if ! declare -F "$fn" >/dev/null; then
  echo "no case '$3'" >&2
  exit 2
fi
"$fn"
if [ -n "$problem" ]; then
  echo "$3: FAILED: $problem"
  exit 1
fi
echo "$3: passed"
exit 0
