"""Item identity and content fingerprints → Changes. Pure functions.

Identity: a stable id in the URL where the CMS gives one (post_<id>, content_<id>, TRS t<date>_<id>),
else the canonical URL. Fingerprint: over the folded title, body, attachment list and deadline, after
counters and widgets are stripped, so a click counter or a rotating related list never makes a change.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .models import Attachment, Extracted, Link, attachment_label
from .normalize import fold, strip_noise

_TRACKING = re.compile(r"^(utm_.*|spm|from|share.*|isappinstalled|timestamp|_t|t|rnd|random|v)$", re.I)
_STABLE_ID = re.compile(r"(?:/|^)(post|content|art|article|mpost)_(\d{4,})(?:\.s?html?)?$", re.I)
_TRS_ID = re.compile(r"/t(\d{8})_(\d{3,})\.s?html?$", re.I)


def canonical_url(url: str) -> str:
    """Lower-case scheme and host, default port and fragment dropped, tracking parameters dropped, query sorted."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    port = parts.port
    netloc = host if port is None or (scheme, port) in (("http", 80), ("https", 443)) else f"{host}:{port}"
    query = sorted(
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _TRACKING.match(k)
    )
    return urlunsplit((scheme, netloc, parts.path or "/", urlencode(query), ""))


def item_key(url: str) -> str:
    """The identity of a notice: `host/post_123` where the URL has a stable id, else the canonical URL.

    http/https and a `www.` prefix do not change a notice's identity.
    """
    plain = _PLAIN_URL.fullmatch(url)
    if plain and int(plain[3] or 0) <= 65535:  # most notices: canonical as they are, split once
        scheme, host, port, path, query = plain[1].lower(), plain[2].lower(), plain[3], plain[4] or "/", ""
        if port and (scheme, int(port)) not in (("http", 80), ("https", 443)):
            host = f"{host}:{int(port)}"
    else:
        parts = urlsplit(canonical_url(url))
        host, path, query = parts.netloc, parts.path, parts.query
    host = host.removeprefix("www.")
    m = _STABLE_ID.search(path)
    if m and not query:
        return f"{host}/{m.group(1).lower()}_{m.group(2)}"
    m = _TRS_ID.search(path)
    if m and not query:
        return f"{host}/t{m.group(1)}_{m.group(2)}"
    return host + path + (f"?{query}" if query else "")


# An http(s) address with a plain host, no user or query, nothing urlsplit would strip or refuse: its
# canonical form is itself with the host lower-cased, a default port and the fragment dropped.
_PLAIN_URL = re.compile(
    r"(https?)://([A-Za-z0-9.-]+)(?::(\d{1,5}))?(/[^?#\x00-\x20\x7f]*)?(?:#.*)?", re.S | re.I
)


@dataclass(frozen=True)
class Snapshot:
    """The comparable content of one notice version."""

    title: str
    text: str
    attachments: tuple[Attachment, ...] = ()
    deadline: str | None = None

    @cached_property
    def fingerprint(self) -> str:  # computed once: it folds the whole body
        h = hashlib.sha256()
        for part in (
            fold(self.title),
            _body_key(self.text),
            _attachments_key(self.attachments),
            self.deadline or "",
        ):
            h.update(part.encode("utf-8"))
            h.update(b"\x1f")
        return h.hexdigest()[:32]


def snapshot_of(x: Extracted) -> Snapshot:
    return Snapshot(
        title=x.title or "",
        text=x.text,
        attachments=x.attachments,
        deadline=x.deadline.iso if x.deadline else None,
    )


def snapshot_of_entry(link: Link) -> Snapshot:
    """A list entry that is not followed: its title and date are all there is to compare."""
    return Snapshot(title=link.title, text="", deadline=None)


def _body_key(text: str) -> str:
    return fold(strip_noise(text)).replace(" ", "")


def _attachments_key(attachments: tuple[Attachment, ...]) -> str:
    """Names, addresses and, once read, contents: a guide replaced at the same address is a change."""
    return "\n".join(
        sorted(f"{fold(a.name)} {urlsplit(a.url).path}" + (f" {a.sha}" if a.sha else "") for a in attachments)
    )


@dataclass(frozen=True)
class Diff:
    what: tuple[str, ...] = ()
    text: str = ""


def compare(
    old: Snapshot, new: Snapshot, max_lines: int = 12, texts: Mapping[str, str] | None = None
) -> Diff:
    """Which of title / body / attachments / deadline changed, with a short unified diff of the body and
    of each replaced attachment's text (`texts`: attachment text by content id)."""
    what = []
    if fold(old.title) != fold(new.title):
        what.append("title")
    if _body_key(old.text) != _body_key(new.text):
        what.append("body")
    lines = attachment_changes(old.attachments, new.attachments, texts or {}, max_lines)
    if lines:
        what.append("attachments")
    if old.deadline != new.deadline:
        what.append("deadline")
    body = text_diff(old.text, new.text, max_lines) if "body" in what else ""
    return Diff(tuple(what), "\n".join(filter(None, [body, *lines])))


def attachment_changes(
    old: tuple[Attachment, ...], new: tuple[Attachment, ...], texts: Mapping[str, str], max_lines: int = 12
) -> list[str]:
    """附件 added and removed, and the changed lines of each attachment replaced at its address.

    An attachment read now that could not be read before (the first check after an upgrade, a host that
    was down) is not a change: its content is new to watcher, not to the page."""
    before = {_attachment_id(a): a for a in old}
    lines: list[str] = []
    for i, a in enumerate(new, 1):
        was = before.pop(_attachment_id(a), None)
        label = attachment_label(i, a.name)
        if was is None:
            lines.append(f"+ {label}")
        elif was.sha and a.sha and was.sha != a.sha:
            old_text, new_text = texts.get(was.sha, ""), texts.get(a.sha, "")
            if old_text and _body_key(old_text) == _body_key(new_text):
                continue  # saved again with the same text: not news
            changed = text_diff(old_text, new_text, max_lines)
            lines += [f"{label} 变化：", *(changed.splitlines() or ["（无法读取文字，文件已更换）"])]
        elif was.sha and not a.sha and a.error:
            lines.append(f"{label} 无法获取：{a.error}")
    lines += [f"- {a.name}" for a in before.values()]
    return lines


def _attachment_id(a: Attachment) -> str:
    return urlsplit(a.url).path or fold(a.name)


def text_diff(old: str, new: str, max_lines: int = 12) -> str:
    """Changed lines only (no context), at most `max_lines`, for messages and history."""
    lines = [
        line
        for line in difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]
    if len(lines) > max_lines:
        lines = [*lines[:max_lines], f"… ({len(lines) - max_lines} more lines)"]
    return "\n".join(lines)
