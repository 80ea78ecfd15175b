#!/usr/bin/env bash
# schedule.sh - runs driven by an explicit schedule (`hvsim run --schedule-from`) and `hvsim
# shrink`, on the bundled scenario none/lost-update-x86_64.
#
# usage: tests/explore/schedule.sh HVSIM WORKDIR CASE
#   from      a run given another run's schedule (and another seed) makes the same events,
#             stores the schedule as loaded, and replays identically
#   from-bad  --schedule-from a file that is no trace, or with --backend kvm: exit 2
#   shrink    a failing run (the race on, seed 16) shrinks to fewer context switches, the
#             same guest assertion, and a trace that replays identically
#   shrink-pass  shrinking a run that passed: exit 2
set -u
hvsim=$(realpath "$1"); work=$(realpath -m "$2"); case=$3
src=$(cd "$(dirname "$0")/../.." && pwd)
scen=$src/scenarios/none/lost-update-x86_64.yaml
dir=$work/$case
rm -rf "$dir"; mkdir -p "$dir"; cd "$dir" || exit 1
fail() { echo "FAIL $case: $*" >&2; exit 1; }
q="SELECT seq, vcpu, icount, kind, pc, detail FROM events WHERE kind != 'run_start' ORDER BY seq"
# context switches: sched events whose vCPU is not the previous sched event's
switches() {
  sqlite3 "$1" "SELECT count(*) FROM (SELECT vcpu, lag(vcpu) OVER (ORDER BY seq) AS prev
                FROM events WHERE kind = 'sched') WHERE prev IS NOT NULL AND prev != vcpu"
}

case $case in
from)
  "$hvsim" run "$scen" -o a.db --quiet --seed 3 || fail "run exited $?"
  "$hvsim" run "$scen" -o b.db --quiet --seed 77 --schedule-from a.db ||
    fail "run --schedule-from exited $?"
  cmp -s <(sqlite3 a.db "$q") <(sqlite3 b.db "$q") || fail "the events differ"
  [ "$(sqlite3 a.db "SELECT value FROM run_info WHERE key = 'schedule'")" = seed ] ||
    fail "a.db: run_info schedule is not 'seed'"
  [ "$(sqlite3 b.db "SELECT value FROM run_info WHERE key = 'schedule'")" = loaded ] ||
    fail "b.db: run_info schedule is not 'loaded'"
  cmp -s <(sqlite3 a.db "SELECT data FROM blobs WHERE name = 'schedule'") \
         <(sqlite3 b.db "SELECT data FROM blobs WHERE name = 'schedule'") ||
    fail "the recorded schedules differ"
  "$hvsim" replay b.db >out.txt || fail "replay exited $?"
  grep -q '^replay identical' out.txt || fail "replay: $(cat out.txt)"
  # without the schedule, seed 77 makes other decisions
  "$hvsim" run "$scen" -o c.db --quiet --seed 77 || fail "run --seed 77 exited $?"
  ! cmp -s <(sqlite3 a.db "$q") <(sqlite3 c.db "$q") || fail "seed 77 made seed 3's schedule"
  ;;
from-bad)
  echo "not a trace" >bad.db
  "$hvsim" run "$scen" -o a.db --quiet --schedule-from bad.db 2>err.txt
  [ $? -eq 2 ] || fail "--schedule-from bad.db: expected exit 2"
  grep -q 'bad.db' err.txt || fail "the message does not name the file: $(cat err.txt)"
  "$hvsim" run "$scen" -o a.db --quiet --schedule-from bad.db --backend kvm 2>/dev/null
  [ $? -eq 2 ] || fail "--schedule-from with --backend kvm: expected exit 2"
  ;;
shrink)
  # the race on: the flag word the guest reads is 0
  "$hvsim" run "$scen" -o race.db --quiet --seed 16 --set steps.0.args.u64=0
  [ $? -eq 1 ] || fail "the race did not fail on seed 16"
  "$hvsim" shrink race.db -o small.db --max-runs 40 >out.txt || fail "shrink exited $?"
  cat out.txt
  before=$(switches race.db); after=$(switches small.db)
  [ "$after" -lt "$before" ] || fail "switches $before -> $after"
  a="SELECT json_extract(detail, '$.file') || ':' || json_extract(detail, '$.line') FROM events
     WHERE kind = 'ucall_assert'"
  [ "$(sqlite3 race.db "$a")" = "$(sqlite3 small.db "$a")" ] || fail "another assertion"
  "$hvsim" replay small.db >replay.txt
  [ $? -eq 1 ] || fail "replay of small.db exited $?, expected 1 (identical, guest asserted)"
  grep -q '^replay identical' replay.txt || fail "replay: $(cat replay.txt)"
  ;;
shrink-pass)
  "$hvsim" run "$scen" -o a.db --quiet || fail "run exited $?"
  "$hvsim" shrink a.db -o small.db 2>err.txt
  [ $? -eq 2 ] || fail "shrinking a passing run: expected exit 2"
  grep -q 'did not fail' err.txt || fail "message: $(cat err.txt)"
  ;;
*)
  fail "no such case"
  ;;
esac
echo "ok $case"
