"""A list entry's link: its address (hrefs, script openers, Hanweb records), its title and its date. Pure."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import urljoin, urlsplit, urlunsplit

from ..models import Link
from ..normalize import clean_space, is_truncated, split_tag, strip_ellipsis
from .dom import BLOCK_TAGS, Node, block_lines, inside, node_text
from .entrydates import DATE_ONLY, apart_date, entry_date, own_date, split_date

_BAD_HREF = re.compile(r"^\s*(javascript:|mailto:|tel:|#|about:|data:)", re.I)
_PLACEHOLDER = re.compile(r"\{\{|\}\}|\$\{|<%|%>|\[\[|\]\]|\{[a-z_]+\}", re.I)
NAV_WORDS = frozenset(
    [
        "首页",
        "首頁",
        "上一页",
        "上一頁",
        "下一页",
        "下一頁",
        "尾页",
        "尾頁",
        "末页",
        "更多",
        "more",
        "返回",
        "返回顶部",
        "打印",
        "关闭",
        "關閉",
        "登录",
        "注册",
        "查看全文",
        "阅读全文",
        "查看详情",
        "详细内容",
        "[查看全文]",
        "[详细]",
        "[详情]",
    ]
)


def absolute(base: str, href: str) -> str | None:
    """Resolve `href` against `base`, drop the fragment; None for javascript:, mailto:, #, placeholders,
    and for anything but http and https (file: only on a page read from a file)."""
    href = (href or "").strip()
    if not href or _BAD_HREF.match(href) or _PLACEHOLDER.search(href):
        return None
    if _PLAIN_ABSOLUTE.match(href):  # the common case, without urljoin's full parse
        return href.partition("#")[0]
    if href.startswith("/") and not href.startswith("//") and (root := _ORIGIN.match(base)):
        return root.group(0) + href.partition("#")[0]
    try:
        parts = urlsplit(urljoin(base, href))
    except ValueError:  # http://[bad: not an address
        return None
    if parts.scheme not in ("http", "https") and not (parts.scheme == "file" and base.startswith("file:")):
        return None
    return urlunsplit(parts._replace(fragment=""))


def link_target(anchor: Node, base: str) -> str | None:
    """Where a link leads: its href, or, when the href is a script (javascript:openUrl('/a/b/1.html'),
    javascript:void(0) with onclick="window.open('…')"), the address the script opens. A bare
    javascript:; leads nowhere, and a bookmark or share call (AddFavorite('http://…')) is no opener."""
    href = anchor.attributes.get("href") or ""
    if url := absolute(base, href):
        return url
    if not _SCRIPT_HREF.match(href):
        return None
    for script in (href, anchor.attributes.get("onclick") or ""):
        if (m := _OPENER.search(script)) and _ADDRESS.search(target := m[1] or m[2]):
            return absolute(base, target)
    return None


# The address a script opens: a call whose name says it opens or shows something (openUrl, window.open,
# goDetail, showInfo …) with a quoted first argument, or an assignment to location.
_OPENER = re.compile(
    r"(?:\b[\w.]*(?:open|go|jump|redirect|view|show|detail|url|link)\w*\s*\(\s*['\"]([^'\"\s<>]+)['\"]"
    r"|\blocation(?:\.href)?\s*=\s*['\"]([^'\"\s<>]+)['\"])",
    re.I,
)
_SCRIPT_HREF = re.compile(r"^\s*(?:javascript:|#|$)", re.I)
# A path or a web address, not an id: a slash, or a file name with its extension.
_ADDRESS = re.compile(r"/|\.[a-z]{2,5}(?:[?#]|$)", re.I)


# A plain ASCII host takes the fast path; [IPv6] and non-ASCII hosts the slow one, which validates them,
# so every URL absolute() returns can be split again without a ValueError.
_PLAIN_ABSOLUTE = re.compile(r"https?://[^/\s?#\[\]\x80-\U0010ffff]+(?:[/?#][^\s]*)?$", re.I)
_ORIGIN = re.compile(r"https?://[^/?#]+", re.I)


def unpack_records(html: str) -> str:
    """A Hanweb (大汉 JCMS) column page ships its entries inside <script type="text/xml"><datastore>
    <recordset><record><![CDATA[<li>…</li>]]></record>…: invisible to an HTML parser. Each such script is
    replaced by its records' markup, so the list is read like any other."""
    if "<recordset>" not in html:
        return html  # nearly every page: one substring test
    return _XML_SCRIPT.sub(_records, html)


