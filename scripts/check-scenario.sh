#!/usr/bin/env bash
# Checks one bundled scenario the way the test suite requires: it runs with its expectations
# holding, replays identically from another folder, gives identical events on a second run,
# and still passes with another seed.
# usage: scripts/check-scenario.sh HVSIM SCENARIO.yaml WORKDIR
set -euo pipefail
hvsim=$(realpath "$1"); scen=$(realpath "$2"); work=$3
name=$(basename "$scen" .yaml)
rm -rf "$work/$name"; mkdir -p "$work/$name/elsewhere"; cd "$work/$name"
"$hvsim" run "$scen" -o a.db --quiet
(cd elsewhere && "$hvsim" replay ../a.db)
"$hvsim" run "$scen" -o b.db --quiet
q='SELECT seq, vcpu, icount, kind, pc, detail FROM events ORDER BY seq'
if ! cmp -s <(sqlite3 a.db "$q") <(sqlite3 b.db "$q"); then
  echo "second run of $name gave different events" >&2
  diff <(sqlite3 a.db "$q") <(sqlite3 b.db "$q") | head -5 >&2
  exit 1
fi
"$hvsim" run "$scen" -o c.db --quiet --seed 12345
echo "$name: ok (run, replay, second run identical, seed 12345)"
