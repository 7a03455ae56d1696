#!/usr/bin/env bash
# Builds the MailPay add-on for Thunderbird (packaging/thunderbird/addon) into
# an .xpi, reproducibly: the same sources give the same bytes (fixed file
# order, fixed times and modes, no extra zip fields).
#
#   bash packaging/thunderbird/build.sh [OUT]   # prints the path of the .xpi last
#
# OUT defaults to target/thunderbird/mailpay-wallet.xpi. The times written
# are SOURCE_DATE_EPOCH's when it is set, else 2024-01-01 00:00 UTC. Needs
# zip (Debian package zip).
set -euo pipefail
cd "$(dirname "$0")/../.."
src=packaging/thunderbird/addon
out="${1:-target/thunderbird/mailpay-wallet.xpi}"
command -v zip >/dev/null 2>&1 || { echo "build.sh: zip is not installed (apt-get install zip)" >&2; exit 1; }
[[ -f "$src/manifest.json" ]] || { echo "build.sh: $src/manifest.json is missing" >&2; exit 1; }

if [[ -n "${SOURCE_DATE_EPOCH:-}" ]]; then
    stamp="@${SOURCE_DATE_EPOCH}"
else
    stamp="2024-01-01 00:00:00"
fi

mkdir -p "$(dirname "$out")"
out="$(cd "$(dirname "$out")" && pwd)/$(basename "$out")"
stage="$(mktemp -d "${TMPDIR:-/tmp}/mailpay-xpi.XXXXXX")"
trap 'rm -rf -- "$stage" "$stage.list"' EXIT

# A copy, so that the sources keep their own times and modes.
cp -R "$src/." "$stage/"
find "$stage" -type d -exec chmod 0755 {} +
find "$stage" -type f -exec chmod 0644 {} +
find "$stage" -exec env TZ=UTC touch -h -d "$stamp" {} +

# manifest.json first, then every other file in byte order of its path.
(
    cd "$stage"
    {
        echo manifest.json
        find . -type f ! -path ./manifest.json -printf '%P\n' | LC_ALL=C sort
    } >"$stage.list"
    rm -f "$out.tmp"
    TZ=UTC zip -q -X -D -9 "$out.tmp" -@ <"$stage.list"
)
rm -f "$stage.list"
mv -f "$out.tmp" "$out"
echo "$out"
