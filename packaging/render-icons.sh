#!/usr/bin/env bash
# Render assets/icon/classchat.svg into the PNG, ICO and ICNS files next to it.
# Requirements (Debian): apt-get install -y librsvg2-bin icnsutils
#               pip install pillow
set -euo pipefail

cd "$(dirname "$0")/../assets/icon"

for n in 16 24 32 48 64 128 256 512; do
    rsvg-convert --width "$n" --height "$n" classchat.svg --output "classchat-$n.png"
done

# Windows: one .ico with every size Explorer and the taskbar ask for. Pillow
# stores each rendered PNG as is (no rescaling) when it is passed in
# append_images with a matching size.
python3 - <<'PY'
from PIL import Image
sizes = [16, 24, 32, 48, 64, 128, 256]
images = [Image.open(f"classchat-{n}.png").convert("RGBA") for n in sizes]
images[-1].save("classchat.ico", format="ICO", sizes=[(n, n) for n in sizes],
                append_images=images[:-1])
PY

# macOS: .icns (png2icns accepts 16, 32, 48, 128, 256 and 512 px images).
png2icns classchat.icns classchat-16.png classchat-32.png classchat-48.png \
    classchat-128.png classchat-256.png classchat-512.png

ls -l classchat*
