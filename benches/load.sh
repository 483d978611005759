#!/usr/bin/env bash
# Load test on loopback: GET /me on
#   tokengate          the axum demo server (Tower layer), verified-token cache on (the default)
#   tokengate-nocache  the same with TOKENGATE_TOKEN_CACHE=0
#   tokengate-alone    the library without the demo: one route, one Tower layer, cache on
#   jwt-authorizer     a minimal axum 0.7 server protected by jwt-authorizer 0.15
#   open               an unprotected axum 0.8 server, same route and JSON shape
#   open-axum07        the same on axum 0.7 (jwt-authorizer's axum)
# each driven in turn by wrk with the same token and connection count, in
# rounds that alternate the variants; prints requests/s, p50/p99 latency and
# each variant's ratio to the unprotected server.
#
# The token issuer is a third axum demo in demo mode (its built-in issuer on
# loopback, not measured); every protected server trusts it and fetches its
# JWK Set over loopback, so all of them accept the same ES256 token.
#
#   benches/load.sh                                   # 10 s per run, 2 rounds, 32 connections, 2 wrk threads
#   LOAD_SECS=5 LOAD_ROUNDS=1 LOAD_CONNECTIONS=64 LOAD_THREADS=1 benches/load.sh
#   LOAD_PIN=1 benches/load.sh      # every server on CPU 1, wrk on CPU 0 (one server core)
#   LOAD_INSTRUCTIONS=1 benches/load.sh  # instead: user-space instructions per request (callgrind)
#
# Unpinned, wrk and the server share every CPU, so the ratios also carry
# wrk's own cost; pinned, the server's core is the bottleneck and a ratio is
# the server's CPU per request, unprotected over protected. Both drift with
# the machine; LOAD_INSTRUCTIONS=1 runs each server under callgrind and
# counts its user-space instructions per request instead (LOAD_SECS of
# `wrk -t1 -c4` after the warm-up), which does not drift: what a protected
# server adds per request, whatever the machine does meanwhile.
#
# Everything listens on 127.0.0.1 only; every wait and every run is bounded
# in time; the servers started here are stopped (by their process ids) on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

SECS=${LOAD_SECS:-10}
ROUNDS=${LOAD_ROUNDS:-2}
CONNS=${LOAD_CONNECTIONS:-32}
THREADS=${LOAD_THREADS:-2}
WARMUP=${LOAD_WARMUP_SECS:-2}
PIN=${LOAD_PIN:-0}
INSTR=${LOAD_INSTRUCTIONS:-0}
[[ "$PIN" =~ ^[01]$ && "$INSTR" =~ ^[01]$ ]] || { echo "LOAD_PIN and LOAD_INSTRUCTIONS are 0 or 1" >&2; exit 2; }
for n in "$SECS" "$ROUNDS" "$CONNS" "$THREADS" "$WARMUP"; do
    [[ "$n" =~ ^[0-9]+$ ]] || { echo "LOAD_* values are whole numbers" >&2; exit 2; }
done
((SECS >= 1 && SECS <= 120 && ROUNDS >= 1 && ROUNDS <= 10 && CONNS >= 1 && CONNS <= 512 && THREADS >= 1 && THREADS <= 8 && WARMUP <= 10)) ||
    { echo "out of bounds: 1-120 s, 1-10 rounds, 1-512 connections, 1-8 threads, warm-up <= 10 s" >&2; exit 2; }
if [ "$INSTR" = 1 ]; then
    # Under callgrind a server runs ~50x slower: a light load is enough.
    THREADS=1 CONNS=4
fi
((CONNS >= THREADS)) || CONNS=$THREADS
SERVER_CPU=()
WRK_CPU=()
if [ "$PIN" = 1 ]; then
    (($(nproc) >= 2)) || { echo "LOAD_PIN=1 needs two CPUs" >&2; exit 2; }
    SERVER_CPU=(taskset -c 1)
    WRK_CPU=(taskset -c 0)
fi

step() { printf '\n==> %s\n' "$*" >&2; }

