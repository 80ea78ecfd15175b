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
  for f in bin/hvsim share/man/man1/hvsim.1 share/bash-completion/completions/hvsim \
           share/hvsim/scenarios/lib/guest.h share/hvsim/scenarios/lib/x86_64/guest.ld \
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
man)
  command -v man >/dev/null || { echo "SKIP: man is not installed (scripts/install-deps.sh)"; exit 77; }
  page=$P/share/man/man1/hvsim.1
  warn=$(MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null)
  [ -z "$warn" ] || { echo "$warn"; fail "man warns"; }
  text=$(MANWIDTH=80 man -l "$page" 2>/dev/null)
  for section in NAME SYNOPSIS DESCRIPTION COMMANDS OPTIONS "EXIT STATUS" ENVIRONMENT FILES \
                 EXAMPLES "SEE ALSO"; do
    grep -qx "$section" <<<"$text" || fail "no section $section"
  done
  for v in HVSIM_CACHE_DIR HVSIM_NO_PROGRESS HVSIM_FAIL_ALLOC; do
    grep -q "^       $v" <<<"$text" || fail "ENVIRONMENT does not describe $v"
  done
  echo "install.man: renders without warnings, with its sections"
  ;;
completion)
  work=$(mktemp -d /tmp/hvsim-completion.XXXXXX)
  trap 'rm -rf "$work"' EXIT
  cd "$work" || exit 1
  mkdir sub
  touch a.yaml b.db c.txt
  # t WORD...: the completions of the last word, as bash computes them for that line
  bash --norc --noprofile -c '
    source "$1" || exit 1
    complete -p hvsim | grep -q -- "-F _hvsim" || { echo "not bound to hvsim"; exit 1; }
    t() {
      COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
      COMPREPLY=(); _hvsim 2>/dev/null; echo "${COMPREPLY[*]}"
    }
    x() { local want=$1; shift; local got; got=$(t "$@")
          [ "$got" = "$want" ] || { echo "$*: completes to \"$got\", want \"$want\""; bad=1; }; }
    bad=0
    hvsim=$2
    x run "$hvsim" ru
    x "replay" "$hvsim" --no-progress rep
    x "--schedule-from" "$hvsim" run a.yaml --sch
    x "--jobs" "$hvsim" explore a.yaml --j
    x "kvm.max_slots=" "$hvsim" run a.yaml --set kvm.max_sl
    x "run.max_memory= run.max_events= run.max_trace_bytes=" "$hvsim" explore a.yaml --vary run.
    x "model kvm" "$hvsim" run a.yaml --backend ""
    x "sub a.yaml" "$hvsim" run ""
    x "sub b.db" "$hvsim" replay ""
    x "sub" "$hvsim" list ""
    x "diff" "$hvsim" help di
    exit $bad
  ' _ "$P/share/bash-completion/completions/hvsim" "$P/bin/hvsim" || fail "completion"
  echo "install.completion: loads and completes commands, options, knobs and files"
  ;;
help-man)
  bash "$src/tests/install/help-man.sh" "$P/bin/hvsim" "$P/share/man/man1/hvsim.1" ||
    fail "help and man page differ"
  ;;
*)
  fail "no case '$case'"
  ;;
esac
