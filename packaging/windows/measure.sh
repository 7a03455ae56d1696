#!/usr/bin/env bash
# The Windows build's figures, next to Linux's: the MSI's size, the size of
# what it installs, and the release wallet's start-up (to its first frame,
# from the start of `ui::run`, and from the process's start to its window
# on the X server) and idle memory (RSS) on the welcome screen, under Wine
# 8.0 + Xvfb and natively on the same Xvfb, five runs each.
#
#   bash packaging/windows/measure.sh
#
# Needs what packaging/windows/build.sh needs, plus wine64, xvfb and
# x11-utils (xwininfo). Under Wine the RSS is the Windows process's Linux
# process, Wine's own libraries included.
set -euo pipefail
cd "$(dirname "$0")/../.."
msi=$(bash packaging/windows/build.sh)
cargo build --release --bin mailpay >&2
linux_bin=target/release/mailpay

work=$(mktemp -d)
display=":${DISPLAY_NUMBER:-96}"
Xvfb "$display" -screen 0 1280x800x24 -nolisten tcp -noreset >/dev/null 2>&1 &
xvfb=$!
export WINEPREFIX="$work/prefix" WINEDEBUG=-all WINEDLLOVERRIDES="winemenubuilder.exe=d;mscoree=d;mshtml=d"
wine=/usr/lib/wine/wine64
trap '/usr/lib/wine/wineserver64 -k 2>/dev/null || true; kill $xvfb 2>/dev/null || true; rm -rf "$work"' EXIT
export LANG=en_US.UTF-8
sleep 1

echo "MSI $(basename "$msi"): $(( $(stat -c %s "$msi") / 1024 )) KiB"
user=$(bash packaging/windows/wine/install.sh "$msi")
installed="$WINEPREFIX/drive_c/users/$user/AppData/Local/Programs/MailPay"
echo "installed: $(du -sk "$installed" | cut -f1) KiB in $(ls "$installed" | wc -l) files" \
     "(mailpay.exe $(( $(stat -c %s "$installed/mailpay.exe") / 1024 )) KiB)"
echo "Linux release mailpay: $(( $(stat -c %s "$linux_bin") / 1024 )) KiB"
exe="C:\\users\\$user\\AppData\\Local\\Programs\\MailPay\\mailpay.exe"

# Milliseconds from now until a window titled "Welcome — MailPay" is on the display.
window_after() { # start (ns)
    until LC_ALL=C.UTF-8 DISPLAY=$display xwininfo -root -children 2>/dev/null | grep -q '"Welcome — MailPay"'; do
        sleep 0.02
    done
    echo $(( ($(date +%s%N) - $1) / 1000000 ))
}
measure() { # label, command...
    for run in 1 2 3 4 5; do
        home="$work/home-$run-$1"
        mkdir -p "$home"
        [ "$1" = wine ] && home="Z:$(echo "$home" | tr / '\\')"
        start=$(date +%s%N)
        MAILPAY_HOME="$home" MAILPAY_STARTUP_REPORT=1 DISPLAY=$display "${@:2}" 2> "$work/err" & app=$!
        shown=$(window_after "$start")
        sleep 5
        rss=$(awk '/VmRSS/ {print $2}' "/proc/$app/status")
        kill $app; wait $app 2>/dev/null || true
        echo "$1 run $run: window after $shown ms, $(grep -o 'first frame [0-9]* ms' "$work/err" | head -n 1)" \
             "after ui::run, idle RSS $((rss / 1024)) MB"
    done
}
# Wine's first window in a prefix lists the host's fonts once: not counted.
MAILPAY_HOME="Z:$(echo "$work/warm" | tr / '\\')" DISPLAY=$display $wine "$exe" 2>/dev/null & app=$!
window_after "$(date +%s%N)" >/dev/null
kill $app; wait $app 2>/dev/null || true
measure wine "$wine" "$exe"
measure linux "$linux_bin"
