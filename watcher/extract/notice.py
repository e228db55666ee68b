"""A notice page's body, attachments, document number and related notices. Its title is read in
titles.py, its date, publisher and tag in infoline.py, its deadline in deadline.py."""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from urllib.parse import unquote, urlsplit

from ..models import Attachment, Link
from ..normalize import clean_space, dedupe_lines, fold, strip_noise
from .budget import tick
from .deadline import find_deadline as find_deadline  # one finder for bodies and attachments
from .dom import Node, block_lines, inside, node_text
from .links import absolute, make_link
from .listing import anchor_items, group_links

# ---------------------------------------------------------------- body

_BODY_SELECTORS = (
    "#zoom, #zoomcon, .TRS_Editor, .trs_editor_view, #UCAP-CONTENT, .article-content, .article_content, "
    ".news_content, .news_cont_d_wrap, .detail-content, .pages_content, .wz_content, .zw, #content, "
    ".content-text, article"
)
_NOT_PROSE = re.compile(r"[\s\d\-:/.年月日【】\[\]()（）]+")
_TEXT_PARENTS = frozenset(
    ["p", "span", "font", "strong", "b", "em", "i", "u", "h4", "h5", "h6", "li", "label", "small", "big"]
)


def find_body(root: Node, furniture: set[int] | None = None) -> Node | None:
    """Known CMS body containers first; else the node richest in non-link paragraph text, outside the
    page's furniture (dom.furniture) when anything else has text."""
    known = [n for n in root.css(_BODY_SELECTORS) if len(node_text(n)) >= 60]
    if known:
        return max(known, key=lambda n: len(node_text(n)) if n.css_first(_BODY_SELECTORS) is None else 0)
    scores: dict[int, float] = defaultdict(float)
    nodes: dict[int, Node] = {}
    for node in root.css("p, div, td, span, font, li, section, article, pre"):
        tick()
        own = len(_NOT_PROSE.sub("", node.text(deep=False) or ""))
        if own < 8:
            continue
        target = node
        while target.tag in _TEXT_PARENTS and target.parent is not None:
            target = target.parent
        for weight, holder in ((1.0, target), (0.5, target.parent)):
            if holder is not None and holder.tag not in ("html", "body", None):
                scores[holder.mem_id] += own * weight
                nodes[holder.mem_id] = holder
    if not scores:
        return None
    ranked = sorted(scores, key=lambda k: scores[k], reverse=True)
    if furniture:
        ranked = [k for k in ranked if not inside(nodes[k], furniture)] or ranked
    return nodes[ranked[0]]


def prose_length(body: Node) -> int:
    """Characters of text outside links: high for a notice, low for a list."""
    return len(node_text(body)) - sum(len(node_text(a)) for a in body.css("a"))


def body_lines(body: Node, title: str | None) -> list[str]:
    folded_title = fold(title) if title else None
    lines = strip_noise("\n".join(block_lines(body))).split("\n")  # one pass of the noise patterns
    if folded_title is not None:  # drop the title repeated in the body; only lines of about its length can be
        near = range(len(folded_title) // 2, 2 * len(folded_title) + 8)
        lines = [line for line in lines if len(line) not in near or fold(line) != folded_title]
    return dedupe_lines(lines)


# ---------------------------------------------------------------- attachments

ATTACHMENT_EXTS = ("pdf", "doc", "docx", "xls", "xlsx", "wps", "ofd", "zip", "rar", "et", "7z")
_EXT = re.compile(r"\.(" + "|".join(ATTACHMENT_EXTS) + r")(?:$|[?#])", re.I)


def find_attachments(root: Node, base: str) -> list[Attachment]:
    out: dict[str, Attachment] = {}
    for anchor in root.css("a[href]"):
        href = anchor.attributes.get("href") or ""
        text = node_text(anchor)
        if not (_EXT.search(href) or _EXT.search(text)):  # ….pdf, ….doc?v=2: the extension ends the path
            continue
        url = absolute(base, href)  # None for what is not a web address; splittable when not None
        if url and url not in out:
            name = text or anchor.attributes.get("title") or unquote(urlsplit(url).path.rsplit("/", 1)[-1])
            out[url] = Attachment(name=clean_space(name), url=url)
    return list(out.values())


# ---------------------------------------------------------------- document number (the deadline: deadline.py)

_DOC_NUMBER = re.compile(
    r"[\u4e00-\u9fa5]{1,12}\s*[〔\[［(（【]\s*(?:19|20)\d{2}\s*[〕\]］)）】]\s*\d{1,5}\s*号"
)


def find_doc_number(lines: list[str]) -> str | None:
    for line in lines[:12]:
        m = _DOC_NUMBER.search(line)
        if m:
            return re.sub(r"\s+", "", m.group(0))
    return None


# ---------------------------------------------------------------- related notices

RELATED_LABELS = re.compile(
    r"^[\s\-—–=·•【\[]*(相关通知|相關通知|相关文章|相關文章|相关链接|相關鏈接|相关文件|相關文件|相关新闻|相關新聞|"
    r"相关阅读|相關閱讀|相关信息|相關信息|相关政策|相關政策|相关公告|相關公告)[\s\-—–=·•】\]:：]*$"
)


_LABEL_TAGS = frozenset(
    [
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "div",
        "span",
        "p",
        "strong",
        "b",
        "dt",
        "li",
        "td",
        "em",
        "font",
        "a",
    ]
)
_ANY_LABEL = re.compile(r"相[关關](通知|文章|链接|鏈接|文件|新闻|新聞|阅读|閱讀|信息|政策|公告)")


def find_related(
    root: Node, base: str, now: dt.datetime | None, year_hint: int | None
) -> tuple[list[Link], list[Node]]:
    """The related-notices block as links, and the nodes to drop so it never counts as body text."""
    words = {m.group(0) for m in _ANY_LABEL.finditer(root.text(deep=True) or "")}
    if not words:
        return [], []
    # Lexbor's :lexbor-contains matches elements by their own text: the few label candidates, without
    # visiting every node from Python.
    for label in root.css(", ".join(f'*:lexbor-contains("{w}")' for w in sorted(words))):
        if label.tag not in _LABEL_TAGS:
            continue
        own = (label.text(deep=False) or "").strip()  # the label's own text: cheap, no subtree walk
        if not own or len(own) > 20 or not RELATED_LABELS.match(clean_space(own)):
            continue
        block = label.parent
        while block is not None and block.css_first("a[href]") is None and block.tag != "body":
            block = block.parent
        if block is None or block.tag == "body":
            continue
        order = {node.mem_id: i for i, node in enumerate(block.traverse())}
        after = order.get(label.mem_id, -1)
        entries = [e for e in anchor_items(block) if order.get(e[1].mem_id, -1) > after]
        links = [link for group in group_links(entries, base, now, year_hint) for link in group.links]
        if not links:
            links = [x for i, a, t in entries if (x := make_link(i, a, base, now, year_hint, t))]
        if not links:
            continue
        prose = len(node_text(block)) - sum(len(t) for _, _, t in entries)
        drop = [block] if prose < 200 else [label, *(item for item, _, _ in entries)]
        return links, drop
    return [], []
