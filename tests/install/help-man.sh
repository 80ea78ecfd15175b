#!/usr/bin/env bash
# help-man.sh - `hvsim help` and the man page agree: every command of the usage has its
# section in the man page (.SS "COMMAND ..."), every option (--long, and -x short ones) that
# `hvsim help` or any `hvsim help COMMAND` prints is in the man page, and every option the
# man page names is in a help text.
#
# usage: tests/install/help-man.sh HVSIM MANPAGE
set -u
hvsim=$1
man=$2
fail=0
# options in text on stdin, one per line: --long or -x, not inside a word (x86-64, re-run)
options() {
  grep -oE '(^|[^A-Za-z0-9_-])--?[A-Za-z][A-Za-z0-9-]*' | sed -E 's/^[^-]*//' |
    grep -E '^(--[a-z][a-z0-9-]*[a-z0-9]|-[A-Za-z])$' | sort -u
}
usage=$("$hvsim" help) || { echo "hvsim help exited $?"; exit 1; }
commands=$(sed -nE 's/^  hvsim ([a-z]+).*/\1/p' <<<"$usage" | sort -u)
[ -n "$commands" ] || { echo "no command in the usage"; exit 1; }
help=$usage
for c in $commands; do
  t=$("$hvsim" help "$c") || { echo "hvsim help $c exited $?"; fail=1; }
  help+=$'\n'$t
done
# the man page's text: comments dropped, \- as -, font changes removed
text=$(grep -v '^\.\\"' "$man" | sed -E 's/\\-/-/g; s/\\f[BIRP]//g')
for c in $commands help; do
  grep -qE "^\.SS \"$c( |\")" <<<"$text" || { echo "the man page has no section for '$c'"; fail=1; }
done
hopts=$(options <<<"$help")
mopts=$(options <<<"$text")
only_help=$(comm -23 <(echo "$hopts") <(echo "$mopts"))
only_man=$(comm -13 <(echo "$hopts") <(echo "$mopts"))
[ -z "$only_help" ] || { echo "in the help, not in the man page:" $only_help; fail=1; }
[ -z "$only_man" ] || { echo "in the man page, not in the help:" $only_man; fail=1; }
[ "$fail" = 0 ] && echo "help-man: $(wc -w <<<"$commands") commands and $(wc -l <<<"$hopts") options in both"
exit "$fail"
