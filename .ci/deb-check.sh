#!/usr/bin/env bash
# Build the ClassChat .deb, install it, check what it installed (the serve unit with
# `systemd-analyze verify`), start the installed GUI under Xvfb for a few seconds, then remove
# the package.
#
# Needs root (apt-get). The caller installs these Debian packages first:
#   xvfb desktop-file-utils appstream systemd
# cargo-deb is installed from crates.io here if `cargo deb` is missing.
#
# Environment:
#   DEB_CHECK_SECONDS  how long the GUI must stay up (default 5)
#   DEB_PROFILE        cargo profile to package (default release, built here). With another
#                      profile the binary must already be built (CI packages the binary that
#                      `cargo test` built, which checks the packaging without a second, optimised
#                      build of everything).
set -euo pipefail

cd "$(dirname "$0")/.."

app_id="io.github.classchat.ClassChat"
seconds="${DEB_CHECK_SECONDS:-5}"

log() { printf '\n==> %s\n' "$*"; }

work="$(mktemp -d)"
xvfb_pid=""
app_pid=""
installed=0
cleanup() {
    status=$?
    if [ -n "$app_pid" ] && kill -0 "$app_pid" 2>/dev/null; then
        kill "$app_pid" 2>/dev/null || true
        wait "$app_pid" 2>/dev/null || true
    fi
    if [ -n "$xvfb_pid" ] && kill -0 "$xvfb_pid" 2>/dev/null; then
        kill "$xvfb_pid" 2>/dev/null || true
        wait "$xvfb_pid" 2>/dev/null || true
    fi
    if [ "$installed" = 1 ]; then
        apt-get remove -y classchat >/dev/null 2>&1 || true
    fi
    rm -rf "$work"
    if [ "$status" -ne 0 ]; then
        echo "deb-check: FAILED" >&2
    fi
    exit "$status"
}
trap cleanup EXIT

for tool in Xvfb desktop-file-validate appstreamcli systemd-analyze; do
    if ! command -v "$tool" >/dev/null; then
        echo "missing $tool: apt-get install -y xvfb desktop-file-utils appstream systemd" >&2
        exit 1
    fi
done

log "cargo-deb"
if ! cargo deb --version >/dev/null 2>&1; then
    # Pinned: packaging a non-release profile is deprecated in cargo-deb.
    cargo install cargo-deb --version 3.8.0 --locked
fi
cargo deb --version

profile="${DEB_PROFILE:-release}"
log "building the .deb ($profile profile)"
rm -f target/debian/classchat_*.deb
if [ "$profile" = release ]; then
    cargo deb --locked --output target/debian/
else
    cargo deb --locked --profile "$profile" --no-build --output target/debian/
fi
deb="$(ls target/debian/classchat_*.deb)"
echo "$deb"
dpkg-deb --info "$deb"
dpkg-deb --contents "$deb"

log "installing $deb"
export DEBIAN_FRONTEND=noninteractive
apt-get install -y "./$deb"
installed=1

log "classchat --version"
version_out="$(classchat --version)"
echo "$version_out"
expected_version="$(dpkg-query -W -f='${Version}' classchat)"
case "$version_out" in
    *"${expected_version%%-*}"*) ;;
    *) echo "classchat --version does not mention $expected_version" >&2; exit 1 ;;
esac

log "installed files"
desktop="/usr/share/applications/$app_id.desktop"
metainfo="/usr/share/metainfo/$app_id.metainfo.xml"
required=(
    /usr/bin/classchat
    "$desktop"
    "$metainfo"
    /usr/share/icons/hicolor/scalable/apps/classchat.svg
    /usr/share/doc/classchat/NotoSansCJKjp-OFL.txt
)
for n in 16 24 32 48 64 128 256 512; do
    required+=("/usr/share/icons/hicolor/${n}x${n}/apps/classchat.png")
