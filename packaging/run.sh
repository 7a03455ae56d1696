#!/usr/bin/env bash
# Runs the MailPay desktop wallet from this source tree on Debian/Ubuntu:
# installs the few packages it needs at run time (X11/Wayland keyboard and
# cursor libraries, a Japanese font), builds it, and starts it. With no account set up, it opens on
# the welcome screen, whose "Try the demo" runs a bank and a merchant inside
# the app.
#
#   bash packaging/run.sh [mailpay arguments, e.g. a mailpay: link]
set -euo pipefail
cd "$(dirname "$0")/.."
packages=(libxkbcommon-x11-0 libx11-6 libx11-xcb1 libxcursor1 libxrandr2 libxi6 libwayland-client0 fonts-noto-cjk)
missing=()
for p in "${packages[@]}"; do
    status="$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)"
    [[ "$status" == installed ]] || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "installing ${missing[*]}" >&2
    sudo=()
    [[ "$(id -u)" -eq 0 ]] || sudo=(sudo)
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >&2
fi
exec cargo run --release --bin mailpay -- "$@"
