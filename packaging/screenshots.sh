#!/usr/bin/env bash
# Takes a screenshot of each main view of the real wallet under Xvfb and
# writes them to assets/screenshots/. Needs: xvfb, xdotool, x11-apps (xwd),
# keyutils, fonts-noto-cjk, python3, openssl, dnsmasq (and for the picture
# under Wine: wine64, x11-utils and what packaging/windows/build.sh needs).
# The wallet runs on a throw-away folder filled by examples/seed_wallet.rs;
# its inbox points at a closed port, so the side bar shows the watcher
# retrying. The picture of Thunderbird is taken by a test
# (tests/thunderbird.rs) on the test mail stack, which needs root like the
# test suite; SKIP_THUNDERBIRD=1 leaves it out.
#
#   bash packaging/screenshots.sh            # builds release first
#   PROFILE=debug bash packaging/screenshots.sh
set -euo pipefail
cd "$(dirname "$0")/.."
profile="${PROFILE:-release}"
flag=$([ "$profile" = release ] && echo --release || true)
cargo build $flag --bin mailpay --example seed_wallet
target="${CARGO_TARGET_DIR:-target}"
bin="$target/$profile/mailpay"
seed="$target/$profile/examples/seed_wallet"
out=assets/screenshots
mkdir -p "$out"
work=$(mktemp -d)
display=":${DISPLAY_NUMBER:-93}"
Xvfb "$display" -screen 0 1000x720x24 >/dev/null 2>&1 &
xvfb=$!
trap 'kill $xvfb 2>/dev/null || true; rm -rf "$work"' EXIT
export DISPLAY="$display" MAILPAY_KEYRING=keyutils
sleep 1

shot() { xwd -root -silent > "$work/shot.xwd"; python3 packaging/xwd2png.py "$work/shot.xwd" "$out/$1.png"; echo "$out/$1.png"; }
click() { xdotool mousemove "$1" "$2"; sleep 0.2; xdotool click 1; sleep "${3:-1}"; }

# The same wallet as Windows runs it: the MSI of packaging/windows/build.sh
# installed in a throw-away Wine prefix (with the ProcessPrng shim Wine 8.0
# needs) that has no fonts of its own, on a display of its own; the window
# alone is taken. Needs wine64 and what the build needs; SKIP_WINE=1 leaves
# it out; ONLY=wine takes this picture alone (of a freshly seeded wallet).
wine_shot() {
    msi=$(bash packaging/windows/build.sh --profile "$([ "$profile" = debug ] && echo dev || echo release)")
    wine_display=":$(( ${DISPLAY_NUMBER:-93} + 2 ))"
    Xvfb "$wine_display" -screen 0 1280x800x24 >/dev/null 2>&1 & wine_xvfb=$!
    export WINEPREFIX="$work/wine" WINEDEBUG=-all WINEDLLOVERRIDES="winemenubuilder.exe=d;mscoree=d;mshtml=d"
    trap 'kill $xvfb $wine_xvfb 2>/dev/null || true; /usr/lib/wine/wineserver64 -k 2>/dev/null || true; rm -rf "$work"' EXIT
    user=$(bash packaging/windows/wine/install.sh "$msi")
    local exe="C:\\users\\$user\\AppData\\Local\\Programs\\MailPay\\mailpay.exe" home
    home="Z:$(echo "$work/home" | tr / '\\')"
    # The seeded wallet's account, its password in Wine's Credential Manager.
    echo not-a-real-password | MAILPAY_HOME="$home" DISPLAY= /usr/lib/wine/wine64 "$exe" \
        account add taro@example.jp --imap 127.0.0.1:1 --smtp 127.0.0.1:1 >/dev/null
    # Wine's desktop, started without a display for the command above,
    # would keep windows off the screen until it ends.
    /usr/lib/wine/wineserver64 -w
    MAILPAY_HOME="$home" LANG=en_US.UTF-8 DISPLAY="$wine_display" /usr/lib/wine/wine64 "$exe" 2>/dev/null & app=$!
    # The first window of a prefix waits for Wine to list the host's fonts.
    for _ in $(seq 1 600); do
        window=$(LC_ALL=C.UTF-8 DISPLAY="$wine_display" xwininfo -root -children | awk '/"History — MailPay"/ {print $1}')
        [ -n "$window" ] && break
        sleep 0.2
    done
    sleep 3
    DISPLAY="$wine_display" xwd -id "$window" -silent > "$work/shot.xwd"
    python3 packaging/xwd2png.py "$work/shot.xwd" "$out/wine-history.png"; echo "$out/wine-history.png"
    kill $app; wait $app 2>/dev/null || true
}

