#!/usr/bin/env bash
# exit-codes.sh - the exit codes of the hvsim program (0 success, 1 an expectation failed: the
# guest asserted, a vCPU failed, ...; 2 bad input, located at file:line:column with a "did you
# mean"; 3 replay diverged) and the message that goes with each.
#
# usage: tests/cli/exit-codes.sh HVSIM WORKDIR [CASE...]
#   Runs the named cases (all of them without CASE), each in WORKDIR/CASE. Prints one line per
#   case and, for a failure, what hvsim printed. Exit 0 when every case passed, 1 when one
#   failed, 77 (ctest's SKIP_RETURN_CODE) when none failed but one could not run.
set -u

if [ $# -lt 2 ]; then
  echo "usage: $0 HVSIM WORKDIR [CASE...]" >&2
  exit 2
fi
hvsim=$(realpath "$1")
work=$(realpath -m "$2")
shift 2
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)

all_cases="diff-codes help-diff
           assert-unexpected vcpu-failed bad-key bad-config-value bad-knob set-unknown
           set-value bad-memory bad-vmm bad-step bad-expect bad-event-kind bad-outcome
           missing-scenario show-text show-vm show-kinds replay-text replay-tampered version
           no-args help-run state-bad blame-bad explore-bad-input
           step-no-args bad-guest memory-budget memory-budget-set
           event-budget bad-dirty-ring guest-text list-bugs"

# Per case: its folder, the last command's exit code and output files.
dir=
code=
out=
err=
problem=

# run CMD...: runs in the case's folder, recording the exit code, stdout and stderr.
run() {
  out=$dir/stdout
  err=$dir/stderr
  (cd "$dir" && "$@") >"$out" 2>"$err"
  code=$?
}

# expect_code WANT: notes a problem unless the last command exited with WANT.
expect_code() {
  if [ "$code" -ne "$1" ]; then
    problem="${problem}exit code $code, expected $1; "
  fi
}

# expect_in FILE TEXT: notes a problem unless FILE contains TEXT (fixed string).
expect_in() {
  if ! grep -qF -- "$2" "$1"; then
    problem="${problem}$(basename "$1") lacks '$2'; "
  fi
}

# hvsim explore refuses bad options before any run: exit 2, no results database.
case_explore_bad_input() {
  local s=$src/scenarios/kvm/mmio-exit-x86_64.yaml
  run "$hvsim" explore "$s" --runs 2 --vary kvm.vendr=amd,intel --out x
  expect_code 2
  expect_in "$err" "unknown config key 'kvm.vendr' for model kvm (did you mean 'kvm.vendor'?)"
  run "$hvsim" explore "$src/scenarios/migration/kvm-precopy-x86_64.yaml" --runs 2 \
    --vary steps.0.args.nope=1 --out x
  expect_code 2
  expect_in "$err" "hvsim explore: --vary steps.0.args.nope=1: step 0 has no argument 'nope'"
  run "$hvsim" explore "$s" --runs 2 --metric "m=DELETE FROM events" --out x
  expect_code 2
  expect_in "$err" "--metric m: a metric only reads the trace"
  run "$hvsim" explore "$s" --runs 2 --metric "m=SELECT nope FROM events" --out x
  expect_code 2
  expect_in "$err" "--metric m: no such column: nope"
  run "$hvsim" explore "$s" --shard 5/4 --out x
  expect_code 2
  expect_in "$err" "--shard 5/4: expected K/N with 1 <= K <= N"
  run "$hvsim" explore --report nowhere
  expect_code 2
  expect_in "$err" "hvsim explore: nowhere: no results database"
  if [ -e "$dir/x/results.db" ]; then
    problem="${problem}a results database was written; "
  fi
}

case_assert_unexpected() {
  run "$hvsim" run "$here/assert-unexpected.yaml" -o t.db --quiet
  expect_code 1
  expect_in "$out" "guest assertion failed at assert_fail.c:10"
}

# A guest's printf is printed as text: a prefix per line, control bytes but tab escaped.
case_guest_text() {
  run "$hvsim" run "$here/guest-text.yaml" -o t.db
  expect_code 0
  expect_in "$out" "[vcpu0] line one"
  expect_in "$out" "$(printf '[vcpu0] line\ttwo \\x1b[31mred\\x1b[0m caf\303\251')"
}

case_vcpu_failed() {
  run "$hvsim" run "$here/vcpu-failed.yaml" -o t.db
  expect_code 1
  expect_in "$out" 'FAILED expect outcome: expected "done", got "failed"'
  expect_in "$out" 'FAILED expect vcpus.0: expected {"state":"done"}, got {"state":"failed","why":"KVM_EXIT_INTERNAL_ERROR"}'
  expect_in "$out" "vcpu-failed: outcome failed: vCPU 0 failed at pc 0xc0000000 (KVM_EXIT_INTERNAL_ERROR); expectations FAILED"
}

