#!/usr/bin/env bash
# Start-up time to the first frame (from the start of `ui::run`) and idle memory of the release wallet
# under Xvfb (software rendering, tiny-skia), on the welcome screen and on
# New payment opened from a link on a wallet with 40 payments; then the history over 100,000 payments
# (medians: text search by the FTS5 index and by a LIKE scan, by state, both, and the spending overview);
# then background mode: CPU time and RSS of the wallet without its window.
#
#   bash packaging/measure.sh
#   MEASURE_ONLY=background MEASURE_IDLE_SECONDS=60 bash packaging/measure.sh
#
# MEASURE_ONLY=background: background mode alone. MEASURE_IDLE_SECONDS: how
# long background mode is watched (600). MEASURE_HOME: the wallet measured in
# background mode (one with mail accounts has its IMAP watchers idle too);
# the seeded one by default. MAILPAY_BIN: a mailpay already built (and
# CARGO_TARGET_DIR for the seeding example), instead of the release build.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-target}
if [ -z "${MAILPAY_BIN:-}" ]; then
    cargo build --release --bin mailpay --example seed_wallet
    bin=$target/release/mailpay
    examples=$target/release/examples
else
    cargo build --example seed_wallet
    bin=$MAILPAY_BIN
    examples=$target/debug/examples
fi
work=$(mktemp -d)
display=":${DISPLAY_NUMBER:-94}"
Xvfb "$display" -screen 0 1000x720x24 >/dev/null 2>&1 &
xvfb=$!
trap 'kill $xvfb 2>/dev/null || true; rm -rf "$work"' EXIT
export DISPLAY="$display" LANG=en_US.UTF-8
sleep 1
"$examples/seed_wallet" "$work/full" >/dev/null

measure() { # label, home, arguments
    for run in 1 2 3 4 5; do
        MAILPAY_HOME="$2" MAILPAY_STARTUP_REPORT=1 "$bin" "${@:3}" 2> "$work/err" & app=$!
        sleep 6
        rss=$(awk '/VmRSS/ {print $2}' "/proc/$app/status")
        kill $app; wait $app 2>/dev/null || true
        echo "$1 run $run: $(grep -o 'first frame [0-9]* ms' "$work/err"), idle RSS $((rss / 1024)) MB"
    done
}
# Background mode: the wallet started without its window, as at login
# (`--background`; the same state as after its window is closed): its CPU
# time (utime + stime of /proc/PID/stat) and RSS over the period.
background() { # home
    local seconds=${MEASURE_IDLE_SECONDS:-600} ticks peak=0 elapsed=0 rss cpu0 cpu1
    ticks=$(getconf CLK_TCK)
    MAILPAY_HOME="$1" "$bin" --background 2> "$work/background-err" & app=$!
    sleep 5
    cpu0=$(awk '{print $14 + $15}' "/proc/$app/stat")
    while [ "$elapsed" -lt "$seconds" ]; do
        step=$(( seconds - elapsed < 10 ? seconds - elapsed : 10 ))
        sleep "$step"; elapsed=$((elapsed + step))
        rss=$(awk '/VmRSS/ {print $2}' "/proc/$app/status")
        [ "$rss" -gt "$peak" ] && peak=$rss
    done
    cpu1=$(awk '{print $14 + $15}' "/proc/$app/stat")
    kill $app; wait $app 2>/dev/null || true
    local ms=$(( (cpu1 - cpu0) * 1000 / ticks ))
    echo "background mode (no window) over ${seconds} s: CPU ${ms} ms" \
         "($(awk -v ms="$ms" -v s="$seconds" 'BEGIN {printf "%.3f", ms / (s * 10)}') % of one core)," \
         "RSS $((rss / 1024)) MB at the end, peak $((peak / 1024)) MB"
}
if [ "${MEASURE_ONLY:-}" != background ]; then
    measure welcome "$work/empty"
    measure new-payment-from-link "$work/full" 'mailpay:yamada@tea.example?amount=3240&currency=JPY'
    cargo test --release --lib filters_100_000 -- --nocapture 2>&1 | grep '100,000 payments'
fi
background "${MEASURE_HOME:-$work/full}"
