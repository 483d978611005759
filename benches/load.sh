#!/usr/bin/env bash
# Load test on loopback: GET /me on
#   tokengate          the axum demo server (Tower layer), verified-token cache on (the default)
#   tokengate-nocache  the same with TOKENGATE_TOKEN_CACHE=0
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
for n in "$SECS" "$ROUNDS" "$CONNS" "$THREADS" "$WARMUP"; do
    [[ "$n" =~ ^[0-9]+$ ]] || { echo "LOAD_* values are whole numbers" >&2; exit 2; }
done
((SECS >= 1 && SECS <= 120 && ROUNDS >= 1 && ROUNDS <= 5 && CONNS >= 1 && CONNS <= 512 && THREADS >= 1 && THREADS <= 8 && WARMUP <= 10)) ||
    { echo "out of bounds: 1-120 s, 1-5 rounds, 1-512 connections, 1-8 threads, warm-up <= 10 s" >&2; exit 2; }
((CONNS >= THREADS)) || CONNS=$THREADS

step() { printf '\n==> %s\n' "$*" >&2; }

if ! command -v wrk >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then
        step "installing wrk (Debian)"
        apt-get update -qq && apt-get install -y -qq wrk >/dev/null
    else
        echo "wrk is missing: apt-get install wrk" >&2
        exit 1
    fi
fi

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

declare -A ADDR
# start NAME COMMAND...: starts a server, waits (at most 30 s) for its
# `listening on http://ADDR` line, and records ADDR[NAME].
start() {
    local name=$1
    shift
    "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
    PIDS+=($!)
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
start tokengate env "${trusting[@]}" "$BIN/axum_server"
start tokengate-nocache env "${trusting[@]}" TOKENGATE_TOKEN_CACHE=0 "$BIN/axum_server"
start jwt-authorizer "$BIN/load_server" jwt-authorizer 127.0.0.1:0 "$JWKS" "$ISSUER" "$AUDIENCE"
start open "$BIN/load_server" open 127.0.0.1:0
start open-axum07 "$BIN/load_server" open-axum07 127.0.0.1:0

VARIANTS=(open tokengate tokengate-nocache jwt-authorizer open-axum07)
PROTECTED=(tokengate tokengate-nocache jwt-authorizer)

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

# run VARIANT SECONDS: one wrk run; prints "requests/s p50(us) p99(us) non-2xx errors".
run() {
    local out="$WORK/wrk.txt"
    timeout $(($2 + 30)) wrk -t"$THREADS" -c"$CONNS" -d"$2"s --latency \
        -H "Authorization: Bearer $TOKEN" "http://${ADDR[$1]}/me" >"$out"
    local rps p50 p99 bad errors
    rps=$(awk '/^Requests\/sec:/ {print $2}' "$out")
    p50=$(to_us "$(awk '$1 == "50%" {print $2}' "$out")")
    p99=$(to_us "$(awk '$1 == "99%" {print $2}' "$out")")
    bad=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$out")
    errors=$(awk '/Socket errors:/ {gsub(",", ""); print $4 + $6 + $8 + $10}' "$out")
    echo "$rps $p50 $p99 ${bad:-0} ${errors:-0}"
}

if ((WARMUP > 0)); then
    step "warm-up: ${WARMUP} s each"
    for v in "${VARIANTS[@]}"; do run "$v" "$WARMUP" >/dev/null; done
fi

declare -A RESULTS
for round in $(seq "$ROUNDS"); do
    step "round $round of $ROUNDS: ${SECS} s each, $CONNS connections, $THREADS wrk threads"
    for v in "${VARIANTS[@]}"; do
        r=$(run "$v" "$SECS")
        RESULTS[$v]+="$r;"
        read -r rps p50 p99 bad errors <<<"$r"
        printf '%-18s %10.0f req/s  p50 %7.0f µs  p99 %7.0f µs  non-2xx %s  socket errors %s\n' \
            "$v" "$rps" "$p50" "$p99" "$bad" "$errors" >&2
        if [ "$bad" != 0 ]; then
            echo "$v answered $bad requests with a non-2xx status: not a valid run" >&2
            exit 1
        fi
    done
done

summary() { # VARIANT -> mean rps, p50, p99 over the rounds
    echo "${RESULTS[$1]}" | tr ';' '\n' | awk 'NF {r += $1; a += $2; b += $3; n++} END {printf "%.0f %.0f %.0f\n", r / n, a / n, b / n}'
}
read -r open_rps _ _ <<<"$(summary open)"
read -r open07_rps _ _ <<<"$(summary open-axum07)"
echo
echo "GET /me on 127.0.0.1, wrk -t$THREADS -c$CONNS, ${ROUNDS} x ${SECS} s per variant (means over rounds); $(nproc) CPUs shared by wrk and the server"
printf '%-18s %12s %10s %10s %14s %18s\n' variant "req/s" "p50 µs" "p99 µs" "vs open" "vs open (same axum)"
for v in "${VARIANTS[@]}"; do
    read -r rps p50 p99 <<<"$(summary "$v")"
    same=$open_rps
    case "$v" in jwt-authorizer | open-axum07) same=$open07_rps ;; esac
    printf '%-18s %12s %10s %10s %13.2f× %17.2f×\n' "$v" "$rps" "$p50" "$p99" \
        "$(echo "$rps $open_rps" | awk '{print $1 / $2}')" "$(echo "$rps $same" | awk '{print $1 / $2}')"
done