# located SCENARIO PATTERN COLUMN MESSAGE: `hvsim run` refuses tests/cli/SCENARIO with exit 2
# and "PATH:LINE:COLUMN: MESSAGE", LINE being the first line that holds PATTERN, before it
# builds the guest or writes a trace.
located() {
  local scen=$here/$1 line
  line=$(grep -n -F -- "$2" "$scen" | head -1 | cut -d: -f1)
  run "$hvsim" run "$scen" -o t.db --quiet
  expect_code 2
  expect_in "$err" "hvsim: $scen:$line:$3: $4"
  if [ -e "$dir/t.db" ]; then
    problem="${problem}a trace was written; "
  fi
}

case_bad_key() {
  located bad-key.yaml '  asert:' 3 "unknown key 'asert' in expect (did you mean 'assert'?)"
}

case_bad_config_value() {
  located bad-config.yaml 'vendor: intl' 13 \
    "'kvm.vendor': expected intel or amd, got 'intl' (did you mean 'intel'?)"
}

case_bad_knob() {
  located bad-knob.yaml 'kvm.max_slot:' 3 \
    "unknown config key 'kvm.max_slot' for model kvm (did you mean 'kvm.max_slots'?)"
}

case_set_unknown() {
  run "$hvsim" run "$src/scenarios/kvm/mmio-exit-x86_64.yaml" -o t.db --set kvm.vendr=amd
  expect_code 2
  expect_in "$err" \
    "hvsim: --set kvm.vendr=amd: unknown config key 'kvm.vendr' for model kvm (did you mean 'kvm.vendor'?)"
}

case_set_value() {
  run "$hvsim" run "$src/scenarios/kvm/mmio-exit-x86_64.yaml" -o t.db --set kvm.max_slots=99999
  expect_code 2
  expect_in "$err" \
    "hvsim: --set kvm.max_slots=99999: 'kvm.max_slots': expected an integer from 0 to 32767, got '99999'"
  if [ -e "$dir/t.db" ]; then
    problem="${problem}a trace was written; "
  fi
}

case_bad_memory() {
  located bad-memory.yaml 'slot: 1,' 7 \
    "memory.slots[1]: KVM refuses it: Invalid argument (memory_size not a multiple of the page size, A.3.2)"
}

case_bad_vmm() {
  located bad-vmm.yaml 'power_off:' 14 "'power_off': KVM_ARM_VCPU_POWER_OFF is Arm only"
}

case_bad_step() {
  located bad-step.yaml 'do: set_memory_regoin' 9 \
    "unknown step action 'set_memory_regoin' for model kvm (did you mean 'set_memory_region'?)"
}

case_bad_expect() {
  located bad-expect.yaml 'registres:' 3 \
    "unknown key 'registres' in expect (did you mean 'registers'?)"
}

case_bad_event_kind() {
  located bad-event-kind.yaml 'kvm_exti:' 5 "unknown event kind 'kvm_exti' (did you mean 'kvm_exit'?)"
}

case_bad_outcome() {
  located bad-outcome.yaml 'outcome: faild' 12 \
    "'outcome': unknown outcome 'faild' (did you mean 'failed'?)"
}

case_step_no_args() {
  located step-no-args.yaml '  - at: {sync: 1}' 5 "'set_memory_region' needs args"
}

case_bad_dirty_ring() {
  located bad-dirty-ring.yaml 'dirty_ring:' 23 \
    "vmm.dirty_ring: KVM refuses dirty_log_ring_acq_rel of 1000 bytes: Invalid argument (NOT_POW2)"
}

case_bad_guest() {
  located bad-guest.yaml 'guest:' 8 \
    "'guest': cannot read $here/no-such-guest.c: No such file or directory"
}

case_memory_budget() {
  located over-budget.yaml '{name: e,' 23 \
    "21474836480 bytes of guest memory exceed the memory budget of 17179869184 bytes (run.max_memory; raise it with --set run.max_memory=BYTES)"
}

# A budget raised with --set lets the same scenario through the checks; a lower one refuses
# it at the buffer that crosses that budget.
case_memory_budget_set() {
  run "$hvsim" run "$here/over-budget.yaml" -o t.db --set run.max_memory=0x500000000 \
    --set run.max_events=1 --quiet
  expect_code 1
  expect_in "$out" "outcome budget"
  local line
  line=$(grep -n -F '{name: d,' "$here/over-budget.yaml" | cut -d: -f1)
  run "$hvsim" run "$here/over-budget.yaml" -o t.db --set run.max_memory=0x300000000
  expect_code 2
  expect_in "$err" "hvsim: $here/over-budget.yaml:$line:23: 17179869184 bytes of guest memory exceed the memory budget of 12884901888 bytes"
}