# need COMMAND PACKAGE: installs the Debian package when the command is missing.
need() {
    command -v "$1" >/dev/null 2>&1 && return
    if [ "$(id -u)" = 0 ]; then
        step "installing $2 (Debian)"
        apt-get update -qq && apt-get install -y -qq "$2" >/dev/null
    else
        echo "$1 is missing: apt-get install $2" >&2
        exit 1
    fi
}
need wrk wrk
[ "$INSTR" = 1 ] && need valgrind valgrind

step "building (release)"
cargo build --release -p tokengate-demo-axum --example axum_server
cargo build --release -p tokengate-benches --example load_server
BIN="${CARGO_TARGET_DIR:-target}/release/examples"

WORK=$(mktemp -d)
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        timeout 15 tail --pid="$pid" -f /dev/null 2>/dev/null || kill -9 "$pid" 2>/dev/null || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT

declare -A ADDR PID_OF
# start NAME COMMAND...: starts a server, waits (at most 30 s) for its
# `listening on http://ADDR` line, and records ADDR[NAME].
start() {
    local name=$1
    shift
    "${SERVER_CPU[@]}" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
    PIDS+=($!)
    PID_OF[$name]=$!
    local pid=$! line=""
    for _ in $(seq 300); do
        line=$(grep -m1 '^listening on http://' "$WORK/$name.out" || true)
        [ -n "$line" ] && break
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "$name exited before listening:" >&2
            cat "$WORK/$name.err" >&2
            exit 1
        fi
        sleep 0.1
    done
    [ -n "$line" ] || { echo "$name did not listen within 30 s" >&2; cat "$WORK/$name.err" >&2; exit 1; }
    ADDR[$name]=${line#listening on http://}
    case "${ADDR[$name]}" in
        127.0.0.1:*) ;;
        *) echo "$name is not on 127.0.0.1: ${ADDR[$name]}" >&2; exit 1 ;;
    esac
    echo "$name on ${ADDR[$name]}" >&2
}

step "starting the servers"
start issuer env TOKENGATE_ADDR=127.0.0.1:0 TOKENGATE_LOG=warn "$BIN/axum_server"
# The demo prints its curl lines right after `listening on`.
for _ in $(seq 100); do
    grep -q "/me -H 'Authorization: Bearer " "$WORK/issuer.out" && break
    sleep 0.1
done
demo_line=$(grep -m1 '^demo issuer ' "$WORK/issuer.out")
ISSUER=$(echo "$demo_line" | awk '{print $3}')
JWKS=$(echo "$demo_line" | sed -n 's/.*(JWK Set \(.*\))$/\1/p')
TOKEN=$(grep -m1 "/me -H 'Authorization: Bearer " "$WORK/issuer.out" | sed -n "s/.*Bearer \([^']*\)'.*/\1/p")
AUDIENCE=https://api.tokengate.demo
[ -n "$ISSUER" ] && [ -n "$JWKS" ] && [ -n "$TOKEN" ] || { echo "could not read the demo's issuer and token" >&2; exit 1; }
case "$ISSUER $JWKS" in
    http://127.0.0.1:*" http://127.0.0.1:"*) ;;
    *) echo "the demo issuer is not on 127.0.0.1" >&2; exit 1 ;;
esac
echo "issuer $ISSUER, token of ${#TOKEN} bytes" >&2

trusting=(TOKENGATE_ADDR=127.0.0.1:0 TOKENGATE_LOG=warn TOKENGATE_ISSUER="$ISSUER" TOKENGATE_AUDIENCE="$AUDIENCE"
    TOKENGATE_JWKS_URL="$JWKS" TOKENGATE_INSECURE_HTTP=1)
# The measured servers (not the issuer) run under callgrind for LOAD_INSTRUCTIONS=1.
UNDER=()
[ "$INSTR" = 1 ] && UNDER=(valgrind --tool=callgrind --callgrind-out-file="$WORK/callgrind.%p")
start tokengate env "${trusting[@]}" "${UNDER[@]}" "$BIN/axum_server"
start tokengate-nocache env "${trusting[@]}" TOKENGATE_TOKEN_CACHE=0 "${UNDER[@]}" "$BIN/axum_server"
start tokengate-alone "${UNDER[@]}" "$BIN/load_server" tokengate 127.0.0.1:0 "$JWKS" "$ISSUER" "$AUDIENCE"
start jwt-authorizer "${UNDER[@]}" "$BIN/load_server" jwt-authorizer 127.0.0.1:0 "$JWKS" "$ISSUER" "$AUDIENCE"
start open "${UNDER[@]}" "$BIN/load_server" open 127.0.0.1:0
start open-axum07 "${UNDER[@]}" "$BIN/load_server" open-axum07 127.0.0.1:0

