#!/usr/bin/env bash
# doc-commands.sh - runs every shell command the documentation shows: each ```sh block of
# README.md and docs/**/*.md, as written, in a fresh folder that has the repository's
# `scenarios/` and `build/hvsim` (also on PATH as `hvsim`). A block passes when it exits 0.
# Blocks fenced without `sh` (usage synopses, output, `make test` itself) are not commands.
#
# A document whose blocks build on each other (a tutorial) asks for one shared folder with
# this line of its own, anywhere in the file:
#   <!-- doc-commands: one folder -->
# Its blocks then run in file order, each in its own shell, all in one fresh folder, so a
# block sees the files the blocks before it made.
#
# usage: tests/docs/doc-commands.sh HVSIM WORKDIR
#   Exit 0 when every block ran, 1 when one failed (its file, line and output are printed),
#   77 (ctest's SKIP_RETURN_CODE) when a tool the blocks use is missing.
set -u

if [ $# -ne 2 ]; then
  echo "usage: $0 HVSIM WORKDIR" >&2
  exit 2
fi
hvsim=$(realpath "$1")
work=$(realpath -m "$2")
src=$(cd "$(dirname "$0")/../.." && pwd)
if ! command -v sqlite3 >/dev/null; then
  echo "SKIP: sqlite3 is not installed"
  exit 77
fi

rm -rf "$work"
mkdir -p "$work"
failed=0
blocks=0
for doc in "$src/README.md" "$src"/docs/*.md "$src"/docs/*/*.md; do
  [ -f "$doc" ] || continue
  rel=${doc#"$src"/}
  shared=
  if grep -qxF '<!-- doc-commands: one folder -->' "$doc"; then
    shared=$work/$(echo "$rel" | tr '/.' '__')
  fi
  # each block as "LINE<TAB>text with \n escaped", one per output line
  while IFS=$'\t' read -r line text; do
    blocks=$((blocks + 1))
    dir=${shared:-$work/$(echo "$rel" | tr '/.' '__')-$line}
    if [ ! -e "$dir/scenarios" ]; then
      mkdir -p "$dir/build"
      ln -s "$src/scenarios" "$dir/scenarios"
      ln -s "$hvsim" "$dir/build/hvsim"
    fi
    block=.doc-block-$line
    printf '%b' "$text" >"$dir/$block.sh"
    if (cd "$dir" && PATH="$dir/build:$PATH" bash -e -o pipefail "$block.sh") >"$dir/$block.out" 2>&1
    then
      echo "ok   $rel:$line"
    else
      echo "FAIL $rel:$line"
      sed 's/^/    /' "$dir/$block.sh"
      echo "  output:"
      sed 's/^/    /' "$dir/$block.out" | tail -20
      failed=$((failed + 1))
    fi
  done < <(awk '
    /^```/ {
      if (inb) { printf "%d\t%s\n", start, body; inb = 0; next }
      if ($0 == "```sh") { inb = 1; start = NR; body = ""; next }
    }
    # a backslash of the text is doubled, so that printf %b gives it back as written
    inb { text = $0; gsub(/\\/, "&&", text); body = body text "\\n" }' "$doc")
done
echo "$blocks blocks, $failed failed"
[ "$failed" -eq 0 ] || exit 1
[ "$blocks" -gt 0 ] || { echo "no sh block found"; exit 1; }
exit 0
