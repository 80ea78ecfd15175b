#!/usr/bin/env bash
# list-wrap.sh - `hvsim list` wraps to the width COLUMNS gives: at COLUMNS=60 no line is wider
# than 60 columns, and every bundled scenario's whole `description` (as its file writes it,
# words separated by any blanks) is in the listing. It lists "." from scenarios/, so that the
# paths are short enough to fit: a word wider than a line is written whole.
#
# usage: tests/cli/list-wrap.sh HVSIM
set -u
hvsim=$(realpath "$1")
src=$(cd "$(dirname "$0")/../.." && pwd)
cd "$src/scenarios" || exit 1
fail=0
out=$(COLUMNS=60 "$hvsim" list .) || { echo "hvsim list exited $?"; exit 1; }
wide=$(awk 'length > 60' <<<"$out")
if [ -n "$wide" ]; then
  echo "lines wider than 60 columns:"
  echo "$wide"
  fail=1
fi
flat=$(tr -s ' \n\t' '   ' <<<"$out")
n=0
for f in */*.yaml; do
  # the block scalar after `description: |`: its indented lines, up to the next key
  desc=$(awk '/^description: *[|>]/ { on = 1; next } on && /^[^ \t]/ { exit } on' "$f" |
         tr -s ' \n\t' '   ' | sed 's/^ //; s/ $//')
  if [ -z "$desc" ]; then
    echo "$f: no block description found"
    fail=1
  elif ! grep -qF -- "$desc" <<<"$flat"; then
    echo "$f: its description is not whole in the listing"
    fail=1
  fi
  n=$((n + 1))
done
[ "$n" -gt 0 ] || { echo "no scenarios found"; fail=1; }
[ "$fail" = 0 ] && echo "list-wrap: $n descriptions whole, no line over 60 columns"
exit "$fail"
