"""A notice page's <meta> fields and its title: the CMS's, the <title> without the site's name, or the
headline above the info line. Pure."""

from __future__ import annotations

import re

from selectolax.lexbor import LexborHTMLParser

from ..normalize import clean_space, find_dates, fold
from .dom import BLOCK_TAGS, Node, block_lines, node_text

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
# an info line with no label: a date and time alone, or after a medium's short name (湖北日报客户端2026-11-03 15:35)
_BARE_DATELINE = re.compile(
    r"^[\u4e00-\u9fff]{0,12}\s*(?:19|20)\d{2}[-/.年]\d{1,2}[-/.月]\d{1,2}日?\s*\d{1,2}:\d{2}(?::\d{2})?$"
)


def line_above_info(lines: list[str]) -> str | None:
    """The line right above the first info line (a short line with a date and 来源/发布/时间…), when it
    reads as a headline: where a page without a heading element puts its title."""
    kept = [line.strip() for line in lines if line.strip()]
    for i, line in enumerate(kept[1:], 1):
        if len(line) <= 80 and (_INFO_HINT.search(line) or _BARE_DATELINE.match(line)) and find_dates(line):
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