# The event budget ends the run with outcome budget (exit 1: the expected outcome was done);
# the trace is complete up to there and replays identically.
case_event_budget() {
  run "$hvsim" run "$src/scenarios/kvm/mmio-exit-x86_64.yaml" -o t.db --set run.max_events=5
  expect_code 1
  expect_in "$out" 'FAILED expect outcome: expected "done", got "budget"'
  run "$hvsim" show t.db
  expect_code 0
  expect_in "$out" '{"outcome":"budget"'
  run "$hvsim" replay t.db
  expect_code 1
  expect_in "$out" "replay identical"
  run "$hvsim" run "$src/scenarios/kvm/mmio-exit-x86_64.yaml" -o t.db \
    --set run.max_trace_bytes=100 --quiet
  expect_code 1
  expect_in "$out" "outcome budget"
  run "$hvsim" run "$src/scenarios/kvm/mmio-exit-x86_64.yaml" -o t.db --set run.max_events=0
  expect_code 2
  expect_in "$err" "'run.max_events': expected a positive integer, got '0'"
}

case_missing_scenario() {
  run "$hvsim" run "$dir/no-such-scenario.yaml" -o t.db --quiet
  expect_code 2
  expect_in "$err" "no-such-scenario.yaml"
}

case_show_text() {
  printf 'plain text, not a trace\n' >"$dir/notes.txt"
  run "$hvsim" show notes.txt
  expect_code 2
  expect_in "$err" "not an hvsim trace"
}

# show's vm column and --vm: a version 2 trace (one event_rows row per event, kept in
# tests/trace/fixtures) whose ucall_sync event is relabelled as VM 1's, and the same trace
# turned back into schema version 1 (no vm column: every event is VM 0's).
case_show_vm() {
  if ! command -v sqlite3 >/dev/null; then
    problem="skip: sqlite3 is not installed"
    return 77
  fi
  rm -f "$dir/t.db"
  sqlite3 "$dir/t.db" <"$src/tests/trace/fixtures/v2-assert-fail.sql"
  local seq n
  seq=$(sqlite3 "$dir/t.db" "SELECT seq FROM events WHERE kind = 'ucall_sync'")
  n=$(sqlite3 "$dir/t.db" "SELECT count(*) FROM events")
  sqlite3 "$dir/t.db" "UPDATE event_rows SET vm = 1 WHERE seq = $seq"
  run "$hvsim" show t.db
  expect_code 0
  expect_in "$out" "   seq vm vcpu "
  run "$hvsim" show t.db --vm 1 --json
  expect_code 0
  expect_in "$out" "{\"seq\":$seq,\"vm\":1,\"vcpu\":0,"
  if [ "$(wc -l <"$out")" -ne 1 ]; then
    problem="${problem}--vm 1 printed $(wc -l <"$out") events, expected 1; "
  fi
  run "$hvsim" show t.db --vm 0 --json
  expect_code 0
  if [ "$(grep -c '"vm":0,' "$out")" -ne $((n - 1)) ]; then
    problem="${problem}--vm 0 did not print the other $((n - 1)) events; "
  fi
  run "$hvsim" show t.db --vm -1
  expect_code 2
  expect_in "$err" "--vm -1: expected a VM number"
  # (with the table, view and indexes exactly as the hvsim of version 1 created them: a
  # reader accepts nothing else)
  sqlite3 "$dir/t.db" "DROP VIEW events; ALTER TABLE event_rows RENAME TO old_rows;
    DROP INDEX event_rows_vcpu; DROP INDEX event_rows_kind;
    CREATE TABLE event_rows(seq INTEGER PRIMARY KEY, vcpu INTEGER NOT NULL,
                        icount INTEGER NOT NULL,
                        kind INTEGER NOT NULL REFERENCES event_kinds(id),
                        pc INTEGER NOT NULL, detail TEXT NOT NULL);
    INSERT INTO event_rows SELECT seq, vcpu, icount, kind, pc, detail FROM old_rows;
    DROP TABLE old_rows;
    CREATE INDEX event_rows_vcpu ON event_rows(vcpu);
    CREATE INDEX event_rows_kind ON event_rows(kind);
    CREATE VIEW events(seq, vcpu, icount, kind, pc, detail) AS
    SELECT r.seq, r.vcpu, r.icount, k.name, r.pc, r.detail
    FROM event_rows AS r JOIN event_kinds AS k ON k.id = r.kind ORDER BY r.seq;
    PRAGMA user_version = 1;"
  run "$hvsim" show t.db --vm 0 --json
  expect_code 0
  if [ "$(grep -c '"vm":0,' "$out")" -ne "$n" ]; then
    problem="${problem}version 1: --vm 0 did not print all $n events; "
  fi
}

