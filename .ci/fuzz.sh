#!/usr/bin/env bash
# Fuzzes every parser of untrusted input for a bounded time (FUZZ_SECONDS each, default 20).
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds="${FUZZ_SECONDS:-20}"
if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi
export RUSTC_BOOTSTRAP=1
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
for target in addressed client_json server_json join_address; do
    # New inputs go to a scratch corpus so the committed seeds stay as they are.
    mkdir -p "$work/$target"
    # No sanitizer: the parsers are safe Rust, and coverage-guided fuzzing is what finds bugs
    # here (panics, wrong acceptance); ASan would only slow the build and the runs.
    cargo fuzz run --sanitizer none "$target" "$work/$target" corpus/"$target" -- \
        -max_total_time="$seconds" -max_len=4096
done
