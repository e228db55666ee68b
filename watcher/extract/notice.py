"""A notice page's fields: title, date, publisher, tag, body, attachments, deadline, related notices."""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from urllib.parse import unquote, urlsplit

from selectolax.lexbor import LexborHTMLParser

from ..models import Attachment, DateValue, Link
from ..normalize import (
    clean_space,
    date_from_url,
    dedupe_lines,
    find_dates,
    fold,
    fold_lines,
    parse_date,
    parse_relative,
    split_tag,
    strip_noise,
)
from .budget import tick
from .deadline import find_deadline as find_deadline  # one finder for bodies and attachments
from .dom import BLOCK_TAGS, Node, block_lines, inside, node_text
from .links import absolute, make_link
from .listing import anchor_items, group_links

# ---------------------------------------------------------------- <meta>

META_TITLE = ("articletitle", "og:title", "dc.title")
META_DATE = ("pubdate", "firstpublishedtime", "publishdate", "article:published_time", "dc.date", "pubtime")
META_PUBLISHER = ("contentsource", "source", "author_source", "dc.publisher")
META_COLUMN = ("columnname", "column")


def read_meta(tree: LexborHTMLParser) -> dict[str, str]:
    metas: dict[str, str] = {}
    for node in tree.css("meta[content]"):
        name = (node.attributes.get("name") or node.attributes.get("property") or "").strip().lower()
        content = _META_LABEL.sub("", _MARKUP.sub("", clean_space(node.attributes.get("content") or "")))
        if name and content and name not in metas:
            metas[name] = content
    return metas


# Some CMSs put formatting markup into ArticleTitle (<font color=…>[电子化]</font>…): dropped. Anything
# else stays text, to be shown escaped.
_MARKUP = re.compile(r"</?(?:font|b|strong|span|em|i|u|br|sup|sub)\b[^>]*>", re.I)
_META_LABEL = re.compile(r"^(?:来源|來源|信息来源|文章来源)\s*[:：]\s*")


def first_meta(metas: dict[str, str], names: tuple[str, ...]) -> str | None:
    return next((metas[n] for n in names if metas.get(n)), None)


# ---------------------------------------------------------------- title

_SITE_SUFFIX = re.compile(
    r"(?:\s*[_|｜]+\s*|\s+[-–—]+\s+|\s*--+\s*)[^_|｜]{2,30}$"
    # 标题-中国科普网, 工作动态——某省物价局: a bare hyphen or a dash pair only before a name that is a
    # site's or an office's (a dash pair before anything else opens a subtitle)
    r"|(?:-|——)[^-—_|｜\s]{2,20}(?:网|网站|官网|门户|政府|局|委员会|委|厅|办公室|中心|协会|学会|大学|学院|学校|研究院|研究所|医院|法院)$"
)


def find_title(tree: LexborHTMLParser, metas: dict[str, str]) -> str | None:
    """ArticleTitle, else the heading that best agrees with <title>, else <title> less the site name.

    Of the headings that agree, the shortest: a title block often holds the info line too. When none
    agrees (a <title> that is only the site's or the column's name), the page's one h1, else its longest
    heading when <title> less the site is no longer than a column's name.
    """
    meta = first_meta(metas, META_TITLE[:1])
    if meta:
        return meta
    stem = _title_stem(tree)
    folded_stem = fold(stem)
    headings = _headings(tree)
    agreeing = [t for t in headings if folded_stem and ((f := fold(t)) in folded_stem or folded_stem in f)]
    if agreeing:
        return min(agreeing, key=len)
    h1s = _headings(tree, "h1")
    if len(h1s) == 1:
        return h1s[0]
    if headings and (not stem or len(stem) < 6):
        return headings[0]
    column = _SITE_SUFFIX.sub("", stem)  # 新闻动态--中国地理学会官网: a column and a site, no headline
    # the headline stands on its own: a titled link (a.x_title) is another page's entry, beside it
    long_headings = [t for t in _headings(tree, links=False) if len(t) >= 8]
    if len(column) <= 6 and long_headings:
        return max(long_headings, key=len)
    if (
        len(stem) <= _SITE_NAME
        and tree.body is not None
        and (above := line_above_info(block_lines(tree.body)))
    ):
        return above  # <title> is only the site's name; the headline is a <div>/<p> over the info line
    return stem or (headings[0] if headings else None) or first_meta(metas, META_TITLE[1:])


_SITE_NAME = 15  # characters of a <title> that may be only a site's name (某市科学技术局, 某某大学新闻网)
_INFO_HINT = re.compile(r"来源|來源|发布|發布|时间|時間|日期|作者|浏览|瀏覽|点击|點擊")


def line_above_info(lines: list[str]) -> str | None:
    """The line right above the first info line (a short line with a date and 来源/发布/时间…), when it
    reads as a headline: where a page without a heading element puts its title."""
    kept = [line.strip() for line in lines if line.strip()]
    for i, line in enumerate(kept[1:], 1):
        if len(line) <= 80 and _INFO_HINT.search(line) and find_dates(line):
            above = kept[i - 1]
            if 8 <= len(above) <= 100 and not find_dates(above) and not _INFO_HINT.search(above):
                return above
            return None
    return None