# --kind takes several kinds (comma-separated and repeated) and refuses an unknown one with
# the list of kinds.
case_show_kinds() {
  run "$hvsim" run "$src/scenarios/none/assert-fail-x86_64.yaml" -o t.db --quiet
  expect_code 0
  [ -z "$problem" ] || return 0
  run "$hvsim" show t.db --kind ucall_sync,ucall_assert --kind run_end --json
  expect_code 0
  expect_in "$out" '"kind":"ucall_sync"'
  expect_in "$out" '"kind":"ucall_assert"'
  expect_in "$out" '"kind":"run_end"'
  if [ "$(wc -l <"$out")" -ne 3 ]; then
    problem="${problem}printed $(wc -l <"$out") events, expected 3; "
  fi
  run "$hvsim" show t.db --kind ucall_sync,ucall_snyc
  expect_code 2
  expect_in "$err" "hvsim show: --kind ucall_sync,ucall_snyc: no event kind 'ucall_snyc' (did you mean 'ucall_sync'?); the kinds are:"
  expect_in "$err" "run_start, sched, vcpu_state,"
  expect_in "$err" "expect, run_end"
}

case_replay_text() {
  printf 'plain text, not a trace\n' >"$dir/notes.txt"
  run "$hvsim" replay notes.txt
  expect_code 2
  expect_in "$err" "not an hvsim trace"
}

case_state_bad() {
  printf 'plain text, not a trace\n' >"$dir/notes.txt"
  run "$hvsim" state notes.txt
  expect_code 2
  expect_in "$err" "not an hvsim trace"
  run "$hvsim" run "$src/scenarios/none/assert-fail-x86_64.yaml" -o t.db --quiet
  expect_code 0
  [ -z "$problem" ] || return 0
  run "$hvsim" state t.db --at 100000
  expect_code 2
  expect_in "$err" "--at 100000: the trace has events 0 to"
  run "$hvsim" state t.db --vcpu 7
  expect_code 2
  expect_in "$err" "the run has 1 vCPUs"
  run "$hvsim" state t.db --mem 0x7000000000:16
  expect_code 2
  expect_in "$err" "not guest RAM"
  run "$hvsim" state t.db --mem 0x1000
  expect_code 2
  expect_in "$err" "bad or unexpected argument '--mem'"
}

case_blame_bad() {
  run "$hvsim" run "$src/scenarios/none/assert-fail-x86_64.yaml" -o t.db --quiet
  expect_code 0
  [ -z "$problem" ] || return 0
  run "$hvsim" blame t.db
  expect_code 2
  expect_in "$err" "--gpa ADDR or --gva ADDR --vcpu N is required"
  run "$hvsim" blame t.db --gva 0x1000
  expect_code 2
  expect_in "$err" "--gva needs --vcpu N"
  run "$hvsim" blame t.db --gpa 0x1000 --len 5000
  expect_code 2
  expect_in "$err" "bad or unexpected argument '--len'"
  run "$hvsim" blame t.db --gpa 0x7000000000 --vcpu 0 --gva 0x7000000000
  expect_code 2
  expect_in "$err" "is not mapped in vCPU 0's page tables"
}

case_replay_tampered() {
  if ! command -v sqlite3 >/dev/null; then
    problem="skip: sqlite3 is not installed"
    return 77
  fi
  run "$hvsim" run "$src/scenarios/none/assert-fail-x86_64.yaml" -o t.db --quiet
  expect_code 0
  [ -z "$problem" ] || return 0
  run "$hvsim" replay t.db
  expect_code 0
  local seq
  seq=$(sqlite3 "$dir/t.db" "SELECT seq FROM events WHERE kind = 'ucall_sync'")
  if [ -z "$seq" ]; then
    problem="${problem}no ucall_sync event in the trace; "
    return 0
  fi
  # the event's n (member 4 of its element in the chunk that holds it) becomes 2
  sqlite3 "$dir/t.db" "UPDATE event_chunks SET events = json_replace(events,
    printf('\$[%d][4]', $seq - seq), 2) WHERE seq <= $seq AND seq + n > $seq"
  run "$hvsim" replay t.db
  expect_code 3
  expect_in "$out" "replay diverged at seq $seq"
}

