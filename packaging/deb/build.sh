#!/usr/bin/env bash
# Builds the Debian package of MailPay (the wallet, its Thunderbird add-on
# and native-messaging host, the bank and merchant agents, the desktop
# file, icons, AppStream metainfo and systemd user units; see
# [package.metadata.deb] in Cargo.toml):
#
#   bash packaging/deb/build.sh        # prints the path of the .deb last
#
# Installs cargo-deb first if this version is not there.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo_deb_version=3.8.0
if [[ "$(cargo deb --version 2>/dev/null || true)" != *"$cargo_deb_version"* ]]; then
    cargo install cargo-deb --locked --version "$cargo_deb_version" >&2
fi
# The Thunderbird add-on goes into the package as an .xpi.
bash packaging/thunderbird/build.sh >&2
cargo deb --locked >&2
version="$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)"
arch="$(dpkg --print-architecture)"
deb="target/debian/mailpay_${version}-1_${arch}.deb"
[[ -f "$deb" ]] || { echo "cargo deb did not make $deb" >&2; ls target/debian >&2; exit 1; }
echo "$deb"