def _records(m: re.Match[str]) -> str:
    records = _RECORD.findall(m.group(1))
    return f'<div class="records">{"".join(records)}</div>' if records else m.group(0)


_XML_SCRIPT = re.compile(r"<script[^>]*text/xml[^>]*>(.*?)</script>", re.S | re.I)
_RECORD = re.compile(r"<record>\s*<!\[CDATA\[(.*?)\]\]>\s*</record>", re.S)


def anchor_title(anchor: Node, text: str | None = None) -> str:
    """The anchor's full title: its `title` attribute when the text is cut short or empty, or holds more
    than the title (a date, a tag, a summary: a whole card inside the link)."""
    text = node_text(anchor) if text is None else text
    attr = clean_space(anchor.attributes.get("title") or "")
    cut = is_truncated(text) and split_tag(strip_ellipsis(text))[1][:4] in attr  # not 点击查看 for 关于…
    cut_short = not text or cut or (len(attr) > len(text) and attr.startswith(text[:4]))
    holds_more = len(attr) >= 5 and len(text) > len(attr) and attr in text
    if attr and (cut_short or holds_more) and not _PLACEHOLDER.search(attr):
        return attr
    return text


_SUMMARY = 60  # characters of an entry beyond its title that make it a summary


def dated_parts(anchor: Node, text: str) -> list[Node]:
    """The elements inside a link that hold only its date (<span>[ 2021-05-19 ]</span>, <div class=date>
    <i>01-19</i><b>2026</b></div>, 日期：2024-03-09): the date is the entry's, not part of its title."""
    if not _DATE_IN_TEXT.search(text):
        return []  # most links: no date in their text, nothing to look for
    parts: list[Node] = []
    for node in anchor.traverse(include_text=False):
        if (
            node is anchor
            or node.tag in ("-text", "img", "br")
            or any(inside(node, {p.mem_id}) for p in parts)
        ):
            continue
        spaced = node.text(deep=True, separator=" ", strip=True)
        if DATE_ONLY.match(spaced) and sum(c.isdigit() for c in spaced) >= 4:
            parts.append(node)
    return parts


def is_entry_title(title: str) -> bool:
    if len(title) < 5 or title.lower() in NAV_WORDS or _PLACEHOLDER.search(title):
        return False
    return not title.isdigit()