case_version() {
  run "$hvsim" --version
  expect_code 0
  expect_in "$out" "hvsim "
}

case_no_args() {
  run "$hvsim"
  expect_code 2
  expect_in "$err" "usage:"
}

case_help_run() {
  run "$hvsim" help run
  expect_code 0
  expect_in "$out" "hvsim run SCENARIO.yaml"
  # COMMAND --help (or -h), wherever it is, prints the same
  run "$hvsim" export x.db --help
  expect_code 0
  expect_in "$out" "hvsim export TRACE.db"
  run "$hvsim" run -h
  expect_code 0
  expect_in "$out" "hvsim run SCENARIO.yaml"
}

# hvsim diff: 0 identical, 1 different (two seeds), 2 bad input
case_diff_codes() {
  run "$hvsim" run "$src/scenarios/none/assert-fail-x86_64.yaml" -o a.db --quiet --seed 1
  expect_code 0
  run "$hvsim" run "$src/scenarios/none/assert-fail-x86_64.yaml" -o b.db --quiet --seed 2
  expect_code 0
  [ -z "$problem" ] || return 0
  run "$hvsim" diff a.db a.db
  expect_code 0
  expect_in "$out" "identical: "
  run "$hvsim" diff a.db b.db
  expect_code 1
  expect_in "$out" "  seed: 1 | 2"
  expect_in "$out" "first difference at seq 0 (run_start, vCPU -1)"
  run "$hvsim" diff --json a.db b.db
  expect_code 1
  expect_in "$out" '"identical":false'
  run "$hvsim" diff a.db
  expect_code 2
  expect_in "$err" "usage:"
  run "$hvsim" diff a.db b.db c.db
  expect_code 2
  expect_in "$err" "unexpected argument 'c.db'"
  printf 'plain text, not a trace\n' >"$dir/notes.txt"
  run "$hvsim" diff a.db notes.txt
  expect_code 2
  expect_in "$err" "not an hvsim trace"
}

case_help_diff() {
  run "$hvsim" help diff
  expect_code 0
  expect_in "$out" "hvsim diff A.db B.db [--json]"
}

# hvsim list --bugs: one block per row of models/bugs.def, each line within 80 columns when
# stdout is not a terminal; --tsv: one line of 8 fields per row; anything else exits 2.
case_list_bugs() {
  run "$hvsim" list --bugs --tsv
  expect_code 0
  expect_in "$out" "$(printf 'kvm.bug.stale_slot_cache\t1\t0\tkvm/bug-stale-slot-cache-x86_64.yaml\t')"
  local rows fields
  rows=$(grep -c '^B("' <(sed 's/^ *//' "$src/models/bugs.def"))
  fields=$(awk -F'\t' 'NF != 8' "$out" | wc -l)
  [ "$(wc -l <"$out")" -eq "$rows" ] || problem="${problem}--tsv has not $rows lines; "
  [ "$fields" -eq 0 ] || problem="${problem}--tsv has lines without 8 fields; "
  run "$hvsim" list --bugs
  expect_code 0
  expect_in "$out" "kvm.bug.stale_slot_cache=1 (fixed: 0)"
  expect_in "$out" "  caught by: hvsim run scenarios/kvm/bug-stale-slot-cache-x86_64.yaml"
  [ "$(grep -c '(fixed: ' "$out")" -eq "$rows" ] || problem="${problem}not $rows blocks; "
  ! awk 'length > 80 { exit 1 }' "$out" && problem="${problem}a line over 80 columns; "
  run "$hvsim" list --bugs --json
  expect_code 2
  expect_in "$err" "unexpected argument '--json'"
}

cases=${*:-$all_cases}
failed=0
skipped=0
for c in $cases; do
  fn=case_${c//-/_}
  if ! declare -F "$fn" >/dev/null; then
    echo "FAIL $c: no such case (cases: $(echo $all_cases))"
    failed=$((failed + 1))
    continue
  fi
  dir=$work/$c
  rm -rf "$dir"
  mkdir -p "$dir"
  problem=
  "$fn"
  status=$?
  if [ "$status" -eq 77 ]; then
    echo "SKIP $c: ${problem#skip: }"
    skipped=$((skipped + 1))
  elif [ -n "$problem" ]; then
    echo "FAIL $c: $problem"
    echo "--- stdout:"; cat "$out"
    echo "--- stderr:"; cat "$err"
    failed=$((failed + 1))
  else
    echo "ok   $c"
  fi
done
if [ "$failed" -ne 0 ]; then
  exit 1
fi
if [ "$skipped" -ne 0 ]; then
  exit 77
fi
exit 0
