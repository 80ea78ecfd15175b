#!/usr/bin/env bash
# An exploration spread over 4 shards run by GNU parallel, merged, reports exactly what the
# same exploration run whole reports, and holds the same rows (all but wall time).
# usage: tests/explore/shard-merge.sh HVSIM WORKDIR   (exit 77 when GNU parallel is missing)
set -uo pipefail
hvsim=$(realpath "$1"); work=$2
src=$(cd "$(dirname "$0")/../.." && pwd)
command -v parallel >/dev/null || { echo "SKIP: GNU parallel is not installed"; exit 77; }
rm -rf "$work"; mkdir -p "$work"; cd "$work"
scen=$src/scenarios/kvm/bug-stale-slot-cache-x86_64.yaml
args=(--seeds 1..5 --vary kvm.bug.stale_slot_cache=0,1 --vary quantum=700,10000 --keep none
      --quiet --metric 'lookups=SELECT count(*) FROM events WHERE kind = '"'kvm_lookup'")
"$hvsim" explore "$scen" "${args[@]}" -j 2 --out whole
[ $? -eq 1 ] || { echo "the whole exploration should have failures (exit 1)" >&2; exit 1; }
parallel --will-cite -q "$hvsim" explore "$scen" "${args[@]}" -j 1 --shard {}/4 --out shard{} \
  ::: 1 2 3 4
for k in 1 2 3 4; do
  [ -f shard$k/results.db ] || { echo "shard $k wrote no results.db" >&2; exit 1; }
done
"$hvsim" explore --merge shard1 shard2 shard3 shard4 --out merged || exit 1
if ! diff <("$hvsim" explore --report whole) <("$hvsim" explore --report merged); then
  echo "the merged report differs from the whole exploration's" >&2
  exit 1
fi
q="SELECT r.run, seed, vary, sets, status, outcome, exit_code, signature, instructions, events,
   m.value FROM runs r LEFT JOIN metrics m USING (run) ORDER BY r.run"
if ! diff <(sqlite3 whole/results.db "$q") <(sqlite3 merged/results.db "$q"); then
  echo "the merged rows differ from the whole exploration's" >&2
  exit 1
fi
n=$(sqlite3 merged/results.db "SELECT count(*) FROM runs")
[ "$n" = 20 ] || { echo "merged $n runs, expected 20" >&2; exit 1; }
"$hvsim" explore --report merged
echo "shard-merge: ok (4 shards merged = one exploration of $n runs)"
