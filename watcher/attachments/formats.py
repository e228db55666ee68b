"""Bytes of one attachment → its text. Runs only inside a worker process (child.py, started by worker.py),
under a time and memory limit, so the parsers never load into the daemon and a hostile file takes down
that worker alone.

The format is sniffed from the bytes, not the name: bureaus post DOCX files named .wps, and Kingsoft's
.wps and .et are Word and Excel binary files with their own extension.

Libraries, measured on real attachments (benchmarks/attachment_bench.py):
- PDF: PDFium through pypdfium2, 15-17x faster than pdfminer.six and pypdf with the same text (a 520 KB
  Chinese statute: 38 ms against 642 and 572 ms).
- XLSX, XLS and .et: calamine (python-calamine), one library for both generations, 10x openpyxl's speed.
- DOCX: the standard library's zipfile and a streaming XML parse; 3.5x faster than python-docx, and a
  stream can stop at the text cap, so a zip bomb is never inflated whole.
- DOC and Kingsoft WPS: olefile opens the OLE2 container; the text is read from the Word binary piece
  table here (about fifty lines), since no maintained Python package reads Word 97 text.
"""

from __future__ import annotations

import io
import struct
import zipfile
from dataclasses import dataclass
from typing import IO
from xml.etree import ElementTree as ET

from ..errors import Unreadable

MAX_TEXT = 2_000_000  # characters kept of one attachment: a 500-page guide, and no more
MAX_INFLATED = 256 * 1024 * 1024  # what the parts of a DOCX or XLSX may inflate to, in all


@dataclass(frozen=True)
class Reading:
    kind: str  # pdf | docx | xlsx | xls | doc
    text: str
    pages: int | None = None  # pages of a PDF, sheets of a workbook