done
for f in "${required[@]}"; do
    if [ ! -s "$f" ]; then
        echo "missing or empty: $f" >&2
        exit 1
    fi
    echo "ok  $f"
done
if ! grep -qx 'Exec=classchat' "$desktop" || ! grep -qx 'Icon=classchat' "$desktop"; then
    echo "$desktop: unexpected Exec= or Icon=" >&2
    exit 1
fi

log "the classchat-serve unit: installed, not enabled, and systemd-analyze verify finds nothing"
unit=/usr/lib/systemd/system/classchat-serve.service
if [ ! -s "$unit" ] || [ ! -s /etc/default/classchat-serve ]; then
    echo "missing $unit or /etc/default/classchat-serve" >&2
    exit 1
fi
if [ -e /etc/systemd/system/multi-user.target.wants/classchat-serve.service ]; then
    echo "installing the package enabled classchat-serve; it must stay off until asked for" >&2
    exit 1
fi
# `verify` exits 0 on warnings: any line about the unit fails the check.
verify_status=0
systemd-analyze verify "$unit" >"$work/verify.log" 2>&1 || verify_status=$?
cat "$work/verify.log"
if [ "$verify_status" -ne 0 ] || grep -q 'classchat' "$work/verify.log"; then
    echo "systemd-analyze verify $unit: not clean (status $verify_status)" >&2
    exit 1
fi
echo "ok  $unit"

log "desktop-file-validate $desktop"
desktop-file-validate "$desktop"

log "appstreamcli validate --no-net $metainfo"
appstreamcli validate --no-net "$metainfo"

log "starting classchat under Xvfb for ${seconds}s"
runtime_dir="$work/runtime"
mkdir -m 0700 "$runtime_dir"
mkdir -p "$work/config" "$work/data" "$work/cache"
# -displayfd: Xvfb picks a free display number and writes it to fd 3.
Xvfb -displayfd 3 -screen 0 1280x800x24 -nolisten tcp 3>"$work/display" \
    >"$work/xvfb.log" 2>&1 &
xvfb_pid=$!
for _ in $(seq 1 100); do
    [ -s "$work/display" ] && break
    sleep 0.1
done
if [ ! -s "$work/display" ]; then
    echo "Xvfb did not start:" >&2
    cat "$work/xvfb.log" >&2
    exit 1
fi
display=":$(head -n 1 "$work/display")"
echo "Xvfb on $display"

env -u WAYLAND_DISPLAY \
    DISPLAY="$display" \
    XDG_RUNTIME_DIR="$runtime_dir" \
    XDG_CONFIG_HOME="$work/config" \
    XDG_DATA_HOME="$work/data" \
    XDG_CACHE_HOME="$work/cache" \
    LIBGL_ALWAYS_SOFTWARE=1 \
    RUST_BACKTRACE=1 \
    classchat >"$work/classchat.log" 2>&1 &
app_pid=$!
sleep "$seconds"

if ! kill -0 "$app_pid" 2>/dev/null; then
    app_status=0
    wait "$app_pid" || app_status=$?
    app_pid=""
    echo "classchat exited within ${seconds}s (status $app_status); its output:" >&2
    cat "$work/classchat.log" >&2
    exit 1
fi
echo "classchat (pid $app_pid) is still running after ${seconds}s"
if command -v xwininfo >/dev/null; then
    xwininfo -display "$display" -root -tree | grep -i classchat || true
fi
kill "$app_pid"
wait "$app_pid" 2>/dev/null || true
app_pid=""
if [ -s "$work/classchat.log" ]; then
    echo "--- classchat output ---"
    tail -n 40 "$work/classchat.log"
fi

log "removing the package"
apt-get remove -y classchat
installed=0
if [ -e /usr/bin/classchat ] || [ -e "$desktop" ] || [ -e "$unit" ]; then
    echo "files left behind after apt-get remove" >&2
    exit 1
fi

echo
echo "deb-check: OK"