VARIANTS=(open tokengate tokengate-alone tokengate-nocache jwt-authorizer open-axum07)
PROTECTED=(tokengate tokengate-alone tokengate-nocache jwt-authorizer)

step "checking each server answers the token (and refuses none)"
status() { curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$@" || true; }
for v in "${VARIANTS[@]}"; do
    code=""
    # A protected server may still be fetching the issuer's keys: up to 10 s.
    for _ in $(seq 100); do
        code=$(status -H "Authorization: Bearer $TOKEN" "http://${ADDR[$v]}/me")
        [ "$code" = 200 ] && break
        sleep 0.1
    done
    [ "$code" = 200 ] || { echo "$v answered $code to the token" >&2; exit 1; }
done
for v in "${PROTECTED[@]}"; do
    code=$(status -H "Authorization: Bearer ${TOKEN%??}xx" "http://${ADDR[$v]}/me")
    [ "$code" = 401 ] || { echo "$v answered $code to a forged token" >&2; exit 1; }
done
echo "all answer 200 to the token; the protected ones 401 to a forged one" >&2

# Latency from wrk ("812.00us", "1.20ms", "2.01s") in microseconds.
to_us() {
    awk -v v="$1" 'BEGIN {
        n = v + 0
        if (v ~ /us$/) print n; else if (v ~ /ms$/) print n * 1000; else if (v ~ /s$/) print n * 1000000; else print n
    }'
}

# run VARIANT SECONDS: one wrk run; prints "requests/s p50(us) p99(us)
# socket-errors requests", and fails on a run that is not valid (a non-2xx
# answer, or no answer at all).
run() {
    local out="$WORK/wrk.txt"
    timeout $(($2 + 30)) "${WRK_CPU[@]}" wrk -t"$THREADS" -c"$CONNS" -d"$2"s --latency \
        -H "Authorization: Bearer $TOKEN" "http://${ADDR[$1]}/me" >"$out"
    local rps p50 p99 bad errors requests
    rps=$(awk '/^Requests\/sec:/ {print $2}' "$out")
    p50=$(to_us "$(awk '$1 == "50%" {print $2}' "$out")")
    p99=$(to_us "$(awk '$1 == "99%" {print $2}' "$out")")
    bad=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$out")
    errors=$(awk '/Socket errors:/ {gsub(",", ""); print $4 + $6 + $8 + $10}' "$out")
    requests=$(awk '/requests in/ {print $1}' "$out")
    if [ "${bad:-0}" != 0 ]; then
        echo "$1 answered $bad requests with a non-2xx status: not a valid run" >&2
        return 1
    fi
    if ((${requests:-0} == 0)); then
        echo "$1 answered no request (stopped?): not a valid run" >&2
        return 1
    fi
    echo "$rps $p50 $p99 ${errors:-0} $requests"
}

# The unprotected server a variant is compared with: the one on its axum.
base_of() {
    case "$1" in jwt-authorizer | open-axum07) echo open-axum07 ;; *) echo open ;; esac
}