def is_headline(tree: LexborHTMLParser, title: str | None) -> bool:
    """Does the page carry a headline: a title of some length that a heading repeats? Notices do; a
    column page's <title> is the column's short name."""
    folded = fold(title or "")
    return len(folded) >= 10 and any(fold(t) == folded for t in _headings(tree, "h1, h2, h3, [class*=title]"))


def names_a_column(tree: LexborHTMLParser, title: str | None) -> bool:
    """Is the <title> a column's short name (新闻中心 - 某公司) that does not hold the headline found in the
    body? Then that headline is an entry's or a promotion's heading, and the page a column's list."""
    node = tree.css_first("title")
    full = fold(node_text(node)) if node is not None else ""
    if not full or not title or fold(title)[:8] in full:
        return False
    return 2 <= len(_SITE_SUFFIX.sub("", full)) <= 8


def _title_stem(tree: LexborHTMLParser) -> str:
    title_node = tree.css_first("title")
    stem = node_text(title_node) if title_node else ""
    for _ in range(2):  # "标题_栏目_网站"
        shorter = _SITE_SUFFIX.sub("", stem)
        if len(shorter) < 6:
            break
        stem = shorter
    return stem


HEADINGS = "h1, h2, h3, .title, .tit, [class*=title], [id*=title]"


def _headings(tree: LexborHTMLParser, selector: str = HEADINGS, links: bool = True) -> list[str]:
    """The texts of the page's heading-like nodes; without `links`, none that is or sits in a link."""
    texts = []
    for node in tree.css(selector):
        if not links and _in_link(node):
            continue
        text = _own_text(node) or clean_space(" ".join(block_lines(node)).strip())
        if len(bare := _BYLINE.sub("", text)) >= 6:
            text = bare  # … 2019年06月15日08:18 来源：人民网 分享到: the byline glued on
        if 6 <= len(text) <= 200:
            texts.append(text)
    return texts


def _own_text(node: Node) -> str | None:
    """A heading's own words when it also holds blocks of its own (<div class=title>T<div class=box>[分享]
    发布时间…</div></div>): the text outside those blocks, when it is headline-long; else None."""
    parts: list[str] = []
    nested = False
    for child in node.iter(include_text=True):
        if child.tag == "-text":
            parts.append(child.text_content or "")
        elif child.tag == "br":
            parts.append(" ")
        elif child.tag in BLOCK_TAGS:
            nested = True
        else:
            parts.append(node_text(child))
    own = clean_space("".join(parts)).strip()
    return own if nested and len(own) >= 6 else None


def _in_link(node: Node | None) -> bool:
    while node is not None:
        if node.tag == "a":
            return True
        node = node.parent
    return False


_BYLINE = re.compile(
    r"\s+(?:(?:19|20)\d{2}\s*[-/.年]\s*\d{1,2}|(?:来源|來源|发布时间|發布時間|发布日期|作者|编辑|分享到)\s*[:：]).*$"
)


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


# ---------------------------------------------------------------- info line: date, publisher

_DATE_LABEL = re.compile(
    r"(发布时间|發布時間|发布日期|發布日期|成文日期|时间|時間|日期|发表于|發表於|更新时间)\s*[:：]?"
)
_PUBLISHER = re.compile(
    r"(?:(?:本文来源于|来源于)\s*[:：]?|(?:信息来源|信息來源|文章来源|来源|來源|发布机构|發布機構|发文机关|發文機關"
    r"|发布单位|發布單位)\s*[:：])\s*"
    r"([^\s|｜:：]{2,40})"
)
_NAME_TAIL = re.compile(r"(?:19|20)\d{2}\s*[-/.年].*$")  # 人民日报2024-05-13 08:49: the date glued on
_AUTHOR = re.compile(r"(?:发布者|發布者|发布人|發布人)\s*[:：]\s*([^\s|｜:：]{2,20})")
_LABEL_TAIL = re.compile(
    r"(发布时间|發布時間|发布日期|时间|時間|日期|浏览|瀏覽|点击|點擊|阅读|閱讀|访问|訪問|作者|字体|字體).*$"
)


def info_lines(lines: list[str], title: str | None, limit: int = 6) -> list[str]:
    """The few lines just after the title, where dates and sources stand; a page that repeats its title
    (a print view, a share box) gives the lines after each."""
    if not title:
        return lines[:limit]
    tail = fold(title)[-12:]
    keys = fold_lines(lines)
    found = [i for i, key in enumerate(keys) if key.endswith(tail)][:3]
    if not found:
        return lines[:limit]
    # a line that ends as the title does is the title again (the headline under a breadcrumb that also
    # ends in it), not an info line: a date in the headline (关于暂停2019年03月13日…) is not the page's
    return [
        lines[j]
        for i in found
        for j in range(i + 1, min(i + 1 + limit, len(lines)))
        if not keys[j].endswith(tail)
    ]


