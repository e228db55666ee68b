"""Plain-text tables that line up with Chinese text (wide characters count two columns)."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator, Sequence


def width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def clip(text: str, limit: int) -> str:
    if width(text) <= limit:
        return text
    out, used = "", 0
    for ch in text:
        w = width(ch)
        if used + w > limit - 1:
            break
        out, used = out + ch, used + w
    return out + "…"


def table(headers: Sequence[str], rows: Sequence[Sequence[object]], max_width: int = 48) -> str:
    return "\n".join(table_lines(headers, rows, max_width))


def table_lines(
    headers: Sequence[str], rows: Sequence[Sequence[object]], max_width: int = 48
) -> Iterator[str]:
    """The table line by line: a 5,000-row table is printed without being held as one string."""
    cells = [[clip("" if v is None else str(v), max_width) for v in row] for row in rows]
    widths = [max([width(h)] + [width(r[i]) for r in cells]) for i, h in enumerate(headers)]

    def line(values: Sequence[str]) -> str:
        return "  ".join(v + " " * (w - width(v)) for v, w in zip(values, widths, strict=True)).rstrip()

    yield line(headers)
    yield line(["-" * w for w in widths])
    yield from (line(r) for r in cells)