if [ "${ONLY:-}" = wine ]; then
    "$seed" "$work/home" taro@example.jp 40 >/dev/null
    wine_shot
    exit 0
fi

# Welcome: a wallet with no account.
MAILPAY_HOME="$work/empty" LANG=en_US.UTF-8 "$bin" & app=$!
sleep 3; shot welcome
click 500 467; shot account
# The same screen with "Send and watch: through Thunderbird" and an address.
click 525 165
xdotool windowfocus --sync "$(xdotool search --name MailPay | head -1)"
click 595 97 0.3; xdotool type --delay 40 you@example.com; sleep 1; shot account-thunderbird
kill $app; wait $app 2>/dev/null || true

# The account screen finding the servers: a Gmail address (MailPay's list
# of providers, at once: Sign in with Google), then an address whose
# domain publishes its settings (autoconfig). For that, a DNS server
# (dnsmasq) and an HTTPS server on loopback with a CA of the script's
# own, both named to the wallet (MAILPAY_NAME_SERVER, MAILPAY_AUTOCONFIG_CA).
ac="$work/autoconfig"; mkdir -p "$ac/www/mail"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=MailPay screenshots CA" \
    -keyout "$ac/ca.key" -out "$ac/ca.pem" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=autoconfig.tea-house.test" \
    -keyout "$ac/server.key" -out "$ac/server.csr" 2>/dev/null
printf 'subjectAltName=DNS:autoconfig.tea-house.test,DNS:tea-house.test\n' > "$ac/ext"
openssl x509 -req -in "$ac/server.csr" -CA "$ac/ca.pem" -CAkey "$ac/ca.key" -CAcreateserial -days 2 \
    -extfile "$ac/ext" -out "$ac/server.pem" 2>/dev/null
cat > "$ac/www/mail/config-v1.1.xml" <<'XML'
<?xml version="1.0"?>
<clientConfig version="1.1">
  <emailProvider id="tea-house.test">
    <domain>tea-house.test</domain>
    <displayName>Tea House Mail</displayName>
    <incomingServer type="imap">
      <hostname>imap.tea-house.test</hostname><port>993</port><socketType>SSL</socketType>
      <username>%EMAILADDRESS%</username><authentication>password-cleartext</authentication>
    </incomingServer>
    <outgoingServer type="smtp">
      <hostname>smtp.tea-house.test</hostname><port>465</port><socketType>SSL</socketType>
      <username>%EMAILADDRESS%</username><authentication>password-cleartext</authentication>
    </outgoingServer>
    <documentation url="https://help.tea-house.test/mail-apps">
      <descr lang="en">Turn on "Access from mail apps" in your Tea House Mail settings first.</descr>
    </documentation>
  </emailProvider>
</clientConfig>
XML
python3 - "$ac" >/dev/null 2>&1 <<'PY' & web=$!
import functools, http.server, ssl, sys
root = sys.argv[1]
handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=root + "/www")
server = http.server.ThreadingHTTPServer(("127.0.0.93", 443), handler)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(root + "/server.pem", root + "/server.key")
server.socket = context.wrap_socket(server.socket, server_side=True)
server.serve_forever()
PY
dns_port="${DNS_PORT:-5393}"
dnsmasq --keep-in-foreground --no-resolv --no-hosts --conf-file=/dev/null --listen-address=127.0.0.1 \
    --bind-interfaces --pid-file --user=root --local=/test/ --port="$dns_port" \
    --address=/tea-house.test/127.0.0.93 >/dev/null 2>&1 & dns=$!
