"""Bytes to text: which charset a page is in, from its BOM, its bytes, its <meta>, its header, or detection.

Pure functions, no I/O; the fetcher decodes each page here, and so do the commands that read a file.
"""

from __future__ import annotations

import codecs
import re

from .errors import ExtractError

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([\w.:-]+)""", re.I)
_ALIASES = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "cp936": "gb18030",
    "big5": "big5hkscs",
}


def header_charset(content_type: str) -> str | None:
    m = re.search(r"charset\s*=\s*[\"']?([\w.:-]+)", content_type, re.I)
    return m.group(1) if m else None


def _codec(label: str | None) -> str | None:
    """A Python codec name for a charset label; gb2312/gbk become gb18030 (real pages mislabel GBK)."""
    if not label:
        return None
    try:
        info = codecs.lookup(label.strip().lower())
    except LookupError:
        return None
    if not getattr(info, "_is_text_encoding", True):  # rot13, base64, zlib: codecs, not charsets
        return None
    name = info.name
    return _ALIASES.get(name, _ALIASES.get(label.strip().lower(), name))


def decode(body: bytes, header_charset: str | None = None, override: str | None = None) -> tuple[str, str]:
    """Bytes → (text, codec used): override, BOM, strict UTF-8, <meta>, header, detection.

    A declared charset is taken only if the bytes decode under it without error; detection is the last
    resort, and bad bytes are replaced, never raised.
    """
    if b"\x00" in body[:4096] and not body.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        if wide := _utf16_without_bom(body):
            return body.decode(wide, errors="replace"), wide
        raise ExtractError("binary content, not a text page")
    forced = _codec(override)
    if forced:
        return body.decode(forced, errors="replace"), forced
    for bom, name in (
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if body.startswith(bom):
            return body.decode(name, errors="replace"), name.replace("-sig", "")
    try:
        return body.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    if _mostly_utf8(body):  # a stray byte in a footer does not make a UTF-8 page GB18030 mojibake
        return body.decode("utf-8", errors="replace"), "utf-8"
    meta = _META_CHARSET.search(body[:4096])
    for label in (meta.group(1).decode("ascii", "ignore") if meta else None, header_charset):
        declared = _codec(label)
        if declared and declared != "utf-8":
            try:
                return body.decode(declared), declared
            except UnicodeDecodeError:
                continue
    import charset_normalizer

    best = charset_normalizer.from_bytes(body[:65536]).best()
    detected = _codec(best.encoding) if best else None
    if detected is None or detected in ("utf-8", "ascii"):
        detected = "gb18030"  # a Chinese government page that is not UTF-8 is GBK nine times in ten
    text = body.decode(detected, errors="replace")
    if _looks_binary(text):
        raise ExtractError("binary content, not a text page")
    return text, detected


def _mostly_utf8(body: bytes) -> bool:
    """Valid UTF-8 but for a few bytes: at most 16 bad ones, and ten valid non-ASCII characters for each.
    A GBK page decoded as UTF-8 has almost no valid non-ASCII characters at all."""
    # Its first 4 KB settle most: a prefix has at most one replacement more than the whole (a character
    # cut at its end), so past 17 there the whole has past 16, without decoding all of it twice.
    if len(body) > 4096 and body[:4096].decode("utf-8", errors="replace").count("\ufffd") > 17:
        return False
    text = body.decode("utf-8", errors="replace")
    bad = text.count("\ufffd")
    valid_wide = len(text) - len(text.encode("ascii", errors="ignore")) - bad
    return bad <= 16 and bad * 10 <= valid_wide


def _utf16_without_bom(body: bytes) -> str | None:
    """UTF-16 text has a NUL in every other byte (ASCII markup): which half says the byte order."""
    head = body[:4096]
    even, odd = head[0::2].count(0), head[1::2].count(0)
    half = len(head) // 2 or 1
    if max(even, odd) < half * 0.3 or min(even, odd) > half * 0.05:
        return None
    name = "utf-16-le" if odd > even else "utf-16-be"
    try:
        text = body.decode(name)
    except UnicodeDecodeError:
        return None
    return name if "<" in text[:1024] else None


def _looks_binary(text: str) -> bool:
    """Random bytes decode to something under a single-byte-tolerant codec; they are full of control
    characters and replacements that no page has."""
    sample = text[:8192]
    odd = sum(1 for c in sample if (c < " " and c not in "\t\n\r\f") or c == "\ufffd")
    return odd * 20 > len(sample)  # over 5%
