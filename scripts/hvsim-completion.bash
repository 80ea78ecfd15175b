# bash completion for hvsim, installed as P/share/bash-completion/completions/hvsim.
# Completes the commands, each command's options (as `hvsim help COMMAND` lists them), the
# values of --backend, --kernel and --keep, the knob names after --set and --vary (from
# `hvsim list --knobs`, asked of the hvsim being completed), scenario files (.yaml) for run,
# crosscheck and explore, trace files (.db) for the commands that read a trace, and folders.

# COMPREPLY: the folders and the files ending in .$1 (or only folders: "dir", any file: "any")
# that start with $cur.
_hvsim_files()
{
    local IFS=$'\n'
    compopt -o filenames 2>/dev/null
    case $1 in
    dir) COMPREPLY=($(compgen -d -- "$cur")) ;;
    any) COMPREPLY=($(compgen -f -- "$cur")) ;;
    *) COMPREPLY=($(compgen -d -- "$cur") $(compgen -f -X "!*.$1" -- "$cur")) ;;
    esac
}

_hvsim()
{
    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
    local commands="run crosscheck replay diff debug show state blame shrink export list explore help"
    local cmd= i
    for ((i = 1; i < COMP_CWORD; i++)); do
        if [[ ${COMP_WORDS[i]} != --no-progress ]]; then
            cmd=${COMP_WORDS[i]}
            break
        fi
    done
    if [[ -z $cmd ]]; then
        COMPREPLY=($(compgen -W "$commands --version --help -h --no-progress" -- "$cur"))
        return
    fi
    local opts files
    case $cmd in
    run) opts="-o --seed --set --quiet --explain --backend --schedule-from" files=yaml ;;
    crosscheck) opts="--json --kernel" files=yaml ;;
    replay) opts="--set --gdb" files=db ;;
    diff) opts="--json" files=db ;;
    debug) opts="--port --elf --at --set --verbose" files=db ;;
    show) opts="--vm --vcpu --kind --from --to --json --explain" files=db ;;
    state) opts="--at --vcpu --mem --gva --json" files=db ;;
    blame) opts="--gpa --gva --vcpu --len --at" files=db ;;
    shrink) opts="-o --max-runs" files=db ;;
    export) opts="--format -o --from --to" files=db ;;
    list) opts="--knobs --bugs --tsv" files=dir ;;
    explore)
        opts="--seeds --runs --seed --vary --set -j --jobs --shard --out --keep --until-failure
              --time-budget --metric --shrink --quiet --report --plot --merge" files=yaml ;;
    help)
        COMPREPLY=($(compgen -W "$commands" -- "$cur"))
        return ;;
    *) return ;;
    esac
    case $prev in
    --set | --vary)
        local exe=${COMP_WORDS[0]/#\~/$HOME}
        COMPREPLY=($(compgen -W "$("$exe" list --knobs 2>/dev/null |
                                   sed -n 's/^\([^ =][^=]*\)=.*/\1=/p')" -- "$cur"))
        compopt -o nospace 2>/dev/null
        return ;;
    --backend) COMPREPLY=($(compgen -W "model kvm" -- "$cur")); return ;;
    --kernel) COMPREPLY=($(compgen -W "auto reference" -- "$cur")); return ;;
    --keep) COMPREPLY=($(compgen -W "failures all none" -- "$cur")); return ;;
    --format) COMPREPLY=($(compgen -W "perfetto csv svg png" -- "$cur")); return ;;
    --schedule-from) _hvsim_files db; return ;;
    -o) [[ $cmd == explore || $cmd == export ]] && _hvsim_files any || _hvsim_files db; return ;;
    --elf) _hvsim_files any; return ;;
    --out | --report | --merge) _hvsim_files dir; return ;;
    --gva) [[ $cmd == blame ]] && return ;;  # state's --gva is a flag
    --seed | --seeds | --runs | --gdb | --port | --at | --vm | --vcpu | --kind | --from | --to | \
    --mem | --gpa | --len | --max-runs | -j | --jobs | --shard | --time-budget | \
    --metric | --plot)
        return ;;
    esac
    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$opts --no-progress" -- "$cur"))
        return
    fi
    _hvsim_files $files
}
complete -F _hvsim hvsim
