#!/usr/bin/env bash
# Start-up time to the first frame (from the start of `ui::run`) and idle memory of the release wallet
# under Xvfb (software rendering, tiny-skia), on the welcome screen and on
# New payment opened from a link on a wallet with 40 payments; then the history over 100,000 payments
# (medians: text search by the FTS5 index and by a LIKE scan, by state, both, and the spending overview).
#
#   bash packaging/measure.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --bin mailpay --example seed_wallet
bin=target/release/mailpay
work=$(mktemp -d)
display=":${DISPLAY_NUMBER:-94}"
Xvfb "$display" -screen 0 1000x720x24 >/dev/null 2>&1 &
xvfb=$!
trap 'kill $xvfb 2>/dev/null || true; rm -rf "$work"' EXIT
export DISPLAY="$display" LANG=en_US.UTF-8
sleep 1
target/release/examples/seed_wallet "$work/full" >/dev/null

measure() { # label, home, arguments
    for run in 1 2 3 4 5; do
        MAILPAY_HOME="$2" MAILPAY_STARTUP_REPORT=1 "$bin" "${@:3}" 2> "$work/err" & app=$!
        sleep 6
        rss=$(awk '/VmRSS/ {print $2}' "/proc/$app/status")
        kill $app; wait $app 2>/dev/null || true
        echo "$1 run $run: $(grep -o 'first frame [0-9]* ms' "$work/err"), idle RSS $((rss / 1024)) MB"
    done
}
measure welcome "$work/empty"
measure new-payment-from-link "$work/full" 'mailpay:yamada@tea.example?amount=3240&currency=JPY'
cargo test --release --lib filters_100_000 -- --nocapture 2>&1 | grep '100,000 payments'
