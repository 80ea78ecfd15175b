#!/usr/bin/env bash
# Checks that a bundled scenario's invariants survive exploration: `hvsim explore --runs RUNS`
# passes on every seed. With KNOB=BAD and SIGNATURE (a bug-knob scenario), every run must fail
# instead, and for that reason: each run's failure signature is SIGNATURE.
# usage: scripts/check-explore.sh HVSIM SCENARIO.yaml WORKDIR RUNS [KNOB=BAD SIGNATURE]
set -uo pipefail
hvsim=$(realpath "$1"); scen=$(realpath "$2"); work=$3; runs=$4; set_kv=${5:-}; sig=${6:-}
name=$(basename "$scen" .yaml)${set_kv:+-bug}
rm -rf "$work/$name"; mkdir -p "$work/$name"; cd "$work/$name"
"$hvsim" explore "$scen" --runs "$runs" -j 1 --keep failures --quiet --out out \
  ${set_kv:+--set "$set_kv"}
code=$?
if [ -z "$set_kv" ]; then
  if [ "$code" -ne 0 ]; then
    echo "$name: explore --runs $runs exited $code, expected 0 (every seed passes)" >&2
    "$hvsim" explore --report out >&2
    exit 1
  fi
  echo "$name: ok ($runs seeds pass)"
  exit 0
fi
if [ "$code" -ne 1 ]; then
  echo "$name: explore --runs $runs --set $set_kv exited $code, expected 1" >&2
  exit 1
fi
other=$(sqlite3 out/results.db "SELECT count(*) FROM runs WHERE signature IS NOT '$sig'")
if [ "$other" != 0 ]; then
  echo "$name: with $set_kv, $other of $runs runs did not fail with '$sig':" >&2
  "$hvsim" explore --report out >&2
  exit 1
fi
echo "$name: ok (with $set_kv every run fails with '$sig')"
