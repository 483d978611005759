#!/usr/bin/env bash
# Full validation, wall clock, every implementation of benches/validate.rs
# run in turn in its own process (examples/profile_validate.rs times its own
# loop after an untimed warm-up of a fifth of it, set-up excluded), in rounds that alternate them: on a shared machine
# whose speed drifts from minute to minute, each round compares all of them
# under the same conditions. Prints each one's median over the rounds and
# its ratio to the floor's median.
#
#   benches/ab.sh                  # 7 rounds, ~0.3 s per run
#   AB_ROUNDS=3 AB_ALGS="HS256 ES256" benches/ab.sh
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${AB_ROUNDS:-7}
ALGS=${AB_ALGS:-"HS256 RS256 PS256 ES256 ES384 EdDSA"}
[[ "$ROUNDS" =~ ^[0-9]+$ ]] && ((ROUNDS >= 1 && ROUNDS <= 50)) || { echo "AB_ROUNDS: 1-50" >&2; exit 2; }
IMPLS="floor jsonwebtoken jwt-simple aliri tokengate tokengate-cached"
read -r -a ORDER <<<"$IMPLS"

cargo build --release -p tokengate-benches --example profile_validate >&2
BIN="${CARGO_TARGET_DIR:-target}/release/examples/profile_validate"

# Iterations per run: about 0.3 s of work for the slowest implementation that is not jwt-simple.
iterations() {
    case $1 in
        HS256) echo 60000 ;; RS256 | PS256) echo 6000 ;; ES256) echo 3000 ;; ES384) echo 1000 ;; EdDSA) echo 4000 ;;
    esac
}

OUT=$(mktemp)
trap 'rm -f "$OUT"' EXIT
for alg in $ALGS; do
    n=$(iterations "$alg")
    [ -n "$n" ] || { echo "unknown algorithm $alg" >&2; exit 2; }
    for round in $(seq "$ROUNDS"); do
        # Each round starts one implementation later, so that over the
        # rounds every one runs at every distance from the floor's run.
        for i in "${!ORDER[@]}"; do
            impl=${ORDER[$(((i + round - 1) % ${#ORDER[@]}))]}
            # aliri has no EdDSA: the driver says so and exits 2.
            PROFILE_TIMED=1 timeout 120 "$BIN" "$alg" "$n" "$impl" 2>/dev/null >>"$OUT" || true
        done
        echo "$alg round $round of $ROUNDS" >&2
    done
done

echo "wall clock per validation: median of $ROUNDS alternating rounds, and ratio to the floor's median"
awk -v impls="$IMPLS" -v algs="$ALGS" '
    { times[$2 " " $1] = times[$2 " " $1] " " $3 }
    function median(list,    n, a, i, j, t) {
        n = split(list, a, " ")
        for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
        return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    END {
        ni = split(impls, I, " "); na = split(algs, A, " ")
        printf "%-6s", "alg"; for (i = 1; i <= ni; i++) printf " %24s", I[i]; printf "\n"
        for (a = 1; a <= na; a++) {
            floor = median(times[A[a] " floor"])
            printf "%-6s", A[a]
            for (i = 1; i <= ni; i++) {
                key = A[a] " " I[i]
                if (!(key in times)) { printf " %24s", "-"; continue }
                m = median(times[key])
                printf " %13.2f µs %7.2fx", m / 1000, m / floor
            }
            printf "\n"
        }
        # The same ratios taken within each round (a run over its round'"'"'s
        # floor run, seconds apart), then their median: what drift between
        # rounds cannot move.
        printf "\nratio to the floor within each round: median (lowest-highest)\n"
        printf "%-6s", "alg"; for (i = 1; i <= ni; i++) printf " %24s", I[i]; printf "\n"
        for (a = 1; a <= na; a++) {
            nf = split(times[A[a] " floor"], F, " ")
            printf "%-6s", A[a]
            for (i = 1; i <= ni; i++) {
                key = A[a] " " I[i]
                if (!(key in times) || split(times[key], T, " ") != nf) { printf " %24s", "-"; continue }
                list = ""; low = 0; high = 0
                for (k = 1; k <= nf; k++) {
                    r = T[k] / F[k]; list = list " " r
                    if (k == 1 || r < low) low = r
                    if (k == 1 || r > high) high = r
                }
                printf " %7.2fx (%5.2f-%5.2f)", median(list), low, high
            }
            printf "\n"
        }
    }' "$OUT"
