#!/usr/bin/env bash
# Builds the .deb, installs it with apt (as root), and checks what a
# desktop user would meet: the commands run, the desktop file and the
# metainfo validate, MailPay is in the app list and handles mailpay: links,
# the icons are in the theme; then removes and purges it and checks that
# nothing is left. Run as root: bash packaging/deb/test.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
fail() { echo "deb test: $*" >&2; exit 1; }
[[ "$(id -u)" -eq 0 ]] || fail "run as root (it installs a package)"

export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q desktop-file-utils appstream zip >/dev/null
deb="$(bash packaging/deb/build.sh | tail -n 1)"
echo "deb test: installing $deb"
apt-get install -y -q "./$deb" >/dev/null

app=org.mailpay.MailPay
version="$(mailpay --version)"
[[ "$version" == "mailpay $(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)" ]] || fail "mailpay --version said: $version"
mailpay-bank --help | grep -qi "bank" || fail "mailpay-bank --help"
mailpay-merchant --help | grep -qi "merchant" || fail "mailpay-merchant --help"
# Thunderbird's add-on and the host it starts, where Thunderbird looks.
manifest=/usr/lib/mozilla/native-messaging-hosts/org.mailpay.wallet.json
[[ -s "$manifest" ]] || fail "no native-messaging manifest at $manifest"
python3 -c 'import json,sys,os; m=json.load(open(sys.argv[1])); assert m["name"]=="org.mailpay.wallet" and m["allowed_extensions"]==["wallet@mailpay.org"] and os.access(m["path"], os.X_OK), m' "$manifest" \
    || fail "the manifest does not name an executable host for the add-on"
mailpay-thunderbird --version | grep -q "^mailpay-thunderbird " || fail "mailpay-thunderbird --version"
xpi=/usr/share/mailpay/thunderbird/mailpay-wallet.xpi
python3 -c 'import zipfile,sys,json; z=zipfile.ZipFile(sys.argv[1]); assert json.loads(z.read("manifest.json"))["browser_specific_settings"]["gecko"]["id"]=="wallet@mailpay.org"' "$xpi" \
    || fail "no add-on with the id wallet@mailpay.org at $xpi"
desktop-file-validate "/usr/share/applications/$app.desktop"
appstreamcli validate --no-net "/usr/share/metainfo/$app.metainfo.xml" >/dev/null
grep -q "^x-scheme-handler/mailpay=.*$app.desktop" /usr/share/applications/mimeinfo.cache \
    || fail "mailpay: links are not handed to MailPay (mimeinfo.cache)"
for size in 16x16 32x32 48x48 128x128 256x256 512x512; do
    [[ -s "/usr/share/icons/hicolor/$size/apps/$app.png" ]] || fail "no $size icon"
done
[[ -s "/usr/share/icons/hicolor/scalable/apps/$app.svg" ]] || fail "no scalable icon"
for unit in mailpay-bank mailpay-merchant; do
    [[ -s "/usr/lib/systemd/user/$unit.service" ]] || fail "no systemd user unit $unit"
    if command -v systemd-analyze >/dev/null; then
        systemd-analyze verify "/usr/lib/systemd/user/$unit.service"
    fi
done

files="$(dpkg -L mailpay)"
apt-get purge -y -q mailpay >/dev/null
while read -r path; do
    if [[ -f "$path" ]]; then fail "$path is left after purge"; fi
done <<<"$files"
! command -v mailpay >/dev/null || fail "mailpay is still on PATH after purge"
grep -q "$app.desktop" /usr/share/applications/mimeinfo.cache 2>/dev/null && fail "mimeinfo.cache still names MailPay"
echo "deb test: $deb installs, runs, validates and purges cleanly"
