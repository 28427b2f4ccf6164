"""Finding a font that renders Chinese for PDF output.

Order: ``SEALTRAIL_CJK_FONT`` (a path, optionally ``path#index`` for a collection), then the
usual system locations (Debian ``fonts-noto-cjk``, WenQuanYi, AR PL, macOS, Windows), then
``fc-match :lang=zh-cn``. In a TrueType/OpenType collection the face named "… SC" (Simplified
Chinese) is preferred. When nothing is found, ``find_cjk_font()`` returns None and the PDF is
still produced with a core font; CJK characters are then replaced and the document says so.
"""
from __future__ import annotations

import functools
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from fontTools.ttLib import TTCollection, TTFont

CANDIDATES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
    "/System/Library/Fonts/STHeiti Light.ttc",
    "C:/Windows/Fonts/msyh.ttc",
    "C:/Windows/Fonts/simsun.ttc",
)


@dataclass(frozen=True)
class FontFace:
    """One face of a font file: path, index inside a collection, and its family name."""

    path: str
    index: int
    family: str
    bold_path: str | None = None


def _faces(path: str) -> list[str]:
    if path.lower().endswith((".ttc", ".otc")):
        with TTCollection(path, lazy=True) as coll:
            return [font["name"].getDebugName(1) or "" for font in coll.fonts]
    with TTFont(path, lazy=True) as font:
        return [font["name"].getDebugName(1) or ""]


def _face(path: str, index: int | None = None) -> FontFace | None:
    try:
        names = _faces(path)
    except Exception:  # unreadable or not a font: skip it, the next candidate may do
        return None
    if index is None:
        index = next((i for i, n in enumerate(names) if n.endswith(" SC")), 0)
    if index >= len(names):
        return None
    bold = path.replace("-Regular", "-Bold")
    return FontFace(path, index, names[index], bold if bold != path and Path(bold).exists() else None)


def _fc_match() -> str | None:
    if not shutil.which("fc-match"):
        return None
    try:
        out = subprocess.run(["fc-match", "-f", "%{file}", ":lang=zh-cn"], capture_output=True,
                             text=True, timeout=5, check=False).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return out if out.lower().endswith((".ttf", ".ttc", ".otf", ".otc")) else None


@functools.lru_cache(maxsize=4)
def find_cjk_font(override: str | None = None) -> FontFace | None:
    """The CJK font to embed in PDFs, or None when this machine has none."""
    configured = override or os.environ.get("SEALTRAIL_CJK_FONT")
    if configured:
        path, _, idx = configured.partition("#")
        return _face(path, int(idx) if idx else None)
    for path in CANDIDATES:
        if Path(path).exists():
            face = _face(path)
            if face:
                return face
    found = _fc_match()
    return _face(found) if found else None