def read(data: bytes) -> Reading:
    """The text of one attachment, or Unreadable with the reason in a few words."""
    try:
        kind = sniff(data)
        reader = _READERS.get(kind or "")
        if reader is None:
            raise Unreadable(
                _UNREAD.get(kind or "", f"{kind} file: watcher reads PDF, DOC, DOCX, WPS, XLS and XLSX")
            )
        return reader(data)
    except (Unreadable, MemoryError, RecursionError, KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # a parser failing on broken bytes; calamine's panics are BaseExceptions
        raise Unreadable(f"damaged file ({type(exc).__name__}: {exc})"[:200]) from None


_UNREAD = {
    "": "not a format watcher reads (PDF, DOC, DOCX, WPS, XLS, XLSX)",
    "encrypted office": "encrypted document: it needs a password",
    "damaged zip": "damaged archive",
    "damaged ole": "damaged document",
}


def sniff(data: bytes) -> str | None:
    head = data[:1024]
    if b"%PDF-" in head:
        return "pdf"
    if data.startswith(b"PK\x03\x04"):
        return _zip_kind(data)
    if data.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return _ole_kind(data)
    if data.startswith(b"Rar!"):
        return "rar"
    if data.startswith(b"7z\xbc\xaf"):
        return "7z"
    return None


def _zip_kind(data: bytes) -> str:
    try:
        names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
    except (zipfile.BadZipFile, ValueError, OSError):
        return "damaged zip"
    if "word/document.xml" in names:
        return "docx"
    if "xl/workbook.xml" in names:
        return "xlsx"
    if "OFD.xml" in names:
        return "ofd"
    if "content.xml" in names:
        return "odf"
    return "zip"


def _ole_kind(data: bytes) -> str:
    import olefile

    try:
        with olefile.OleFileIO(data) as ole:
            if ole.exists("WordDocument"):
                return "doc"
            if ole.exists("Workbook") or ole.exists("Book"):
                return "xls"
            if ole.exists("EncryptedPackage"):
                return "encrypted office"
    except OSError:
        return "damaged ole"
    return "ole"


# ---------------------------------------------------------------- PDF


def read_pdf(data: bytes) -> Reading:
    import pypdfium2 as pdfium

    try:
        doc = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        reason = str(exc)
        if "password" in reason.lower():
            raise Unreadable("encrypted PDF: it needs a password") from None
        raise Unreadable(f"damaged PDF ({reason})") from None
    parts, size = [], 0
    try:
        for page in doc:
            textpage = page.get_textpage()
            text = textpage.get_text_range()
            textpage.close()
            page.close()
            parts.append(text.replace("\r\n", "\n"))
            size += len(text)
            if size > MAX_TEXT:
                break
        pages = len(doc)
    finally:
        doc.close()
    text = "\n".join(parts)
    if not text.strip():
        raise Unreadable(f"no text layer (a scan?) in {pages} page(s)")
    return Reading("pdf", text[:MAX_TEXT], pages)


# ---------------------------------------------------------------- DOCX

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_BREAKS = {_W + "br": "\n", _W + "cr": "\n", _W + "tab": "\t"}


def read_docx(data: bytes) -> Reading:
    archive = _open_zip(data)
    out: list[str] = []
    line: list[str] = []
    size, in_cell = 0, 0
    with archive.open("word/document.xml") as part:
        for event, el in ET.iterparse(_Capped(part), events=("start", "end")):
            tag = el.tag
            if event == "start":
                in_cell += tag == _W + "tc"
            elif tag == _W + "t":
                line.append(el.text or "")
            elif tag in _BREAKS:
                line.append(_BREAKS[tag])
            elif tag == _W + "tc":  # the cells of a table row on one line, a tab apart
                if line and line[-1] == " ":
                    line.pop()
                line.append("\t")
                in_cell -= 1
            elif (tag == _W + "p" and not in_cell) or tag == _W + "tr":
                text = "".join(line).strip("\t ")
                out.append(text)
                size += len(text)
                line = []
                el.clear()
                if size > MAX_TEXT:
                    break
            elif tag == _W + "p":
                line.append(" ")  # a cell's paragraphs
    return Reading("docx", _squeeze("\n".join(out))[:MAX_TEXT])


def _open_zip(data: bytes) -> zipfile.ZipFile:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        declared = sum(i.file_size for i in archive.infolist())
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise Unreadable(f"damaged archive ({exc})") from None
    if declared > MAX_INFLATED:
        raise Unreadable(f"zip bomb: its parts inflate to {declared:,} bytes")
    return archive


class _Capped(io.RawIOBase):
    """A zip member read through a cap: a part whose header lies about its size stops at the cap."""

    def __init__(self, part: IO[bytes]) -> None:
        self.part, self.read_so_far = part, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        chunk = self.part.read(len(buffer))
        self.read_so_far += len(chunk)
        if self.read_so_far > MAX_INFLATED:
            raise Unreadable(f"zip bomb: a part inflates past {MAX_INFLATED:,} bytes")
        buffer[: len(chunk)] = chunk
        return len(chunk)


# ---------------------------------------------------------------- XLSX, XLS, .et


def read_workbook(data: bytes) -> Reading:
    from python_calamine import CalamineWorkbook

    if data.startswith(b"PK"):
        _open_zip(data)  # the same zip-bomb check as a DOCX, before calamine inflates anything
    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
        lines: list[str] = []
        for name in book.sheet_names:
            rows = book.get_sheet_by_name(name).to_python(skip_empty_area=True)
            lines.append(f"【{name}】")
            lines += ["\t".join(_cell(c) for c in row).strip("\t") for row in rows]
            if sum(map(len, lines)) > MAX_TEXT:
                break
    except Exception as exc:  # calamine raises its own error types, one per format
        raise Unreadable(f"damaged workbook ({type(exc).__name__}: {exc})"[:200]) from None
    kind = "xlsx" if data.startswith(b"PK") else "xls"
    return Reading(kind, _squeeze("\n".join(lines))[:MAX_TEXT], len(book.sheet_names))


def _cell(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # 535353, not 535353.0
    return "" if value is None else str(value)


# ---------------------------------------------------------------- DOC, Kingsoft WPS


def read_doc(data: bytes) -> Reading:
    """Word 97-2003 text: the FIB gives the piece table's place in the table stream; each piece is a run
    of the main text, as cp1252 bytes or UTF-16."""
    import olefile

    try:
        with olefile.OleFileIO(data) as ole:
            word = ole.openstream("WordDocument").read()
            flags = struct.unpack_from("<H", word, 0x0A)[0]
            if flags & 0x0100:
                raise Unreadable("encrypted document: it needs a password")
            table_name = "1Table" if flags & 0x0200 else "0Table"
            if not ole.exists(table_name):
                raise Unreadable("a Word 6/95 document or a damaged one (no table stream)")
            table = ole.openstream(table_name).read()
    except (OSError, struct.error) as exc:
        raise Unreadable(f"damaged document ({exc})") from None
    try:
        text = _piece_text(word, table)
    except (struct.error, IndexError, ValueError) as exc:
        raise Unreadable(f"damaged document ({exc})") from None
    return Reading("doc", _squeeze(_clean_word(text))[:MAX_TEXT])


def _piece_text(word: bytes, table: bytes) -> str:
    main_chars = struct.unpack_from("<i", word, 0x4C)[0]  # ccpText: the main document's characters
    fc_clx, lcb_clx = struct.unpack_from("<II", word, 0x1A2)
    clx = table[fc_clx : fc_clx + lcb_clx]
    pos = 0
    while pos < len(clx) and clx[pos] == 1:  # Prc: formatting, skipped
        pos += 3 + struct.unpack_from("<H", clx, pos + 1)[0]
    if pos >= len(clx) or clx[pos] != 2:
        raise ValueError("no piece table")
    size = struct.unpack_from("<I", clx, pos + 1)[0]
    plc = clx[pos + 5 : pos + 5 + size]
    pieces = (len(plc) - 4) // 12
    cps = struct.unpack_from(f"<{pieces + 1}I", plc, 0)
    out: list[str] = []
    total = 0
    for i in range(pieces):
        start, end = cps[i], min(cps[i + 1], main_chars)
        if end <= start:
            break
        fc = struct.unpack_from("<I", plc, 4 * (pieces + 1) + 8 * i + 2)[0]
        count = end - start
        if fc & 0x40000000:  # compressed: one cp1252 byte a character, at half the offset
            offset = (fc & 0x3FFFFFFF) // 2
            out.append(word[offset : offset + count].decode("cp1252", errors="replace"))
        else:
            out.append(word[fc : fc + 2 * count].decode("utf-16-le", errors="replace"))
        total += count
        if total > MAX_TEXT:
            break
    return "".join(out)


def _clean_word(text: str) -> str:
    """Word's control characters: paragraph and cell marks become line ends; a field's code (between
    0x13 and 0x14) is dropped and its shown result kept."""
    out: list[str] = []
    depth_in_code = 0
    for ch in text:
        if ch == "\x13":
            depth_in_code += 1
        elif ch == "\x14":
            depth_in_code = max(0, depth_in_code - 1)
        elif ch == "\x15":
            depth_in_code = max(0, depth_in_code - 1) if depth_in_code else 0
        elif depth_in_code:
            continue
        elif ch in "\r\x0b\x0c":
            out.append("\n")
        elif ch == "\x07":
            out.append("\t")
        elif ch >= " " or ch in "\t\n":
            out.append(ch)
    return "".join(out)


def _squeeze(text: str) -> str:
    """Trailing blanks off each line and no more than one empty line in a row."""
    lines = [line.rstrip() for line in text.splitlines()]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip()


_READERS = {
    "pdf": read_pdf,
    "docx": read_docx,
    "xlsx": read_workbook,
    "xls": read_workbook,
    "doc": read_doc,
}
