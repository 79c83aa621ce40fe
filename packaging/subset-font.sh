#!/usr/bin/env bash
# Regenerate assets/fonts/NotoSansCJKjp-Regular-subset.otf, the Japanese font
# that ClassChat embeds (egui's built-in fonts have no CJK glyphs).
#
# Source: "Noto Sans CJK JP" Regular (SIL Open Font License 1.1), face 0 of
# NotoSansCJK-Regular.ttc as shipped by Debian's fonts-noto-cjk package
# (upstream: the googlefonts/noto-cjk project, version 2.004).
#
# Requirements:
#   apt-get install -y fonts-noto-cjk
#   pip install fonttools        (tested with fonttools 4.68)
#
# Usage (from the repository root):
#   packaging/subset-font.sh [SOURCE_FONT [FONT_NUMBER]]
#
# The character set comes from packaging/jp-charset.py (standard library only).
# Only the layout features a horizontal shaper applies by default to Japanese
# text are kept (ccmp, liga, kern, mark, mkmk); locl/vert/jp78/... would pull
# in thousands of glyph variants that ClassChat never shows. Vertical-writing
# tables (vhea, vmtx, VORG) are dropped for the same reason.
# SOURCE_DATE_EPOCH pins head.modified so the output is byte-for-byte
# reproducible.
set -euo pipefail

cd "$(dirname "$0")/.."

src="${1:-/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc}"
font_number="${2:-0}"   # 0 = Noto Sans CJK JP inside the collection
out="assets/fonts/NotoSansCJKjp-Regular-subset.otf"

if [ ! -f "$src" ]; then
    echo "source font not found: $src (apt-get install fonts-noto-cjk)" >&2
    exit 1
fi

export SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-1704067200}"  # 2024-01-01

unicodes="$(mktemp)"
trap 'rm -f "$unicodes"' EXIT
python3 packaging/jp-charset.py > "$unicodes"

pyftsubset "$src" \
    --font-number="$font_number" \
    --unicodes-file="$unicodes" \
    --layout-features='ccmp,kern,liga,mark,mkmk' \
    --drop-tables+=vhea,vmtx,VORG \
    --name-IDs='*' \
    --name-languages='*' \
    --notdef-outline \
    --recalc-bounds \
    --recalc-timestamp \
    --output-file="$out"

ls -l "$out"
