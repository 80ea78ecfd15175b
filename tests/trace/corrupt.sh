#!/usr/bin/env bash
# corrupt.sh - damaged and hostile traces through `hvsim show`, `show --json` and `replay`
# (docs/trace-format.md, "Identity and versions", "hvsim show" and "Errors of hvsim replay").
#
# usage: tests/trace/corrupt.sh HVSIM WORKDIR [PATTERN]
#   PATTERN (an extended regex) limits the run to the variants whose names match it.
#
# Records one bundled scenario, then makes variants of its trace: truncations at many
# offsets, bit flips (spread over the file, and in the SQLite header), header and run_info
# edits, damaged rows, dropped tables, and schema objects hvsim never creates (recursive
# views, a trigger, extra tables and indexes, views in place of tables, a generated column).
# Each of the three commands must end, within a timeout, with
#   - exit 0 (show; replay also 1 or 3) and output that is right: the text listing starts
#     with its header, and every line of --json parses as JSON and is valid UTF-8; or
#   - exit 2 and a message "hvsim: TRACE...", naming the trace;
# never a sanitizer report (the ASan/UBSan build of `make test`) or a hang. Some variants also
# have a known outcome (a hostile schema is refused, guest bytes that are not UTF-8 come out
# as \ufffd). Exit 0 when every case passed, 1 when one failed, 77 (ctest's
# SKIP_RETURN_CODE) when sqlite3 or jq is missing.
set -u

if [ $# -lt 2 ] || [ $# -gt 3 ]; then
  echo "usage: $0 HVSIM WORKDIR [PATTERN]" >&2
  exit 2
fi
only=${3:-.}
hvsim=$(realpath "$1")
work=$(realpath -m "$2")/corrupt
here=$(cd "$(dirname "$0")" && pwd)
scenario=$here/../../scenarios/none/exits-aarch64.yaml
for tool in sqlite3 jq iconv; do
  if ! command -v "$tool" >/dev/null; then
    echo "corrupt: SKIP ($tool is not installed)"
    exit 77
  fi
done
rm -rf "$work"
mkdir -p "$work"
cd "$work" || exit 1

problem=
cases=0
fail() {
  problem="${problem}$*; "
}

"$hvsim" run "$scenario" -o orig.db --quiet >orig.out 2>&1 || {
  echo "corrupt: FAILED: recording $scenario: $(cat orig.out)"
  exit 1
}
"$hvsim" show orig.db --json >orig.json || fail "show --json of the original failed"
"$hvsim" show orig.db >orig.show || fail "show of the original failed"
size=$(stat -c %s orig.db)
pages=$((size / 4096))

# run NAME CMD...: runs hvsim under a timeout; sets code, and NAME.out / NAME.err.
run() {
  local name=$1
  shift
  timeout 30 "$hvsim" "$@" >"$name.out" 2>"$name.err"
  code=$?
}

# check V WANT [CMD=TEXT | CMD==orig]...: runs the three commands (show, json, replay) on V.db,
# in the background (two variants at a time; wait_all collects them). WANT is "any", "2"
# (every command refuses the trace), "2:TEXT" (and says TEXT), or "utf8" (show --json exits
# 0 with \ufffd in it). CMD=TEXT: that command's output or message says TEXT; json==orig: show
# --json prints what it prints for the original.
check() {
  [[ $1 =~ $only ]] || return 0
  cases=$((cases + 1))
  while [ "$(jobs -rp | wc -l)" -ge 2 ]; do
    wait -n
  done
  check_one "$@" &
}

wait_all() {
  wait
  local f
  for f in *.problem; do
    [ -e "$f" ] && problem="$problem$(cat "$f")"
  done
}

check_one() {
  local v=$1 want=$2 cmd name lines extra
  shift 2
  problem=
  for cmd in show json replay; do
    name=$v.$cmd
    case $cmd in
      show) run "$name" show "$v.db" ;;
      json) run "$name" show "$v.db" --json ;;
      replay) run "$name" replay "$v.db" ;;
    esac
    if [ "$code" -eq 124 ]; then
      fail "$v: $cmd hangs"
      continue
    fi
    if grep -qE "Sanitizer|runtime error" "$name.err"; then
      fail "$v: $cmd: sanitizer report: $(grep -m1 -E 'Sanitizer|runtime error' "$name.err")"
      continue
    fi
    case "$cmd:$code" in
      show:0 | json:0 | replay:0 | replay:1 | replay:3) ;;
      *:2)
        head -1 "$name.err" | grep -qF "hvsim: $v.db" ||
          fail "$v: $cmd exit 2 without naming the trace: $(head -1 "$name.err")"
        ;;
      *) fail "$v: $cmd exit $code: $(head -1 "$name.err")" ;;
    esac
    if [ "$cmd" = json ]; then
      # every line printed parses, exit 0 or 2 alike, and is UTF-8
      jq -e . "$name.out" >/dev/null 2>&1 || fail "$v: show --json printed a line that is not JSON"
      iconv -f UTF-8 -t UTF-8 "$name.out" >/dev/null 2>&1 ||
        fail "$v: show --json printed bytes that are not UTF-8"
      lines=$(wc -l <"$name.out")
      if [ "$code" -eq 0 ] && [ -s "$v.show.out" ] &&
         [ "$((lines + 2))" -ne "$(wc -l <"$v.show.out")" ]; then
        fail "$v: show --json printed $lines events, show $(($(wc -l <"$v.show.out") - 2))"
      fi
    fi
    if [ "$cmd" = show ] && [ "$code" -eq 0 ]; then
      head -1 "$name.out" | grep -qF "trace $v.db: scenario " || fail "$v: show header"
      # nothing the trace holds drives the terminal: no control byte but tab and line feed
      LC_ALL=C grep -q $'[\x01-\x08\x0b-\x1f\x7f]' "$name.out" &&
        fail "$v: show printed a control byte"
    fi
    case $want in
      2) [ "$code" -eq 2 ] || fail "$v: $cmd exit $code, expected 2" ;;
      2:*)
        [ "$code" -eq 2 ] || fail "$v: $cmd exit $code, expected 2"
        grep -qF -- "${want#2:}" "$name.err" ||
          fail "$v: $cmd does not say '${want#2:}': $(head -1 "$name.err")"
        ;;
    esac
  done
  if [ "$want" = utf8 ]; then
    grep -qF '\ufffd' "$v.json.out" || fail "$v: no \\ufffd in show --json"
  fi
  for extra in "$@"; do
    case $extra in
      *==orig) cmp -s "$v.${extra%==orig}.out" "orig.${extra%==orig}" ||
                 fail "$v: ${extra%==orig} differs from the original's" ;;
      *) cat "$v.${extra%%=*}.out" "$v.${extra%%=*}.err" | grep -qF -- "${extra#*=}" ||
           fail "$v: ${extra%%=*} does not say '${extra#*=}'" ;;
    esac
  done
  [ -z "$problem" ] || printf '%s' "$problem" >"$v.problem"
}

