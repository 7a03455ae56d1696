#!/usr/bin/env bash
# Builds MailPay for 64-bit Windows on Debian, and its per-user installer:
#
#   bash packaging/windows/build.sh                 # release build
#   bash packaging/windows/build.sh --profile dev   # the faster build the tests install
#
# Prints the .msi's path last: target/windows/<profile>/mailpay-<version>-x86_64.msi.
# MSI_VERSION=0.1.1 gives the installer another version (the upgrade test).
#
# Cross-compiles with mingw-w64 (rustup's x86_64-pc-windows-gnu target and
# Debian's gcc-mingw-w64-x86-64, whose windres compiles the icon and version
# information, see build.rs) and packs the MSI with wixl (Debian's wixl) from
# packaging/windows/main.wxs. Installs those first when they are missing
# (apt-get as root, or through sudo).
#
# Beside the MSI it builds wine/bcryptprimitives.dll, the ProcessPrng shim
# that Wine 8.0 (Debian 12) needs to start any Rust program; it is for Wine
# prefixes only and never goes into the MSI (packaging/windows/wine/).
set -euo pipefail
cd "$(dirname "$0")/../.."

profile=release
while [[ $# -gt 0 ]]; do
    case "$1" in
        --profile) profile="$2"; shift 2 ;;
        *) echo "usage: $0 [--profile release|dev]" >&2; exit 2 ;;
    esac
done
target=x86_64-pc-windows-gnu

missing=()
command -v x86_64-w64-mingw32-gcc > /dev/null || missing+=(gcc-mingw-w64-x86-64)
command -v wixl > /dev/null || missing+=(wixl)
if [[ ${#missing[@]} -gt 0 ]]; then
    sudo=()
    [[ "$(id -u)" -eq 0 ]] || sudo=(sudo)
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >&2 \
        || { "${sudo[@]}" apt-get update -q >&2 && "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >&2; }
fi
if ! rustup target list --installed | grep -qx "$target"; then
    rustup target add "$target" >&2
fi

# Code for Windows only is compiled here alone: its warnings fail the
# build, as clippy's do for Linux in CI.
CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUSTFLAGS="${CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUSTFLAGS:--D warnings}" \
    cargo build --locked --target "$target" --profile "$profile" --bins >&2
case "$profile" in
    dev) built="target/$target/debug" ;;
    *) built="target/$target/$profile" ;;
esac

version="${MSI_VERSION:-$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)}"
out="target/windows/$profile"
stage="$out/stage"
rm -rf "$stage"
mkdir -p "$stage" "$out/wine"
for program in mailpay-wallet mailpay mailpay-thunderbird mailpay-bank mailpay-merchant; do
    # The installer carries the programs without their symbol tables and
    # line tables (a quarter of a release program); the build folder keeps
    # them for backtraces.
    x86_64-w64-mingw32-strip --strip-all -o "$stage/$program.exe" "$built/$program.exe"
done
cp packaging/windows/mailpay.ico "$stage/"
cp packaging/windows/org.mailpay.wallet.json "$stage/"
cp LICENSE "$stage/LICENSE.txt"

x86_64-w64-mingw32-gcc -shared -O2 -s -o "$out/wine/bcryptprimitives.dll" \
    packaging/windows/wine/bcryptprimitives.c packaging/windows/wine/bcryptprimitives.def -ladvapi32

msi="$out/mailpay-$version-x86_64.msi"
wixl --arch x64 -D "Version=$version" -D "Stage=$stage" -o "$msi" packaging/windows/main.wxs >&2
echo "$msi"
