#!/usr/bin/env bash
# Renders the PNG icons of every size desktops ask for from the SVG
# (needs rsvg-convert, Debian package librsvg2-bin). The PNGs are committed;
# run this after changing assets/icons/org.mailpay.MailPay.svg.
set -euo pipefail
cd "$(dirname "$0")/../.."
svg=assets/icons/org.mailpay.MailPay.svg
for size in 16 24 32 48 64 128 256 512; do
    dir="assets/icons/hicolor/${size}x${size}/apps"
    mkdir -p "$dir"
    rsvg-convert -w "$size" -h "$size" "$svg" -o "$dir/org.mailpay.MailPay.png"
done

# The Windows icon: an ICO holding the PNGs (Vista and later read PNG entries).
python3 - <<'PY'
import struct
sizes = [16, 24, 32, 48, 64, 128, 256]
images = [open(f"assets/icons/hicolor/{s}x{s}/apps/org.mailpay.MailPay.png", "rb").read() for s in sizes]
header = struct.pack("<HHH", 0, 1, len(images))
offset = 6 + 16 * len(images)
entries = b""
for size, data in zip(sizes, images):
    dim = 0 if size == 256 else size
    entries += struct.pack("<BBBBHHII", dim, dim, 0, 0, 1, 32, len(data), offset)
    offset += len(data)
with open("packaging/windows/mailpay.ico", "wb") as f:
    f.write(header + entries + b"".join(images))
PY
