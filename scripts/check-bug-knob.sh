#!/usr/bin/env bash
# Checks that a bundled scenario catches its bug knob: with KNOB=BAD the run's expectations
# fail (exit 1), and replaying that trace with KNOB=GOOD diverges (exit 3) at the first wrong
# event, with the keys that differ; `hvsim diff` of that trace against a run with KNOB=GOOD
# differs (exit 1) first at the same seq. BAD and GOOD default to 1 and 0.
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
if ! grep -q '^  what differs (recorded | replayed):$' replay.txt; then
  echo "$name: the replay report does not say what differs" >&2
  cat replay.txt >&2
  exit 1
fi
"$hvsim" run "$scen" -o fixed.db --quiet --set "$knob=$good"
code=$?
if [ "$code" -ne 0 ]; then
  echo "$name: with $knob=$good the run exited $code, expected 0" >&2
  exit 1
fi
"$hvsim" diff bug.db fixed.db > diff.txt
code=$?
if [ "$code" -ne 1 ]; then
  echo "$name: diff against the $knob=$good run exited $code, expected 1 (different)" >&2
  cat diff.txt >&2
  exit 1
fi
rseq=$(sed -n 's/^replay diverged at seq \([0-9]*\) .*/\1/p' replay.txt)
dseq=$(sed -n 's/^first difference at seq \([0-9]*\) .*/\1/p' diff.txt)
if [ -z "$rseq" ] || [ "$rseq" != "$dseq" ]; then
  echo "$name: replay diverges at seq '$rseq' but diff first differs at seq '$dseq'" >&2
  cat replay.txt diff.txt >&2
  exit 1
fi
head -3 replay.txt
echo "$name: ok (caught with $knob=$bad; replay with $knob=$good diverges, and diff against" \
     "a $knob=$good run first differs, at seq $rseq)"
