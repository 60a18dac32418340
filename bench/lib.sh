# bench/lib.sh: sourced first by every bench script of bench/ (not executable itself).
#
#   bench_start NAME LIMIT_S "$@"   puts the script under a time bound: it re-runs itself under
#                                   `timeout` in a process group of its own (setsid), so that
#                                   past LIMIT_S seconds (BENCH_TIMEOUT overrides) everything it
#                                   started, helpers and tools included, gets SIGTERM, then
#                                   SIGKILL 10 s later; exit 124 then, with a message.
#   bench_need TOOL:PACKAGE...      checks, before the bench starts, that every TOOL is on PATH
#                                   (or an absolute path that is executable); names the Debian
#                                   package of each missing one and exits 1.
#   bench_need_py PYTHON MOD:PACKAGE...  the same for Python modules.
# scripts/install-deps installs every package named here.

bench_start() {
    BENCH_NAME=$1
    local limit=${BENCH_TIMEOUT:-$2}
    shift 2
    [[ $limit =~ ^[0-9]+$ && $limit -gt 0 ]] || { echo "$BENCH_NAME: BENCH_TIMEOUT must be seconds > 0" >&2; exit 2; }
    if [[ -z ${BENCH_BOUNDED:-} ]]; then
        export BENCH_BOUNDED=$limit
        local rc=0
        setsid --wait timeout -k 10 "$limit" "$0" "$@" || rc=$?
        if ((rc == 124 || rc == 137)); then
            echo "$BENCH_NAME: stopped after its time bound of ${limit} s (BENCH_TIMEOUT); every process it started was killed" >&2
        fi
        exit "$rc"
    fi
}

# bench_missing WHAT...: exits 1 naming every missing WHAT; nothing when there is none
bench_missing() {
    (($#)) || return 0
    local joined
    joined=$(printf '%s, ' "$@")
    printf '%s: missing before the start: %s; scripts/install-deps installs them\n' "$BENCH_NAME" "${joined%, }" >&2
    exit 1
}

bench_need() {
    local miss=() t tool pkg
    for t in "$@"; do
        tool=${t%%:*}
        pkg=${t#*:}
        if [[ $tool == /* ]]; then [[ -x $tool ]] && continue; else command -v "$tool" >/dev/null && continue; fi
        miss+=("$tool (apt-get install $pkg)")
    done
    bench_missing ${miss[@]+"${miss[@]}"}
}

bench_need_py() {
    local py=$1 miss=() t mod pkg
    shift
    for t in "$@"; do
        mod=${t%%:*}
        pkg=${t#*:}
        "$py" -c "import $mod" 2>/dev/null || miss+=("python module $mod for $py (apt-get install $pkg)")
    done
    bench_missing ${miss[@]+"${miss[@]}"}
}
