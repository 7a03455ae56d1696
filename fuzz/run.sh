#!/usr/bin/env bash
# Bounded fuzzing run for CI: fuzz/run.sh SECONDS
#
# Installs cargo-fuzz if needed, builds every fuzz target once, writes the
# seed corpora, then runs each target for SECONDS seconds. Exits non-zero if
# any target crashes (a panic, an out-of-memory or an input that takes longer
# than the per-input timeout), after printing the failing input and the
# stack. Works from any directory, on stable Rust (see below).
#
# Stable toolchain: cargo-fuzz only needs nightly for the sanitizers
# (-Zsanitizer) and -Zbuild-std. With `--sanitizer none` it passes only
# stable rustc flags (-Cpasses=sancov-module, -Cllvm-args=...), so no
# nightly and no RUSTC_BOOTSTRAP is needed. Safe Rust gains little from
# AddressSanitizer; panics, overflow checks and debug assertions are what
# these targets look for, and they are on for the code under test (see the
# profile in Cargo.toml).
#
# The limits are tight on purpose: no input MailPay reads (at most 4 MiB)
# may need more than 256 MB or 2 s, so a parser whose memory or time grows
# faster than its input fails here as a crash would.
#
# Environment: FUZZ_RSS_LIMIT_MB (default 256), FUZZ_TIMEOUT (seconds one
# input may take, default 2), CARGO_FUZZ_VERSION (default below).
set -euo pipefail

usage() {
    echo "usage: $0 SECONDS   (seconds of fuzzing per target)" >&2
    exit 2
}
[[ $# -eq 1 && $1 =~ ^[1-9][0-9]*$ ]] || usage
duration=$1

cargo_fuzz_version=${CARGO_FUZZ_VERSION:-0.13.2}
rss_limit_mb=${FUZZ_RSS_LIMIT_MB:-256}
input_timeout=${FUZZ_TIMEOUT:-2}

# target:max_len (bytes)
targets=(
    parse_mail:262144
    mail_structure:65536
    scan_block:262144
    values:65536
    board_record:65536
    link:4096
    board_api:4096
)

fuzz_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$fuzz_dir"

if ! command -v cargo >/dev/null && [[ -x ${CARGO_HOME:-$HOME/.cargo}/bin/cargo ]]; then
    PATH=${CARGO_HOME:-$HOME/.cargo}/bin:$PATH
fi
command -v cargo >/dev/null || { echo "error: cargo not found; install Rust stable first" >&2; exit 1; }

# libfuzzer-sys compiles libFuzzer, which is C++.
if ! command -v "${CXX:-c++}" >/dev/null; then
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
        echo "== installing a C++ compiler for libFuzzer (g++)"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends g++ >/dev/null
    else
        echo "error: libFuzzer needs a C++ compiler (${CXX:-c++}); install g++ or clang" >&2
        exit 1
    fi
fi

started=$(date +%s)
if [[ $(cargo fuzz --version 2>/dev/null || true) != "cargo-fuzz $cargo_fuzz_version" ]]; then
    echo "== installing cargo-fuzz $cargo_fuzz_version"
    cargo install cargo-fuzz --version "$cargo_fuzz_version" --locked
fi
installed=$(date +%s)

# Same dependency versions as the main crate; cargo adds what fuzzing needs.
if [[ -f ../Cargo.lock ]]; then
    cp ../Cargo.lock Cargo.lock
fi

triple=$(rustc -vV | sed -n 's/^host: //p')
# -O: release profile of Cargo.toml (optimised, debug assertions and overflow
# checks on for the code under test). --fuzz-dir: this directory, wherever
# it is (cargo-fuzz would otherwise look for it beside the nearest package).
fuzz_flags=(-O --sanitizer none --target "$triple" --fuzz-dir "$fuzz_dir")

echo "== building the fuzz targets"
cargo fuzz build "${fuzz_flags[@]}"
built=$(date +%s)
echo "== cargo-fuzz install: $((installed - started)) s, build: $((built - installed)) s"

# Seeds are regenerated every run; the corpus kept from earlier runs (if any)
# is fuzzed too.
"target/$triple/release/write_seeds" corpus

mkdir -p artifacts/logs
export RUST_BACKTRACE=1
failed=()
summary=()
for entry in "${targets[@]}"; do
    target=${entry%%:*}
    max_len=${entry##*:}
    log=artifacts/logs/$target.log
    echo "== fuzzing $target for $duration s (max_len $max_len)"
    status=0
    cargo fuzz run "${fuzz_flags[@]}" "$target" "corpus/$target" -- \
        -max_total_time="$duration" \
        -max_len="$max_len" \
        -rss_limit_mb="$rss_limit_mb" \
        -timeout="$input_timeout" \
        -print_final_stats=1 \
        >"$log" 2>&1 || status=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    corpus_size=$(find "corpus/$target" -type f | wc -l)
    if [[ $status -eq 0 ]]; then
        summary+=("$(printf '%-13s ok      %12s executions in %s s, corpus %s' "$target" "${execs:-?}" "$duration" "$corpus_size")")
    else
        failed+=("$target")
        summary+=("$(printf '%-13s FAILED  %12s executions before the failure' "$target" "${execs:-?}")")
        echo "!! $target failed (exit $status); log: $fuzz_dir/$log" >&2
        # The input libFuzzer saved, then everything from the first report
        # (panic message and stack, or libFuzzer's own error) to the end.
        grep -E 'Test unit written to|artifact_prefix' "$log" >&2 || true
        awk '/panicked at|ERROR: libFuzzer|==[0-9]+== ?ERROR|ALARM: working on the last Unit|out-of-memory/ { on = 1 } on' "$log" >&2 || true
    fi
done

echo "== summary ($((built - started)) s install and build)"
printf '%s\n' "${summary[@]}"
if [[ ${#failed[@]} -gt 0 ]]; then
    echo "== failed: ${failed[*]} (inputs under $fuzz_dir/artifacts/)" >&2
    exit 1
fi
