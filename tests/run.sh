#!/usr/bin/env bash
# Runs every MailPay test: the unit, property and corpus tests, the tests
# against a real Postfix + Dovecot (installed from Debian and started on
# loopback by the tests themselves), the Windows build installed and run
# under Wine (tests/windows.rs, which cross-builds it), the Debian package's
# install test, and a bounded fuzzing run.
#
#   bash tests/run.sh            # everything
#   FUZZ_SECONDS=0 bash tests/run.sh   # skip fuzzing
set -euo pipefail
cd "$(dirname "$0")/.."

# The real mail stack needs Debian packages; install them once, up front.
if [ "$(id -u)" -eq 0 ]; then
    bash tests/mailstack/mailstack.sh install
else
    sudo bash tests/mailstack/mailstack.sh install
fi

# The GUI tests render headless with the software renderer.
export ICED_TEST_BACKEND=tiny-skia
cargo test --all-targets
cargo test --doc

# The Debian package: built, installed, checked and purged.
if [ "$(id -u)" -eq 0 ]; then
    bash packaging/deb/test.sh
else
    sudo --preserve-env=PATH,CARGO_HOME,RUSTUP_HOME bash packaging/deb/test.sh
fi

fuzz_seconds="${FUZZ_SECONDS:-30}"
if [ "$fuzz_seconds" -gt 0 ]; then
    bash fuzz/run.sh "$fuzz_seconds"
fi
