#!/usr/bin/env python3
"""Print the Unicode code points ClassChat's embedded Japanese font must cover.

Output: one "U+XXXX" per line, sorted, suitable for `pyftsubset --unicodes-file=`.
Only the Python standard library is used, so the output is the same everywhere
(for a given Python version's codec tables).

Coverage:
  * ASCII, Latin-1 Supplement, Latin Extended-A
  * General Punctuation, CJK Symbols and Punctuation, Hiragana, Katakana,
    Katakana Phonetic Extensions, Halfwidth and Fullwidth Forms
  * a few symbol blocks commonly typed in Japanese text (arrows, enclosed
    numbers, box drawing, geometric shapes, enclosed CJK, CJK compatibility)
  * every character of JIS X 0208 (incl. level 1 and 2 kanji)
  * every character of JIS X 0213:2004 (planes 1 and 2)
  * every double-byte character of Windows code page 932 (NEC / IBM extensions)
"""

import sys

RANGES = [
    (0x0020, 0x007E),  # Basic Latin
    (0x00A0, 0x00FF),  # Latin-1 Supplement
    (0x0100, 0x017F),  # Latin Extended-A
    (0x2000, 0x206F),  # General Punctuation
    (0x20A0, 0x20CF),  # Currency Symbols
    (0x2100, 0x214F),  # Letterlike Symbols
    (0x2150, 0x218F),  # Number Forms (Roman numerals)
    (0x2190, 0x21FF),  # Arrows
    (0x2460, 0x24FF),  # Enclosed Alphanumerics
    (0x2500, 0x257F),  # Box Drawing
    (0x25A0, 0x25FF),  # Geometric Shapes
    (0x3000, 0x303F),  # CJK Symbols and Punctuation
    (0x3040, 0x309F),  # Hiragana
    (0x30A0, 0x30FF),  # Katakana
    (0x31F0, 0x31FF),  # Katakana Phonetic Extensions
    (0x3200, 0x32FF),  # Enclosed CJK Letters and Months
    (0x3300, 0x33FF),  # CJK Compatibility
    (0xFF00, 0xFFEF),  # Halfwidth and Fullwidth Forms
    (0xFFFD, 0xFFFD),  # Replacement character
]


def decode_all(encoding, byte_seqs):
    out = set()
    for seq in byte_seqs:
        try:
            text = bytes(seq).decode(encoding)
        except UnicodeDecodeError:
            continue
        out.update(ord(ch) for ch in text)
    return out


def main():
    cps = set()
    for lo, hi in RANGES:
        cps.update(range(lo, hi + 1))

    rows = range(0xA1, 0xFF)
    # JIS X 0208 (EUC-JP two-byte codes).
    cps |= decode_all("euc_jp", ((a, b) for a in rows for b in rows))
    # JIS X 0213 plane 1 (two-byte) and plane 2 (0x8F + two bytes).
    cps |= decode_all("euc_jis_2004", ((a, b) for a in rows for b in rows))
    cps |= decode_all("euc_jis_2004", ((0x8F, a, b) for a in rows for b in rows))
    # Windows-31J / CP932 double-byte characters.
    leads = list(range(0x81, 0xA0)) + list(range(0xE0, 0xFD))
    trails = list(range(0x40, 0x7F)) + list(range(0x80, 0xFD))
    cps |= decode_all("cp932", ((a, b) for a in leads for b in trails))

    # Control characters and private-use code points are never wanted.
    cps = {
        cp for cp in cps
        if cp >= 0x20 and not (0x7F <= cp < 0xA0) and not (0xE000 <= cp <= 0xF8FF)
    }
    sys.stdout.write("".join(f"U+{cp:04X}\n" for cp in sorted(cps)))


if __name__ == "__main__":
    main()
