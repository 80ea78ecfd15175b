#!/usr/bin/env bash
# progress.sh - the progress line on a terminal (a pty from script(1)): `hvsim explore` draws
# it ("\r" + runs done / planned + erase to the end of the line, ESC [ K) and erases it at
# the end; --no-progress, HVSIM_NO_PROGRESS=1 and a stderr that is not a terminal leave it
# out. runner/progress.h; the line's format is tests/runner/test_progress.c's.
#
# usage: tests/cli/progress.sh HVSIM WORKDIR
set -u
hvsim=$(realpath "$1")
work=$(realpath -m "$2")
src=$(cd "$(dirname "$0")/../.." && pwd)
command -v script >/dev/null || { echo "SKIP: script(1) is not installed"; exit 77; }
rm -rf "$work"
mkdir -p "$work"
cd "$work" || exit 1
export HVSIM_CACHE_DIR=$work/cache
scen=$src/scenarios/none/spinlock-x86_64.yaml
fail=0
erase=$'\033[K'
# explore NAME ENV... -- ARGS...: explore on a pty, everything it wrote in NAME.out
explore() {
  local name=$1
  shift
  local envs=()
  while [ "$1" != -- ]; do envs+=("$1"); shift; done
  shift
  env "${envs[@]}" script -qec "$hvsim explore $scen --runs 3 -j 1 --out $name $*" /dev/null \
    >"$name.out" 2>&1 || { echo "$name: exit $?"; cat "$name.out"; fail=1; }
}
explore on --
grep -qF $'\r'"1/3 runs, 0 failed" on.out || { echo "on: no progress line"; fail=1; }
grep -qF $'\r'"$erase" on.out || { echo "on: the line is not erased"; fail=1; }
explore off-option -- --no-progress
explore off-env HVSIM_NO_PROGRESS=1 --
for f in off-option off-env; do
  ! grep -qF "$erase" $f.out || { echo "$f: a progress line was drawn"; fail=1; }
done
"$hvsim" explore "$scen" --runs 3 -j 1 --out notty >/dev/null 2>notty.err ||
  { echo "notty: exit $?"; fail=1; }
! grep -qF "$erase" notty.err || { echo "notty: a progress line on a file"; fail=1; }
[ "$fail" = 0 ] && echo "progress: drawn on a terminal, left out when turned off or not a terminal"
exit "$fail"