# variant V: a fresh copy of the trace as V.db.
variant() {
  cp orig.db "$1.db"
}

# flip V OFFSET BIT: V.db is the trace with one bit flipped.
flip() {
  local byte
  variant "$1"
  byte=$(od -An -tu1 -j "$2" -N1 orig.db | tr -d ' ')
  printf "$(printf '\\%03o' $((byte ^ (1 << $3))))" |
    dd of="$1.db" bs=1 seek="$2" conv=notrunc status=none
}

# sql V SQL...: V.db is the trace changed by SQL.
sql() {
  local v=$1
  shift
  variant "$v"
  sqlite3 "$v.db" "$@" >/dev/null 2>&1 || fail "$v: the sqlite3 shell refused the edit"
}

# The original reads and replays.
cp orig.db same.db
check same any json==orig "replay=replay identical: "

# Truncations: inside the header, at and around page boundaries, the last byte.
for off in 0 1 99 100 4095 4097 $((size / 2)) $((size - 1)); do
  head -c "$off" orig.db >"cut$off.db"
  check "cut$off" 2
done
for k in 1 $((pages / 3)) $((pages - 1)); do
  head -c $((k * 4096)) orig.db >"page$k.db"
  check "page$k" 2:"truncated trace"
done

# Bit flips: the SQLite header's fields, then offsets spread over the whole file (a
# multiplicative hash of the case number, so the same offsets every run).
for off in 16 18 20 21 28 44 52 56 60 68 92 100; do
  flip "hdr$off" "$off" $((off % 8))
  check "hdr$off" any
done
for i in $(seq 1 20); do
  off=$(((i * 2654435761) % size))
  flip "bit$i" "$off" $((i % 8))
  check "bit$i" any
done

# Identity: application_id and schema version.
sql app "PRAGMA application_id = 1"
check app 2:"not an hvsim trace (application_id"
sql ver0 "PRAGMA user_version = 0"
check ver0 2:"schema version 0"
sql ver2 "PRAGMA user_version = 2"
check ver2 2:"not a usable hvsim trace"
sql ver9 "PRAGMA user_version = 9"
check ver9 2:"newer than this hvsim"

# run_info and blobs: what replay needs, damaged or missing.
sql status "UPDATE run_info SET value = 'garbage' WHERE key = 'status'"
check status any "show=INCOMPLETE"
sql nostatus "DELETE FROM run_info WHERE key = 'status'"
check nostatus any
sql noscenario "DELETE FROM run_info WHERE key = 'scenario_text'"
check noscenario any "replay=noscenario.db: run_info has no key 'scenario_text'"
sql badyaml "UPDATE run_info SET value = 'name: [' WHERE key = 'scenario_text'"
check badyaml any "replay=badyaml.db: stored scenario:2:1: "
sql seed "UPDATE run_info SET value = '1x' WHERE key = 'seed'"
check seed any "replay=seed.db: run_info seed: '1x' is not a number"
sql sets "UPDATE run_info SET value = 'none.nope=1' WHERE key = 'sets'"
check sets any "replay=sets.db: run_info sets: none.nope=1: unknown config key"
sql arch "UPDATE run_info SET value = 'z80' WHERE key = 'arch'"
check arch any
sql kvm "UPDATE run_info SET value = 'kvm' WHERE key = 'backend'"
check kvm any "replay=recorded on the real kernel"
sql noelf "DELETE FROM blobs WHERE name = 'guest.elf'"
check noelf any "replay=noelf.db: no blob named 'guest.elf'"
sql halfelf "UPDATE blobs SET data = substr(data, 1, length(data) / 2) WHERE name = 'guest.elf'"
check halfelf any
sql blobtext "UPDATE run_info SET value = x'00ff00' WHERE key = 'scenario_text'"
check blobtext any
sql ctlname "UPDATE run_info SET value = 'evil' || char(27) || '[31m' WHERE key = 'scenario_name'"
check ctlname any "show=scenario evil?[31m"