def find_date(
    metas: dict[str, str], info: list[str], url: str, now: dt.datetime | None, trust_meta: bool = True
) -> DateValue | None:
    """The CMS's date, else the info line's (the info line's first when the page never shows the CMS's:
    a republished page keeps its first date in sight and a new one in <meta>), else the address's."""
    meta = first_meta(metas, META_DATE)
    meta_value = parse_date(meta) if meta else None
    if meta_value and trust_meta:
        return meta_value
    for line in info:
        label = _DATE_LABEL.search(line)
        if len(line) > _INFO_LINE_MAX and not (label and _PUBLISHED_LABEL.match(label.group(1))):
            continue  # a dated sentence of the body (颁证日期在…), not an info line
        dates = find_dates(line[label.start() :] if label else line)
        if dates:
            return dates[0][1]
    if meta_value:
        return meta_value
    from_url = date_from_url(url)
    if from_url:
        return from_url
    if now is not None:
        for line in info:
            if value := parse_relative(line, now):
                return value
    return None


_INFO_LINE_MAX = 50
_PUBLISHED_LABEL = re.compile(r"发布|發布|成文|发表|發表|更新|发稿|發稿")


def shows_meta_date(metas: dict[str, str], html: str) -> bool:
    """Does the page's body show the date its <meta> gives (in any of the usual spellings)? Read in the
    HTML after </head>: a plain search, where the body's text would have to be built first."""
    meta = first_meta(metas, META_DATE)
    value = parse_date(meta) if meta else None
    if value is None:
        return True
    y, m, d = value.day.year, value.day.month, value.day.day
    start = body_start(html)
    spellings = (
        f"{y}-{m:02}-{d:02}",
        f"{y}年{m:02}月{d:02}",
        f"{y}年{m}月{d}",
        f"{y}/{m:02}/{d:02}",
        f"{y}.{m:02}.{d:02}",
    )
    return any(html.find(s, start) >= 0 for s in (*spellings, f"{y}-{m}-{d}"))


def body_start(html: str) -> int:
    """Where the HTML's <head> ends (0 when it has none)."""
    end = html.find("</head>")
    return end if end >= 0 else max(html.find("</HEAD>"), 0)


def needs_info_lines(metas: dict[str, str]) -> bool:
    """Do the date and publisher have to be read from the lines near the title?"""
    date = first_meta(metas, META_DATE)
    return not (date and parse_date(date)) or not first_meta(metas, META_PUBLISHER)


def find_publisher(metas: dict[str, str], info: list[str], trust_meta: bool = True) -> str | None:
    """The CMS's source, else the info line's 来源 (the info line's first when the page shows another)."""
    meta = first_meta(metas, META_PUBLISHER)
    if meta and trust_meta:
        return meta
    for pattern in (_PUBLISHER, _AUTHOR):
        for line in info:
            m = pattern.search(line)
            if m:
                name = _NAME_TAIL.sub("", _LABEL_TAIL.sub("", m.group(1))).strip(" ,，;；")
                if len(name) >= 2:
                    return name
    return meta or None


def shows_meta_publisher(metas: dict[str, str], html: str) -> bool:
    """Does the page's first visible 来源 agree with its <meta> source (or show none)? A CMS may put the
    site's owner in <meta> and the article's source (新华网, a 公众号) in the info line."""
    meta = first_meta(metas, META_PUBLISHER)
    if not meta:
        return True
    start = body_start(html)
    at = min((i for i in (html.find("来源", start), html.find("來源", start)) if i >= 0), default=-1)
    shown = _SHOWN_SOURCE.match(html, at) if at >= 0 else None
    return shown is None or fold(meta) in fold(shown.group(1)) or fold(shown.group(1)) in fold(meta)


_SHOWN_SOURCE = re.compile(
    r"(?:信息来源|文章来源|来源|來源)\s*(?:[:：]|&nbsp;)\s*(?:<[^>]{0,200}>\s*)*([^<\s&]{2,40})"
)


def signoff_publisher(lines: list[str]) -> str | None:
    """The issuer a notice names only in its sign-off: the short line of an office's name right above the
    closing date (大数据学院学生科 / 2026年11月3日)."""
    kept = [line.strip() for line in lines if line.strip()][-6:]
    for i in range(len(kept) - 1, 0, -1):
        date_line, name = kept[i], kept[i - 1]
        if _SIGNOFF_DATE.match(date_line) and 2 <= len(name) <= 24 and _OFFICE.search(name):
            return name
    return None


_SIGNOFF_DATE = re.compile(
    r"^(?:19|20)\d{2}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日$|^(?:19|20)\d{2}-\d{1,2}-\d{1,2}$"
)
_OFFICE = re.compile(
    r"(?:局|厅|委|委员会|办公室|办|院|科|处|中心|学院|大学|学校|公司|协会|学会|政府|部|所|室|站|馆|会)$"
)


def find_tag(title: str | None, metas: dict[str, str]) -> tuple[str | None, str | None]:
    """(tag, title without the tag): 【通知公告】 in the title, else the CMS column name."""
    if title:
        tag, rest = split_tag(title)
        if tag:
            return tag, rest
    return first_meta(metas, META_COLUMN), title


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
