"""Attachments made for the tests: DOCX and XLSX with Chinese text (the demo's own builders), PDFs with a
CJK font, a scan with no text layer, an encrypted PDF and a zip bomb. Real files live in tests/attachments
(SOURCES.yaml)."""

from __future__ import annotations

import io
import zlib
from functools import cache

from watcher.demo import docx, xlsx

__all__ = ["docx", "pdf", "scanned_pdf", "xlsx", "zip_bomb_docx"]


def pdf(lines: list[str], password: str | None = None) -> bytes:
    """A PDF whose text is set in Adobe's STSong-Light CID font (no font file needed to write or read it)."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    buf = io.BytesIO()
    page = canvas.Canvas(buf, encrypt=password, invariant=True)
    page.setFont("STSong-Light", 12)
    y = 800
    for line in lines:
        page.drawString(60, y, line)
        y -= 20
    page.save()
    return buf.getvalue()


def scanned_pdf() -> bytes:
    """A page that is only a picture, as a scanner makes: no text layer at all."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as raw

    doc = pdfium.PdfDocument.new()
    page = doc.new_page(595, 842)
    bitmap = pdfium.PdfBitmap.new_native(200, 100, raw.FPDFBitmap_BGR)
    bitmap.fill_rect((40, 40, 40, 255), 0, 0, 200, 100)
    image = pdfium.PdfImage.new(doc)
    image.set_bitmap(bitmap)
    image.set_matrix(pdfium.PdfMatrix().scale(400, 200).translate(100, 500))
    page.insert_obj(image)
    page.gen_content()
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


@cache
def zip_bomb_docx(inflated: int = 2 * 1024**3) -> bytes:
    """A DOCX whose document.xml inflates to `inflated` bytes (2 GiB) from about 2 MB. Built from one
    compressed block repeated: after a full flush, deflate compresses each equal chunk to equal bytes."""
    chunk = b" " * (16 * 1024 * 1024)
    assert inflated % len(chunk) == 0
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = packer.compress(chunk) + packer.flush(zlib.Z_FULL_FLUSH)
    repeats = inflated // len(chunk)
    stream = block * repeats + zlib.compressobj(9, zlib.DEFLATED, -15).flush(zlib.Z_FINISH)
    crc = 0
    one = zlib.crc32(chunk)
    for _ in range(repeats):  # crc32 over 2 GiB of spaces, a chunk at a time
        crc = zlib.crc32(chunk, crc) if crc else one
    name = b"word/document.xml"
    header = (
        b"PK\x03\x04" + (45).to_bytes(2, "little") + b"\x00\x00" + (8).to_bytes(2, "little") + b"\x00" * 4
        + crc.to_bytes(4, "little") + b"\xff" * 4 + b"\xff" * 4 + len(name).to_bytes(2, "little")
        + (20).to_bytes(2, "little") + name + _zip64_extra(inflated, len(stream))
    )  # fmt: skip
    central = (
        b"PK\x01\x02" + (45).to_bytes(2, "little") + (45).to_bytes(2, "little") + b"\x00\x00"
        + (8).to_bytes(2, "little") + b"\x00" * 4 + crc.to_bytes(4, "little") + b"\xff" * 8
        + len(name).to_bytes(2, "little") + (28).to_bytes(2, "little") + b"\x00" * 10 + b"\xff" * 4
        + name + _zip64_extra(inflated, len(stream), offset=0)
    )  # fmt: skip
    start = len(header) + len(stream)
    end = (
        b"PK\x05\x06" + b"\x00" * 4 + (1).to_bytes(2, "little") * 2 + len(central).to_bytes(4, "little")
        + start.to_bytes(4, "little") + b"\x00\x00"
    )  # fmt: skip
    return header + stream + central + end


def _zip64_extra(size: int, compressed: int, offset: int | None = None) -> bytes:
    fields = size.to_bytes(8, "little") + compressed.to_bytes(8, "little")
    if offset is not None:
        fields += offset.to_bytes(8, "little")
    return (1).to_bytes(2, "little") + len(fields).to_bytes(2, "little") + fields
