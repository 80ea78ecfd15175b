#!/usr/bin/env bash
# Checks `hvsim export` (docs/export.md) on bundled scenarios, one case per ctest export.<case>:
#   migration     Perfetto JSON of scenarios/migration/kvm-precopy-x86_64.yaml: a process per
#                 VM named source and destination, vCPU, VMM and migration tracks, rounds as
#                 slices, a migration flow from VM 0 to VM 1
#   continuation  Perfetto JSON of xen/memop-continuation-x86_64.yaml: a flow from each leg
#                 that was preempted to the next
#   exits         Perfetto JSON of kvm/mmio-exit-x86_64.yaml: one exit flow per kvm_exit, each
#                 from the vCPU to the VMM's answer
#   csv           CSV of the guest-text scenario: a row per event, a column per detail key,
#                 a text with a line break, a tab and a quote read back as the trace holds it
#   picture       SVG (well-formed XML) and PNG of three scenarios, the same bytes twice
#   bad-input     not a trace, an unknown format, an empty window: exit 2 with a message
# Every Perfetto file is checked for what any viewer needs: it parses, every event has ph,
# ts, pid and tid, slices on one track nest (none overlaps another partly), and every flow id
# has exactly one start and one end. The JSON is read with SQLite's JSON functions.
# usage: tests/export/check-export.sh HVSIM WORKDIR CASE
set -uo pipefail
hvsim=$(realpath "$1"); work=$(realpath -m "$2"); case=$3
src=$(cd "$(dirname "$0")/../.." && pwd)
for tool in sqlite3 xmllint; do
  command -v $tool >/dev/null || { echo "SKIP: $tool is not installed"; exit 77; }
done
rm -rf "$work/$case"; mkdir -p "$work/$case"; cd "$work/$case" || exit 2
fail() { echo "FAIL $case: $*"; exit 1; }

# q FILE SQL: runs SQL with the JSON file's events as table ev(value)
q() {
  sqlite3 -batch :memory: "CREATE TABLE ev AS SELECT value FROM json_each(readfile('$1'), '\$.traceEvents'); $2"
}

