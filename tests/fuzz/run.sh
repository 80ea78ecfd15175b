#!/bin/bash
# Runs one libFuzzer harness of tests/fuzz/ (docs/testing.md) from its seed corpus.
#   run.sh HARNESS NAME WORKDIR runs=N HVSIM   N inputs from a fresh corpus, fixed seed (ctest)
#   run.sh HARNESS NAME WORKDIR time=S HVSIM   S seconds, corpus kept in WORKDIR/NAME/corpus
# The seeds are collected into WORKDIR/NAME/seeds: the bundled scenarios and test scenarios
# (scenario, steps: those with steps), the checked-in old traces and traces recorded now with
# HVSIM (trace), and a few register states (hypercall). What libFuzzer finds goes to
# WORKDIR/NAME/crash-* (a reproducer: HARNESS FILE runs it once).
set -euo pipefail
harness=$1 name=$2 work=$3 mode=$4 hvsim=$5
here=$(cd "$(dirname "$0")" && pwd)
max_len=
src=$(cd "$here/../.." && pwd)
dir=$work/$name
seeds=$dir/seeds
rm -rf "$seeds"
mkdir -p "$seeds" "$dir/corpus"

yamls() { find "$src/scenarios" "$src/tests/cli" "$src/tests/trace" -name '*.yaml' | sort; }

# the little-endian bytes of a 64-bit value, as printf escapes
le64() {
    local v=$1 i out=""
    for i in 0 1 2 3 4 5 6 7; do
        out+=$(printf '\\x%02x' $(( (v >> (8 * i)) & 255 )))
    done
    printf '%s' "$out"
}

case $name in
scenario)
    yamls | while read -r f; do cp "$f" "$seeds/$(basename "$(dirname "$f")")-$(basename "$f")"; done
    dict=$here/scenario.dict ;;
steps)
    yamls | xargs grep -l '^steps:' | while read -r f; do
        cp "$f" "$seeds/$(basename "$(dirname "$f")")-$(basename "$f")"
    done
    dict=$here/scenario.dict ;;
trace)
    for f in "$src"/tests/trace/fixtures/*.sql; do
        rm -f "$seeds/$(basename "$f" .sql).db"
        sqlite3 "$seeds/$(basename "$f" .sql).db" <"$f"
    done
    # schema version 3, recorded now: a run of model none and a KVM run with steps
    for s in none/exits-x86_64 kvm/move-window-aarch64; do
        out=$dir/record
        rm -rf "$out" && mkdir -p "$out"
        "$hvsim" run "$src/scenarios/$s.yaml" -o "$out/t.db" >/dev/null 2>&1 || true
        cp "$out/t.db" "$seeds/v3-$(basename "$s").db"
    done
    dict=$here/trace.dict ;;
hypercall)
    # target byte, count byte, then rax / x0 first: one seed per target with a number its
    # model answers (KVM_HC_SEND_IPI, PSCI_VERSION, CPU_ON, console_io, memory_op)
    i=0
    for t in "0 10" "1 1" "2 5" "3 0x84000000" "4 0xc4000003" "5 0x82000001" "6 0x84000002" \
             "7 0x80000000" "8 18" "9 12"; do
        set -- $t
        printf "$(printf '\\x%02x\\x01' "$1")$(le64 "$2")$(le64 0)$(le64 4)" > "$seeds/t$i"
        i=$((i + 1))
    done
    dict=$here/hypercall.dict
    max_len=4096 ;;   # every input may set all registers and memory from the start
*)
    echo "run.sh: no harness named $name" >&2
    exit 2 ;;
esac

args=(-dict="$dict" ${max_len:+-max_len=$max_len -len_control=0} -timeout=120 -rss_limit_mb=4096 -artifact_prefix="$dir/"
      -print_final_stats=1)
case $mode in
runs=*)
    # the same inputs every time: a fresh corpus and a fixed seed
    rm -rf "$dir/corpus" && mkdir -p "$dir/corpus"
    args+=(-runs="${mode#runs=}" -seed=1) ;;
time=*)
    args+=(-max_total_time="${mode#time=}") ;;
*)
    echo "run.sh: mode runs=N or time=S, not $mode" >&2
    exit 2 ;;
esac
exec "$harness" "${args[@]}" "$dir/corpus" "$seeds"
