# The preamble shared by the scripts that drive the real window under Xvfb (screenshots.sh,
# app-bench.sh). Source it after `set -euo pipefail`, with SCRIPT set to the script's name:
#
#   SCRIPT=app-bench
#   source "$(dirname "$0")/lib.sh" "$@"
#
# It moves to the repository root and leaves: ROOT; BIN, the binary given as $1 or a freshly
# built release one; WORK, a temporary directory removed on exit; PIDS, processes killed on exit
# (last started first); fail, need_tools and free_port; and a fresh environment (no saved
# settings, a private runtime dir, which also quiets Mesa).

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)

BIN=${1:-}
if [[ -z "$BIN" ]]; then
    cargo build --release --bin classchat
    BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/classchat"
fi
BIN=$(realpath "$BIN")
[[ -x "$BIN" ]] || { echo "$SCRIPT: no executable at $BIN" >&2; exit 2; }

fail() { echo "$SCRIPT: $*" >&2; exit 1; }

# Exits with 2 unless every named tool is on PATH.
need_tools() {
    local tool
    for tool in "$@"; do
        command -v "$tool" >/dev/null || {
            echo "$SCRIPT: $tool is missing (Debian: apt-get install xvfb imagemagick xdotool)" >&2
            exit 2
        }
    done
}

# A free TCP port on 127.0.0.1, or $1 when python3 is missing.
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' \
        2>/dev/null || echo "$1"
}

WORK=$(mktemp -d)
PIDS=()

cleanup() {
    local status=$?
    exec 3>&- 4>&- 2>/dev/null || true
    for (( i=${#PIDS[@]}-1; i>=0; i-- )); do
        kill "${PIDS[i]}" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$WORK"
    exit "$status"
}
trap cleanup EXIT INT TERM

export XDG_RUNTIME_DIR="$WORK/runtime"
mkdir -m 0700 "$XDG_RUNTIME_DIR"
export XDG_DATA_HOME="$WORK/data" XDG_CONFIG_HOME="$WORK/config" XDG_CACHE_HOME="$WORK/cache"
export LANG=C.UTF-8
unset WAYLAND_DISPLAY