trap 'kill $xvfb $web $dns 2>/dev/null || true; rm -rf "$work"' EXIT
MAILPAY_HOME="$work/empty3" LANG=en_US.UTF-8 MAILPAY_NAME_SERVER="127.0.0.1:$dns_port" \
    MAILPAY_AUTOCONFIG_CA="$ac/ca.pem" "$bin" & app=$!
sleep 3
click 500 467
xdotool windowfocus --sync "$(xdotool search --name MailPay | head -1)"
click 595 97 0.3; xdotool type --delay 40 taro@gmail.com; sleep 1; shot account-gmail
xdotool key ctrl+a; xdotool type --delay 40 hanako@tea-house.test; sleep 4; shot account-autoconfig
kill $app; wait $app 2>/dev/null || true
kill $web $dns 2>/dev/null || true

# The demo, clicked through Fig. 1: Try the demo, type an amount, Enter
# (= Pay), Review the bank's confirmation, Approve, see it settled.
MAILPAY_HOME="$work/empty2" LANG=en_US.UTF-8 "$bin" & app=$!
sleep 3
click 500 377 2; shot demo-new-payment
click 550 357 0.3
xdotool windowfocus --sync "$(xdotool search --name MailPay | head -1)"
xdotool type --delay 50 1200; xdotool key Return; sleep 3; shot demo-sent
click 907 23; shot demo-approval
click 320 381 3; click 95 98; shot demo-settled
kill $app; wait $app 2>/dev/null || true

# A wallet with an account and 40 payments over six months (a bar a month
# on the Spending tab), in English then Japanese.
"$seed" "$work/home" taro@example.jp 40 >/dev/null
keyctl session - bash -c "
    set -e
    export MAILPAY_HOME='$work/home'
    echo not-a-real-password | '$bin' account add taro@example.jp --imap 127.0.0.1:1 --smtp 127.0.0.1:1 >/dev/null
    LANG=en_US.UTF-8 '$bin' & app=\$!
    sleep 3
    . /dev/stdin
    kill \$app; wait \$app 2>/dev/null || true
    LANG=ja_JP.UTF-8 '$bin' 'mailpay:yamada@tea.example?bank=settle@bank.example&amount=3240&currency=JPY&ref=%E6%B3%A8%E6%96%87-7' & app=\$!
    sleep 3
    shot new-payment-ja
    kill \$app; wait \$app 2>/dev/null || true
" <<SCRIPT
$(declare -f shot click)
out='$out'; work='$work'
shot history
click 357 72 2; shot history-spending
click 256 72
click 945 186; shot history-detail
click 95 98
click 849 306 2; shot approval
click 95 61; click 399 122 0.3
xdotool windowfocus --sync "\$(xdotool search --name MailPay | head -1)"
xdotool type --delay 50 ex; sleep 1; shot new-payment
click 95 145; shot banks-and-merchants
click 95 192; shot settings
SCRIPT

[ -n "${SKIP_WINE:-}" ] || wine_shot

# The banner on a bank's confirmation inside Thunderbird: the real add-on,
# host and wallet on the test mail stack, Thunderbird on a display of its own.
if [ -z "${SKIP_THUNDERBIRD:-}" ]; then
    tb_display=":$(( ${DISPLAY_NUMBER:-93} + 1 ))"
    Xvfb "$tb_display" -screen 0 1152x800x24 >/dev/null 2>&1 & tb_xvfb=$!
    trap 'kill $xvfb $tb_xvfb 2>/dev/null || true; rm -rf "$work"' EXIT
    MAILPAY_SCREENSHOT_DISPLAY="$tb_display" MAILPAY_SCREENSHOT="$PWD/$out/thunderbird-banner.png" \
        cargo test --test thunderbird -- --ignored --exact screenshot_of_the_banner_in_thunderbird
    echo "$out/thunderbird-banner.png"
fi