def make_link(
    item: Node,
    anchor: Node,
    base: str,
    now: dt.datetime | None,
    year_hint: int | None,
    text: str | None = None,
) -> Link | None:
    """An entry from its item node (li, tr, div …) and its anchor (and the anchor's text, when it was read
    already); the date is read outside the title."""
    url = link_target(anchor, base)
    if not url:
        return None
    text = node_text(anchor) if text is None else text
    inner = dated_parts(anchor, text)
    whole = text
    for part in inner:  # the title without the date the link holds
        text = clean_space(text.replace(node_text(part), " ", 1))
    if any(child.tag in BLOCK_TAGS for child in anchor.iter()):  # a card: a heading over a summary
        text = card_title(anchor, text, inner)
    title = _BULLET.sub("", anchor_title(anchor, text))
    lead = _LEAD_DATE.match(title)  # [2020-12-31]标题: a date before the title is never part of it
    title = title[lead.end() :] if lead and len(title) - lead.end() >= 5 else title
    short = not is_entry_title(strip_ellipsis(title))
    if short and (not _SHORT_TITLE.match(title) or title in NAV_WORDS):
        return None
    tag, title = split_tag(title)
    rest = node_text(item).replace(whole, " ", 1)[:_NEAR] if item is not anchor else sibling_text(anchor)
    date = None
    if (
        item is not anchor and len(rest) > _SUMMARY
    ):  # a summary may cite other dates: the entry's own stands alone
        date = own_date(item, anchor, url, now, year_hint) or apart_date(rest, url, now, year_hint)
    date = date or entry_date(rest, url, now, year_hint)
    if date is None and inner:
        spaced = " ".join(part.text(deep=True, separator=" ", strip=True) for part in inner)
        date = entry_date(spaced, url, now, year_hint) or split_date(spaced)
    if date is None and item is not anchor:  # the day in one element, the month in another
        date = split_date(item.text(deep=True, separator=" ", strip=True)[:_NEAR])
    if date is None and lead:
        date = entry_date(lead.group(), url, now, year_hint)
    if date is None and title in whole and len(whole) > len(title):  # the link's text beside its title
        date = entry_date(whole.replace(title, " ", 1), url, now, year_hint)
    if date is None and (edge := _EDGE_DATE.search(title)):  # 标题(2020-12-31): the entry's only date
        date = entry_date(edge.group(), url, now, year_hint)
        title = title[: edge.start()] if date and edge.start() >= 5 else title
    if short and (date is None or item is anchor):  # 公 示: a short title counts only in a dated entry
        return None
    return Link(title=title, url=url, date=date, tag=tag)


def card_title(anchor: Node, text: str, dated: list[Node]) -> str:
    """The title of a link that holds a card (<h3>title</h3><p>summary</p>): its heading, else its first
    title-like line; the link's whole text when it holds one line only."""
    skip = {part.mem_id for part in dated}
    for heading in anchor.css("h1, h2, h3, h4, h5, h6"):
        line = node_text(heading)
        if is_entry_title(line) and not inside(heading, skip):
            return line
    lines = [line for line in block_lines(anchor) if line and not DATE_ONLY.match(line)]
    if len(lines) < 2:
        return text
    return next((line for line in lines if is_entry_title(line)), text)


# A date closing the link's text, bracketed or set apart: 标题(2020-12-31), 标题 2020-12-31
_EDGE_DATE = re.compile(
    r"(?:(?:\s+|[(（\[【])\s*(?:19|20)\d{2}\s*[-./年]\s*\d{1,2}\s*[-./月]\s*\d{1,2}\s*日?\s*[)）\]】]?"
    r"|\s*[(（\[【]\s*[01]\d\s*[-./]\s*[0-3]\d\s*[)）\]】])\s*$"
)
_LEAD_DATE = re.compile(
    r"^\s*(?:[(（\[【]?\s*(?:19|20)\d{2}\s*[-./年]\s*\d{1,2}\s*[-./月]\s*\d{1,2}\s*日?\s*(?:[)）\]】]\s*|\s+)"
    r"|[(（\[【]\s*[01]\d\s*[-./]\s*[0-3]\d\s*[)）\]】]\s*)"
)
_BULLET = re.compile(r"^[·•●○◆◇■□▪▫►▶»›∙・]+\s*")  # ·关于…: a bullet typed into the title
_DATE_IN_TEXT = re.compile(r"\d{1,4}\s*[-./年月]\s*\d{1,2}")


_SHORT_TITLE = re.compile(r"^[\u4e00-\u9fff][\u4e00-\u9fff\s]{1,3}$")


def sibling_text(anchor: Node, limit: int = 3) -> str:
    """Text right after a bare anchor, up to the next anchor or block: where its date stands. A nested
    list after it (<li><a/><span/><ul>…) is other entries, never read here."""
    parts = []
    node = anchor.next
    while node is not None and limit > 0:
        if node.tag == "a" or node.tag in BLOCK_TAGS:
            break
        parts.append(node.text(deep=True) if node.tag != "-text" else (node.text_content or ""))
        node = node.next
        limit -= 1
    return " ".join(parts)[:_NEAR]


_NEAR = 2000  # characters of an entry read for its date (a summary may come first)
