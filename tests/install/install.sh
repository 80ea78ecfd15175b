#!/usr/bin/env bash
# install.sh - hvsim installed with `cmake --install`, used from outside the source tree.
#
# usage: tests/install/install.sh BUILD CASE
#   BUILD is a configured and built build folder; the install goes to BUILD/install-test/P.
#   Cases:
#     tree        installs; then, from a temporary folder outside the source tree, the
#                 installed hvsim runs an installed scenario (its guest built with the
#                 installed guest library, a fresh guest cache), replays it, finds the same
#                 events as the build folder's hvsim, and `hvsim list` lists the installed
#                 scenarios and nothing of the source tree.
#     man         the installed man page renders with no groff or man warning and has its
#                 sections.
#     completion  the installed bash completion loads, is bound to hvsim, completes
#                 commands, a command's options, knob names after --set and scenario files.
#     help-man    tests/install/help-man.sh on the installed hvsim and man page.
set -u
build=$(realpath "$1")
case=$2
src=$(cd "$(dirname "$0")/../.." && pwd)
P=$build/install-test/P
fail() { echo "install.$case: $*"; exit 1; }

install_tree() {
  rm -rf "$P"
  cmake --install "$build" --prefix "$P" >/dev/null || fail "cmake --install failed"
  for f in bin/hvsim share/hvsim/scenarios/lib/guest.h share/hvsim/scenarios/lib/x86_64/guest.ld \
           share/hvsim/scenarios/none/spinlock-x86_64.yaml share/hvsim/scenarios/none/spinlock.c
  do
    [ -e "$P/$f" ] || fail "P/$f is not installed"
  done
}

case $case in
tree)
  install_tree
  work=$(mktemp -d /tmp/hvsim-install.XXXXXX)
  trap 'rm -rf "$work"' EXIT
  cd "$work" || exit 1
  scen=$P/share/hvsim/scenarios/none/spinlock-x86_64.yaml
  HVSIM_CACHE_DIR=$work/cache "$P/bin/hvsim" run "$scen" -o installed.db --quiet >run.out 2>&1 ||
    { cat run.out; fail "the installed hvsim cannot run $scen"; }
  "$P/bin/hvsim" replay installed.db >replay.out 2>&1 || { cat replay.out; fail "replay failed"; }
  HVSIM_CACHE_DIR=$work/cache2 "$build/hvsim" run "$src/scenarios/none/spinlock-x86_64.yaml" \
    -o built.db --quiet >built.out 2>&1 || { cat built.out; fail "the build's hvsim failed"; }
  "$P/bin/hvsim" diff built.db installed.db >diff.out 2>&1 ||
    { cat diff.out; fail "the installed and the built hvsim record different events"; }
  "$P/bin/hvsim" list >list.out 2>&1 || fail "hvsim list exited $?"
  grep -qF "$P/share/hvsim/scenarios/none/spinlock-x86_64.yaml" list.out ||
    fail "hvsim list does not list the installed scenarios"
  ! grep -qF "$src/scenarios" list.out || fail "hvsim list lists the source tree's scenarios"
  ! grep -q "(invalid)" list.out || fail "an installed scenario does not load"
  echo "install.tree: ran, replayed and listed from $P"
  ;;
*)
  fail "no case '$case'"
  ;;
esac