if [ "$INSTR" = 1 ]; then
    step "user-space instructions per request (callgrind): ${SECS} s of wrk -t$THREADS -c$CONNS each, after ${WARMUP} s of warm-up"
    declare -A PER_REQUEST
    for v in "${VARIANTS[@]}"; do
        pid=${PID_OF[$v]}
        ((WARMUP > 0)) && run "$v" "$WARMUP" >/dev/null
        # Two dumps (each holds what ran since the one before): start-up and
        # warm-up in the first, the measured run in the second. The tool
        # exits 0 even when it reaches no process, so the files are checked.
        timeout 60 callgrind_control -d "$pid" >/dev/null 2>&1
        r=$(run "$v" "$SECS")
        timeout 60 callgrind_control -d "$pid" >/dev/null 2>&1
        dump="$WORK/callgrind.$pid.2"
        [ -f "$WORK/callgrind.$pid.1" ] && [ -f "$dump" ] ||
            { echo "callgrind did not dump $v's counts (pid $pid)" >&2; exit 1; }
        read -r _ _ _ _ requests <<<"$r"
        instructions=$(awk '/^(summary|totals):/ {print $2; exit}' "$dump")
        PER_REQUEST[$v]=$((instructions / requests))
        printf '%-18s %8s requests  %8s instructions per request\n' "$v" "$requests" "${PER_REQUEST[$v]}" >&2
    done
    echo
    echo "GET /me on 127.0.0.1 under callgrind, wrk -t$THREADS -c$CONNS for ${SECS} s per variant: user-space instructions per request (the kernel's not counted)"
    printf '%-18s %14s %26s\n' variant "per request" "over open (same axum)"
    for v in "${VARIANTS[@]}"; do
        base=$(base_of "$v")
        printf '%-18s %14s %+26d\n' "$v" "${PER_REQUEST[$v]}" $((PER_REQUEST[$v] - PER_REQUEST[$base]))
    done
    exit 0
fi

if ((WARMUP > 0)); then
    step "warm-up: ${WARMUP} s each"
    for v in "${VARIANTS[@]}"; do run "$v" "$WARMUP" >/dev/null; done
fi

declare -A RESULTS
for round in $(seq "$ROUNDS"); do
    step "round $round of $ROUNDS: ${SECS} s each, $CONNS connections, $THREADS wrk threads"
    # Each round starts one variant later, so that none is always measured
    # furthest from the unprotected server's run.
    n=${#VARIANTS[@]}
    for i in $(seq 0 $((n - 1))); do
        v=${VARIANTS[$(((i + round - 1) % n))]}
        r=$(run "$v" "$SECS")
        RESULTS[$v]+="$r;"
        read -r rps p50 p99 errors _ <<<"$r"
        printf '%-18s %10.0f req/s  p50 %7.0f µs  p99 %7.0f µs  socket errors %s\n' \
            "$v" "$rps" "$p50" "$p99" "$errors" >&2
    done
done

summary() { # VARIANT -> mean rps, p50, p99 over the rounds
    echo "${RESULTS[$1]}" | tr ';' '\n' | awk 'NF {r += $1; a += $2; b += $3; n++} END {printf "%.0f %.0f %.0f\n", r / n, a / n, b / n}'
}
rps_list() { echo "${RESULTS[$1]}" | tr ';' '\n' | awk 'NF {print $1}'; }
# VARIANT BASE -> "median min max" of the variant's ratio to BASE in each
# round: the machine's speed drifts between runs, and a round's variants run
# within seconds of each other.
round_ratios() {
    paste <(rps_list "$1") <(rps_list "$2") | awk '{print $1 / $2}' | sort -n |
        awk '{a[NR] = $1} END {m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2; printf "%.2f %.2f %.2f\n", m, a[1], a[NR]}'
}
read -r open_rps _ _ <<<"$(summary open)"
echo
if [ "$PIN" = 1 ]; then
    cpus="the server on CPU 1, wrk on CPU 0"
else
    cpus="$(nproc) CPUs shared by wrk and the server"
fi
echo "GET /me on 127.0.0.1, wrk -t$THREADS -c$CONNS, ${ROUNDS} x ${SECS} s per variant (means over rounds); $cpus"
printf '%-18s %12s %10s %10s %14s %18s %24s\n' variant "req/s" "p50 µs" "p99 µs" "vs open" "vs open (same axum)" \
    "per round: median (range)"
for v in "${VARIANTS[@]}"; do
    read -r rps p50 p99 <<<"$(summary "$v")"
    base=$(base_of "$v")
    read -r same _ _ <<<"$(summary "$base")"
    read -r median low high <<<"$(round_ratios "$v" "$base")"
    printf '%-18s %12s %10s %10s %13.2f× %17.2f× %12s× (%s–%s)\n' "$v" "$rps" "$p50" "$p99" \
        "$(echo "$rps $open_rps" | awk '{print $1 / $2}')" "$(echo "$rps $same" | awk '{print $1 / $2}')" \
        "$median" "$low" "$high"
done
