# Shell helpers shared by run.sh, tls.sh and static.sh; sourced, not run. The caller
# sets bench_name (the prefix of its messages) before sourcing, and keeps
# the servers it starts in the array `pids` and its scratch dir in `tmp`.
# shellcheck shell=bash disable=SC2154 # bench_name, pids, tmp: the caller's

die() {
    echo "$bench_name: FAIL: $*" >&2
    exit 1
}
note() { echo "$bench_name: $*" >&2; }

# ---- the options every benchmark takes
# bench_opt handles one option at "$@": --quick, --out FILE, --secs N,
# --rounds N, -h/--help (the script's opening comment, from $self). It
# sets bench_shift to the words it used, or 0 for an option it does not
# know (the caller's own, or an error). bench_opts_done checks the
# numbers and makes --out's path absolute: the scripts work from the
# repository root, the path is the caller's.
secs=10
rounds=3
out_csv=""
usage_error() {
    echo "$bench_name: $*" >&2
    exit 2
}
bench_opt() {
    bench_shift=1
    case $1 in
    --quick)
        secs=1
        rounds=1
        ;;
    --out | --secs | --rounds)
        [ $# -ge 2 ] || usage_error "$1 needs a value"
        case $1 in
        --out) out_csv=$2 ;;
        --secs) secs=$2 ;;
        --rounds) rounds=$2 ;;
        esac
        bench_shift=2
        ;;
    -h | --help)
        awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$self"
        exit 0
        ;;
    *) bench_shift=0 ;;
    esac
}
absolute() { case $1 in /*) echo "$1" ;; *) echo "$OLDPWD/$1" ;; esac; }
bench_opts_done() {
    [[ $secs =~ ^[1-9][0-9]*$ ]] || usage_error "--secs must be a positive integer"
    [[ $rounds =~ ^[1-9][0-9]*$ ]] || usage_error "--rounds must be a positive integer"
    if [ -n "$out_csv" ]; then out_csv=$(absolute "$out_csv"); fi
}
have() { command -v "$1" >/dev/null 2>&1; }

# Installs Debian packages (needs root). "nginx" means nginx-light where
# Debian still has it (the smallest build with the http core and ssl
# modules), plain nginx elsewhere (Debian 13). The packages' maintainer
# scripts would start system-wide daemons on port 80 where no init system
# stops them: a policy-rc.d forbids that for the install.
apt_install() { # packages...
    [ "$(id -u)" -eq 0 ] || die "missing $*; run as root to install them with apt-get"
    note "installing $* with apt-get"
    apt-get update -qq >/dev/null
    local pkgs=() m policy_added=0 rc=0
    for m in "$@"; do
        if [ "$m" = nginx ] && apt-cache show nginx-light >/dev/null 2>&1; then pkgs+=(nginx-light); else pkgs+=("$m"); fi
    done
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        policy_added=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null || rc=$?
    [ $policy_added -eq 0 ] || rm -f /usr/sbin/policy-rc.d
    [ $rc -eq 0 ] || die "apt-get install ${pkgs[*]} failed"
}

# The process and its descendants (nginx's worker, anything h2o forks).
# Starts the command after the first four arguments pinned to CPU 0, its
# output in DIR/stdout.log and DIR/stderr.log, once nothing answers URL
# (PORT_VAR names the variable that moves the port); sets spid, adds it to
# pids, and waits up to 10 s for URL to answer. Returns 1, with the
# server's output, when it exits first or never answers.
start_pinned() { # name url port_var dir command...
    local name=$1 url=$2 port_var=$3 dir=$4 i
    shift 4
    # Nothing may already answer on the port: we would measure it instead.
    if curl -s -o /dev/null --max-time 1 "$url"; then
        die "${url#http://} is already in use (set $port_var)"
    fi
    taskset -c 0 "$@" >"$dir/stdout.log" 2>"$dir/stderr.log" &
    spid=$!
    pids+=("$spid")
    for ((i = 0; i < 100; i++)); do
        if ! kill -0 "$spid" 2>/dev/null; then
            note "$name exited at start-up; its output:"
            cat "$dir/stdout.log" "$dir/stderr.log" "$dir/error.log" 2>/dev/null | tail -20 >&2
            return 1
        fi
        curl -s -o /dev/null --max-time 1 "$url" && return 0
        sleep 0.1
    done
    note "$name does not answer on $url after 10 s"
    return 1
}

proc_tree() {
    local p=$1 c
    echo "$p"
    for c in $(ps -o pid= --ppid "$p" 2>/dev/null); do proc_tree "$c"; done
}

stop_server() {
    local pid=$1 all p i
    kill -0 "$pid" 2>/dev/null || return 0
    all=$(proc_tree "$pid")
    # shellcheck disable=SC2086
    kill -TERM $all 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    for p in $all; do kill -KILL "$p" 2>/dev/null || true; done
    wait "$pid" 2>/dev/null || true
}

# Stops every server started and removes $tmp (BENCH_KEEP=1 keeps it).
# Installed as the EXIT trap, so Ctrl-C and errors clean up too.
bench_cleanup() {
    local pid
    for pid in "${pids[@]}"; do stop_server "$pid"; done
    if [ "${BENCH_KEEP:-0}" = 1 ]; then note "configs and logs kept in $tmp"; else rm -rf "$tmp"; fi
}
bench_traps() {
    trap bench_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

# Busy and total jiffies of CPU $1: "busy total". Busy is user, nice,
# system, irq and softirq; steal (time the hypervisor gave to someone
# else) is not work done here, so it counts only in the total.
cpu_busy() {
    awk -v c="cpu$1" '$1 == c { print $2 + $3 + $4 + $7 + $8, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9; exit }' /proc/stat
}
share() { # "busy total" before, after -> percent busy
    awk -v a="$1" -v b="$2" 'BEGIN { split(a, x, " "); split(b, y, " "); t = y[2] - x[2];
        printf "%d", (t > 0 ? 100 * (y[1] - x[1]) / t : 0) }'
}
# Busy share (percent) of CPUs 0 and 1 over half a second with no server
# running, as "cpu0 cpu1": anything else on the machine shows up here.
background() {
    local a0 a1 b0 b1
    a0=$(cpu_busy 0)
    a1=$(cpu_busy 1)
    sleep 0.5
    b0=$(cpu_busy 0)
    b1=$(cpu_busy 1)
    printf '%s %s' "$(share "$a0" "$b0")" "$(share "$a1" "$b1")"
}

proc_cpu() { # utime+stime of the process tree, in jiffies
    local p sum=0 v
    for p in $(proc_tree "$1"); do
        # Field 2 (comm) may hold spaces: count from after its ')'.
        v=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | awk '{ print $12 + $13 }' || true)
        sum=$((sum + ${v:-0}))
    done
    echo "$sum"
}

rss_kib() { # pid field: a /proc/PID/status field (VmRSS, VmHWM) summed over the process tree
    local p sum=0 v
    for p in $(proc_tree "$1"); do
        v=$(awk -v f="$2:" '$1 == f { print $2 }' "/proc/$p/status" 2>/dev/null || true)
        sum=$((sum + ${v:-0}))
    done
    echo "$sum"
}
peak_rss_kib() { rss_kib "$1" VmHWM; }

to_ms() { # wrk's "1.23ms" / "456.00us" / "1.02s" -> ms
    awk -v t="$1" 'BEGIN {
        if (t ~ /us$/) { sub(/us$/, "", t); print t / 1000 }
        else if (t ~ /ms$/) { sub(/ms$/, "", t); print t + 0 }
        else if (t ~ /m$/) { sub(/m$/, "", t); print t * 60000 }
        else { sub(/s$/, "", t); print t * 1000 } }'
}

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
