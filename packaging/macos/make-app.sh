#!/usr/bin/env bash
# Assemble ClassChat.app from a built classchat binary. Run it on macOS.
#
# Usage (from anywhere):
#   packaging/macos/make-app.sh [BINARY ...]
#
#   BINARY   the built executable(s); default: target/release/classchat.
#            Pass two (e.g. the aarch64 and x86_64 builds) to make a
#            universal app with lipo.
#
# Environment:
#   OUT_DIR  where ClassChat.app and the .zip go; default: target/macos
#
# Typical build on a Mac (Xcode command line tools + rustup):
#   export MACOSX_DEPLOYMENT_TARGET=11.0      # matches LSMinimumSystemVersion
#   rustup target add aarch64-apple-darwin x86_64-apple-darwin
#   cargo build --release --target aarch64-apple-darwin
#   cargo build --release --target x86_64-apple-darwin
#   packaging/macos/make-app.sh \
#       target/aarch64-apple-darwin/release/classchat \
#       target/x86_64-apple-darwin/release/classchat
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"

if [ "$#" -eq 0 ]; then
    set -- target/release/classchat
fi
for bin in "$@"; do
    if [ ! -x "$bin" ]; then
        echo "not an executable: $bin (build it first with cargo build --release)" >&2
        exit 1
    fi
done

version="$(sed -n 's/^version *= *"\([^"]*\)".*/\1/p' Cargo.toml | head -n 1)"
out_dir="${OUT_DIR:-target/macos}"
app="$out_dir/ClassChat.app"

rm -rf "$app"
mkdir -p "$app/Contents/MacOS" "$app/Contents/Resources"

# Executable: one binary, or a universal one made from several.
if [ "$#" -eq 1 ]; then
    cp "$1" "$app/Contents/MacOS/classchat"
else
    lipo -create -output "$app/Contents/MacOS/classchat" "$@"
fi
chmod 755 "$app/Contents/MacOS/classchat"

# Info.plist with the version from Cargo.toml.
cp "$here/Info.plist" "$app/Contents/Info.plist"
/usr/libexec/PlistBuddy -c "Set :CFBundleShortVersionString $version" "$app/Contents/Info.plist"
/usr/libexec/PlistBuddy -c "Set :CFBundleVersion $version" "$app/Contents/Info.plist"
plutil -lint "$app/Contents/Info.plist"
printf 'APPL????' > "$app/Contents/PkgInfo"

# Resources: icon, localised Info.plist strings, font licence.
cp assets/icon/classchat.icns "$app/Contents/Resources/classchat.icns"
for lproj in en.lproj ja.lproj; do
    mkdir -p "$app/Contents/Resources/$lproj"
    cp "$here/$lproj/InfoPlist.strings" "$app/Contents/Resources/$lproj/"
done
cp assets/fonts/OFL.txt "$app/Contents/Resources/NotoSansCJKjp-OFL.txt"
cp assets/fonts/NotoEmoji-OFL.txt "$app/Contents/Resources/NotoEmoji-OFL.txt"

# Ad-hoc signature so the bundle is sealed (required for arm64). Replace "-"
# with a "Developer ID Application: ..." identity to sign for distribution,
# then notarize with `xcrun notarytool`.
codesign --force --deep --sign - "$app"
codesign --verify --verbose "$app"

# A zip that keeps the bundle intact (Finder's "Compress" does the same).
zip="$out_dir/ClassChat-$version-macos.zip"
rm -f "$zip"
ditto -c -k --keepParent "$app" "$zip"

echo "Built $app"
echo "Built $zip"