# The structure every Perfetto file must have.
check_structure() {
  local f=$1
  [ "$(sqlite3 :memory: "SELECT json_valid(readfile('$f'))")" = 1 ] || fail "$f does not parse"
  local n
  n=$(q "$f" "SELECT count(*) FROM ev")
  [ "$n" -gt 0 ] || fail "$f has no event"
  n=$(q "$f" "SELECT count(*) FROM ev WHERE json_type(value,'\$.ph') IS NOT 'text'
                OR json_type(value,'\$.ts') IS NOT 'integer'
                OR json_type(value,'\$.pid') IS NOT 'integer'
                OR json_type(value,'\$.tid') IS NOT 'integer'")
  [ "$n" -eq 0 ] || fail "$f: $n events lack ph, ts, pid or tid"
  n=$(q "$f" "CREATE TABLE x AS SELECT json_extract(value,'\$.pid') p, json_extract(value,'\$.tid') t,
                json_extract(value,'\$.ts') s, json_extract(value,'\$.ts') + json_extract(value,'\$.dur') e
                FROM ev WHERE json_extract(value,'\$.ph') = 'X';
              SELECT count(*) FROM x a JOIN x b ON a.p = b.p AND a.t = b.t AND a.rowid <> b.rowid
                WHERE a.s < b.s AND b.s < a.e AND a.e < b.e")
  [ "$n" -eq 0 ] || fail "$f: $n slice pairs overlap without nesting"
  n=$(q "$f" "SELECT count(*) FROM (SELECT json_extract(value,'\$.id') id,
                sum(json_extract(value,'\$.ph') = 's') s, sum(json_extract(value,'\$.ph') = 'f') f
                FROM ev WHERE json_extract(value,'\$.ph') IN ('s','f') GROUP BY id)
              WHERE s <> 1 OR f <> 1")
  [ "$n" -eq 0 ] || fail "$f: $n flow ids without exactly one start and one end"
  n=$(q "$f" "SELECT count(*) FROM ev WHERE json_extract(value,'\$.ph') = 'X'
                AND json_type(value,'\$.dur') IS NOT 'integer'")
  [ "$n" -eq 0 ] || fail "$f: $n slices without a duration"
}

record() {  # record SCENARIO NAME
  "$hvsim" run "$src/scenarios/$1" -o "$2.db" --quiet >/dev/null || fail "run $1 failed"
}

case $case in
migration)
  record migration/kvm-precopy-x86_64.yaml mig
  "$hvsim" export mig.db --format perfetto -o mig.json 2>/dev/null || fail "export exited $?"
  check_structure mig.json
  for want in "process_name|1|VM 0 (migration source)" "process_name|2|VM 1 (migration destination)" \
              "thread_name|1|vCPU 0" "thread_name|2|vCPU 0" "thread_name|1|VMM (host)" \
              "thread_name|1|migration" "thread_name|2|migration"; do
    IFS='|' read -r meta pid name <<<"$want"
    n=$(q mig.json "SELECT count(*) FROM ev WHERE json_extract(value,'\$.ph') = 'M'
           AND json_extract(value,'\$.name') = '$meta' AND json_extract(value,'\$.pid') = $pid
           AND json_extract(value,'\$.args.name') = '$name'")
    [ "$n" -ge 1 ] || fail "no $meta '$name' in process $pid"
  done
  rounds=$(sqlite3 mig.db "SELECT count(*) FROM events WHERE kind = 'mig_round'")
  n=$(q mig.json "SELECT count(*) FROM ev WHERE json_extract(value,'\$.ph') = 'X'
         AND json_extract(value,'\$.cat') = 'mig_round' AND json_extract(value,'\$.tid') = 1001")
  [ "$n" -eq "$rounds" ] || fail "$n round slices on the migration track, the trace has $rounds rounds"
  n=$(q mig.json "SELECT count(*) FROM ev s JOIN ev f ON json_extract(s.value,'\$.id') = json_extract(f.value,'\$.id')
         WHERE json_extract(s.value,'\$.ph') = 's' AND json_extract(f.value,'\$.ph') = 'f'
         AND json_extract(s.value,'\$.name') = 'migration'
         AND json_extract(s.value,'\$.pid') = 1 AND json_extract(f.value,'\$.pid') = 2")
  [ "$n" -eq 1 ] || fail "$n migration flows from VM 0 to VM 1, expected 1"
  n=$(q mig.json "SELECT count(*) FROM ev WHERE json_extract(value,'\$.ph') = 'X'
         AND json_extract(value,'\$.cat') = 'step' AND json_extract(value,'\$.tid') = 1000")
  [ "$n" -ge 1 ] || fail "no host step on a VMM track"
  ;;
continuation)
  record xen/memop-continuation-x86_64.yaml cont
  "$hvsim" export cont.db -o cont.json 2>/dev/null || fail "export exited $?"
  check_structure cont.json
  legs=$(sqlite3 cont.db "SELECT count(*) FROM events e1 WHERE kind = 'xen_continuation'
           AND json_extract(detail,'\$.preempted')
           AND EXISTS (SELECT 1 FROM events e2 WHERE e2.kind = 'xen_continuation'
                       AND e2.vcpu = e1.vcpu AND e2.seq > e1.seq)")
  [ "$legs" -gt 0 ] || fail "the scenario has no preempted leg"
  n=$(q cont.json "SELECT count(*) FROM ev WHERE json_extract(value,'\$.ph') = 's'
         AND json_extract(value,'\$.name') = 'continuation'")
  [ "$n" -eq "$legs" ] || fail "$n continuation flows, the trace has $legs preempted legs with a next one"
  ;;
exits)
  record kvm/mmio-exit-x86_64.yaml mmio
  "$hvsim" export mmio.db -o mmio.json 2>/dev/null || fail "export exited $?"
  check_structure mmio.json
  exits=$(sqlite3 mmio.db "SELECT count(*) FROM events WHERE kind = 'kvm_exit'")
  n=$(q mmio.json "SELECT count(*) FROM ev s JOIN ev f ON json_extract(s.value,'\$.id') = json_extract(f.value,'\$.id')
         WHERE json_extract(s.value,'\$.ph') = 's' AND json_extract(f.value,'\$.ph') = 'f'
         AND json_extract(s.value,'\$.name') = 'exit' AND json_extract(s.value,'\$.tid') = 1
         AND json_extract(f.value,'\$.tid') = 1000")
  [ "$exits" -gt 0 ] && [ "$n" -eq "$exits" ] || fail "$n exit flows from vCPU 0 to the VMM, the trace has $exits exits"
  ;;
csv)
  "$hvsim" run "$src/tests/cli/guest-text.yaml" -o text.db --quiet >/dev/null || fail "run failed"
  "$hvsim" export text.db --format csv -o text.csv 2>/dev/null || fail "export exited $?"
  sqlite3 -batch text.db ".import --csv text.csv rows" || fail "the CSV does not import"
  n=$(sqlite3 text.db "SELECT (SELECT count(*) FROM rows) = (SELECT count(*) FROM events)")
  [ "$n" = 1 ] || fail "row count differs from the event count"
  for col in seq vm vcpu icount kind pc text budget outcome; do
    sqlite3 text.db "SELECT \"$col\" FROM rows LIMIT 1" >/dev/null 2>&1 || fail "no column $col"
  done
  n=$(sqlite3 text.db "SELECT count(*) FROM rows r JOIN events e ON CAST(r.seq AS INTEGER) = e.seq
         WHERE e.kind = 'ucall_printf' AND r.text = json_extract(e.detail,'\$.text')
         AND instr(r.text, char(10)) AND instr(r.text, char(9))")
  [ "$n" -ge 1 ] || fail "the printf text with a line break and a tab did not read back"
  n=$(sqlite3 text.db "SELECT count(*) FROM rows r JOIN events e ON CAST(r.seq AS INTEGER) = e.seq
         WHERE r.kind <> e.kind OR CAST(r.vcpu AS INTEGER) <> e.vcpu")
  [ "$n" -eq 0 ] || fail "$n rows differ from their events"
  ;;
picture)
  record migration/kvm-precopy-x86_64.yaml mig
  record xen/memop-continuation-x86_64.yaml cont
  record none/spinlock-x86_64.yaml spin
  for t in mig cont spin; do
    "$hvsim" export $t.db --format svg 2>/dev/null || fail "svg of $t exited $?"
    xmllint --noout $t.svg || fail "$t.svg is not well-formed XML"
    grep -q '<svg' $t.svg || fail "$t.svg has no svg element"
    cp $t.svg $t.first.svg
    "$hvsim" export $t.db -o $t.svg 2>/dev/null || fail "second svg of $t exited $?"
    cmp -s $t.svg $t.first.svg || fail "two exports of $t differ"
    "$hvsim" export $t.db -o $t.png 2>/dev/null || fail "png of $t exited $?"
    [ "$(head -c 8 $t.png | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] || fail "$t.png is not a PNG"
  done
  # a window: only its events, its span
  "$hvsim" export cont.db -o win.svg --from 4 --to 40 2>/dev/null || fail "window exited $?"
  ;;
bad-input)
  echo "not a trace" > junk.db
  "$hvsim" export junk.db -o x.json 2>err.txt; code=$?
  [ $code -eq 2 ] && grep -q "junk.db" err.txt || fail "a non-trace exited $code: $(cat err.txt)"
  record kvm/mmio-exit-x86_64.yaml mmio
  "$hvsim" export mmio.db --format pdf 2>err.txt; code=$?
  [ $code -eq 2 ] && grep -q "perfetto, csv, svg, png" err.txt || fail "an unknown format exited $code"
  "$hvsim" export mmio.db -o x.json --from 100000 2>err.txt; code=$?
  [ $code -eq 2 ] && grep -q "no event" err.txt || fail "an empty window exited $code"
  "$hvsim" export mmio.db -o /nonexistent/dir/x.json 2>err.txt; code=$?
  [ $code -eq 2 ] && grep -q "cannot be written" err.txt || fail "an unwritable file exited $code"
  ;;
*)
  echo "unknown case $case" >&2; exit 2 ;;
esac
echo "ok export.$case"
