#!/usr/bin/env bash
# `hvsim show --explain` and `hvsim run --explain` on bundled scenarios of every model and
# architecture: one sentence per event (as many lines as the trace has events, each "seq N"
# in order), no field missing from a sentence ("?"), the same sentences from both, and
# --explain with --json refused (exit 2).
# usage: tests/narrate/explain-traces.sh HVSIM WORKDIR
set -uo pipefail
hvsim=$(realpath "$1"); work=$(realpath -m "$2")
src=$(cd "$(dirname "$0")/../.." && pwd)
command -v sqlite3 >/dev/null || { echo "SKIP: sqlite3 is not installed"; exit 77; }
rm -rf "$work"; mkdir -p "$work"; cd "$work" || exit 2
failed=0
for scen in kvm/mmio-exit-x86_64 kvm/smccc-forward-aarch64 kvm/nisv-aarch64 \
            kvm/dirty-ring-full-x86_64 kvm/bug-stale-slot-cache-x86_64 \
            xen/memop-continuation-x86_64 xen/runstate-cross-vcpu-current-x86_64 \
            xen/stlb-hit-miss-x86_64 migration/kvm-precopy-x86_64 none/spinlock-x86_64; do
  name=$(basename "$scen")
  "$hvsim" run "$src/scenarios/$scen.yaml" -o "$name.db" --explain >"$name.run.txt" 2>/dev/null
  "$hvsim" show "$name.db" --explain >"$name.show.txt" || { echo "FAIL $name: show exited $?"; failed=1; continue; }
  events=$(sqlite3 "$name.db" "SELECT count(*) FROM events")
  lines=$(tail -n +2 "$name.show.txt" | wc -l)
  [ "$lines" -eq "$events" ] || { echo "FAIL $name: $lines sentences for $events events"; failed=1; }
  bad=$(tail -n +2 "$name.show.txt" | awk '{ if ($1 != "seq" || $2 + 0 != NR - 1) print }' | head -1)
  [ -z "$bad" ] || { echo "FAIL $name: a line out of seq order: $bad"; failed=1; }
  miss=$(tail -n +2 "$name.show.txt" | grep -E '(^|[ (])\?([ ,.;)]|$)' | head -1)
  [ -z "$miss" ] || { echo "FAIL $name: a sentence misses a field: $miss"; failed=1; }
  # run --explain prints the same sentences as it goes (then its own one-line summary)
  if ! diff <(grep '^seq ' "$name.run.txt") <(tail -n +2 "$name.show.txt") >/dev/null; then
    echo "FAIL $name: run --explain and show --explain differ"; failed=1
  fi
  echo "ok   $name: $events sentences"
done
"$hvsim" show mmio-exit-x86_64.db --explain --json >/dev/null 2>err.txt; code=$?
[ $code -eq 2 ] && grep -q "choose one" err.txt || { echo "FAIL: --explain --json exited $code"; failed=1; }
exit $failed
