#!/usr/bin/env bash
# Crosschecks one bundled x86_64 KVM scenario on this machine's /dev/kvm (`hvsim crosscheck`,
# docs/real-kvm.md). Passes when every comparison is the same or explained by a kernel fact,
# fails on any difference, and is skipped (exit 77, ctest's SKIP_RETURN_CODE) without a usable
# /dev/kvm or when this kernel cannot run the scenario: the reason is printed, never a pass.
# usage: scripts/check-realkvm.sh HVSIM SCENARIO.yaml WORKDIR
set -u
hvsim=$(realpath "$1"); scen=$(realpath "$2"); work=$3
if ! (exec 3<>/dev/kvm) 2>/dev/null; then
  echo "SKIP: /dev/kvm is missing or not readable and writable by this user"
  exit 77
fi
name=$(basename "$scen" .yaml)
rm -rf "$work/$name"; mkdir -p "$work/$name"; cd "$work/$name" || exit 2
"$hvsim" crosscheck "$scen" >out.txt 2>&1
code=$?
cat out.txt
if [ "$code" -eq 0 ]; then
  exit 0
fi
if [ "$code" -eq 1 ] && tail -1 out.txt | grep -q ': not runnable on this kernel ('; then
  echo "SKIP: $(tail -1 out.txt)"
  exit 77
fi
exit 1