# Event data: strings, chunks and kinds.
sql strjson "UPDATE event_strings SET json = '\"abc' WHERE id = 1"
check strjson 2:"damaged detail: event_strings id 1 is not JSON"
sql strutf8 "UPDATE event_strings SET json = CAST(x'22e282ac80ff22' AS TEXT) WHERE id = 1"
check strutf8 utf8
sql strnull "UPDATE event_strings SET json = 'null' WHERE id = 2"
check strnull any
sql strgone "DELETE FROM event_strings WHERE id = 3"
check strgone any
sql chunktext "UPDATE event_chunks SET events = '[[1,2'
               WHERE seq = (SELECT max(seq) FROM event_chunks)"
check chunktext 2:"damaged event chunk at seq"
sql chunkzero "UPDATE event_chunks SET events = replace(events, ',1,', ',01,') WHERE seq = 0"
check chunkzero 2:"damaged event chunk at seq"
sql chunkobj "UPDATE event_chunks SET events = '{\"a\":1}' WHERE seq = 0"
check chunkobj 2
sql chunkn "UPDATE event_chunks SET n = -5 WHERE seq = 0"
check chunkn any
sql chunkseq "UPDATE event_chunks SET seq = seq + 1000"
check chunkseq any
sql chunkbig "UPDATE event_chunks SET events = replace(events, '[9,', '[99999999999999999999,')"
check chunkbig any
sql kindfields "UPDATE event_kinds SET fields = '[{\"name\":\"x\",\"type\":\"nope\"}]' WHERE id = 0"
check kindfields 2
sql kindgone "DELETE FROM event_kinds WHERE name = 'hypercall'"
check kindgone 2:"view 'events' is not the one hvsim creates"
sql kinddoc "UPDATE event_kinds SET doc = 'edited' WHERE id = 0"
check kinddoc any json==orig

# Dropped tables and view.
for t in run_info blobs event_kinds event_strings event_chunks; do
  sql "drop-$t" "DROP VIEW events; DROP TABLE $t"
  check "drop-$t" 2:"not a usable hvsim trace"
done
sql drop-events "DROP VIEW events"
check drop-events 2:"no view 'events'"

# Schema objects hvsim never creates: refused before any query reaches them.
recurse="WITH RECURSIVE c(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM c)"
sql rec-kinds "DROP TABLE event_kinds; CREATE VIEW event_kinds(id, name, doc, fields) AS
               $recurse SELECT x, 'k' || x, '', '[]' FROM c"
check rec-kinds 2:"table 'event_kinds' is a view"
sql rec-chunks "DROP VIEW events; DROP TABLE event_chunks;
                CREATE VIEW event_chunks(seq, n, vm, icount, pc, events) AS
                $recurse SELECT x, 1, 0, 0, 0, '[[0,-1,0,0]]' FROM c"
check rec-chunks 2:"table 'event_chunks' is a view"
sql rec-events "DROP VIEW events; CREATE VIEW events AS $recurse SELECT x AS seq FROM c"
check rec-events 2:"view 'events' is not the one hvsim creates"
sql shadow-info "DROP TABLE run_info; CREATE VIEW run_info(key, value) AS
                 SELECT 'status', 'complete'"
check shadow-info 2:"table 'run_info' is a view"
sql trigger "CREATE TRIGGER t AFTER INSERT ON run_info BEGIN SELECT 1; END"
check trigger 2:"unexpected trigger 't'"
sql extra "CREATE TABLE x(a); INSERT INTO x VALUES(1)"
check extra 2:"unexpected table 'x'"
sql extraview "CREATE VIEW v AS $recurse SELECT x FROM c"
check extraview 2:"unexpected view 'v'"
sql index "CREATE INDEX i ON event_chunks(length(events))"
check index 2:"unexpected index 'i'"
sql generated "ALTER TABLE run_info RENAME TO old; CREATE TABLE run_info(key TEXT PRIMARY KEY,
               v, value AS (v || '')); INSERT INTO run_info(key, v) SELECT key, value FROM old;
               DROP TABLE old"
check generated 2:"table 'run_info' is not the one hvsim creates"
sql stat "ANALYZE"
check stat 2:"unexpected table 'sqlite_stat1'"

wait_all
if [ -n "$problem" ]; then
  echo "corrupt: FAILED ($cases variants): $problem"
  exit 1
fi
echo "corrupt: passed ($cases variants, each through show, show --json and replay)"
exit 0
