#!/usr/bin/env bash
# Checks that a bundled scenario catches its bug knob: with KNOB=BAD the run's expectations
# fail (exit 1), and replaying that trace with KNOB=GOOD diverges (exit 3) at the first wrong
# event. BAD and GOOD default to 1 and 0.
# usage: scripts/check-bug-knob.sh HVSIM SCENARIO.yaml KNOB WORKDIR [BAD GOOD]
set -uo pipefail
hvsim=$(realpath "$1"); scen=$(realpath "$2"); knob=$3; work=$4; bad=${5:-1}; good=${6:-0}
name=$(basename "$scen" .yaml)-knob
rm -rf "$work/$name"; mkdir -p "$work/$name"; cd "$work/$name"
"$hvsim" run "$scen" -o bug.db --quiet --set "$knob=$bad"
code=$?
if [ "$code" -ne 1 ]; then
  echo "$name: with $knob=$bad the run exited $code, expected 1 (expectations failed)" >&2
  exit 1
fi
"$hvsim" replay bug.db --set "$knob=$good" > replay.txt
code=$?
if [ "$code" -ne 3 ]; then
  echo "$name: replay with $knob=$good exited $code, expected 3 (diverged)" >&2
  cat replay.txt >&2
  exit 1
fi
head -3 replay.txt
echo "$name: ok (caught with $knob=$bad; replay with $knob=$good diverges)"
