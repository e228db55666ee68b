"""A notice's info line (the lines just after its title) and sign-off: its date, publisher and tag, read
against what the page's <meta> says. Pure."""

from __future__ import annotations

import datetime as dt
import re

from ..models import DateValue
from ..normalize import date_from_url, find_dates, fold, fold_lines, parse_date, parse_relative, split_tag
from .titles import META_COLUMN, META_DATE, META_PUBLISHER, first_meta

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
            for m in pattern.finditer(line):
                if _CITE_REQUEST.search(line, 0, m.start()):
                    continue  # 如若转载，请注明来源：T: a reprint is asked to cite this page; it names no source
                name = _NAME_TAIL.sub("", _LABEL_TAIL.sub("", m.group(1))).strip(" ,，;；")
                if len(name) >= 2:
                    return name
    return _bare_medium(info[:4]) or meta or None


def _bare_medium(info: list[str]) -> str | None:
    """A medium's name with no 来源 label standing beside the date, on its line or the next
    (湖北日报客户端 / 2026-11-03 15:35:47): the source as a news app's info line prints it."""
    for i, line in enumerate(info):
        m = _MEDIUM.match(line)
        if m is None:
            continue
        beside = [line[m.end() :].strip(), *(info[j] for j in (i - 1, i + 1) if 0 <= j < len(info))]
        if any(_DATE_ONLY.match(text) for text in beside):
            return m.group(1)
    return None


_MEDIUM = re.compile(
    r"^([\u4e00-\u9fff]{1,12}(?:客户端|客戶端|日报|日報|晚报|晚報|早报|早報|商报|商報|时报|時報|网|網|电视台|電視台"
    r"|融媒体中心|融媒體中心))(?=\s|$|(?:19|20)\d{2})"
)
_DATE_ONLY = re.compile(r"^(?:19|20)\d{2}[-/.年]\d{1,2}[-/.月]\d{1,2}日?(?:\s+\d{1,2}:\d{2}(?::\d{2})?)?$")


_CITE_REQUEST = re.compile(r"(?:注明|标明|標明|保留)\s*$")


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
    kept = [line.strip() for line in lines if line.strip()]
    for i in range(len(kept) - 1, max(len(kept) - 6, 0), -1):
        if _signs_off(kept, i):
            return kept[i - 1]
    # 正文, 附件：1.… 2.…, office, date, then the attachment printed in the page (a form, a plan): the office
    # under the attachments list signs the notice, wherever the page ends
    for i in range(2, len(kept)):
        if _signs_off(kept, i) and _lists_attachments(kept[max(i - 6, 0) : i - 1]):
            return kept[i - 1]
    return None


def _signs_off(lines: list[str], i: int) -> bool:
    """Is lines[i] a closing date under an office's name?"""
    name = lines[i - 1]
    return bool(_SIGNOFF_DATE.match(lines[i])) and 2 <= len(name) <= 24 and bool(_OFFICE.search(name))


def _lists_attachments(above: list[str]) -> bool:
    """Do the lines right above a sign-off end with the notice's attachments list (附件：1.… then 2.…)?"""
    for line in reversed(above):
        if _ATTACHMENTS.match(line):
            return True
        if not _LIST_ITEM.match(line):
            return False
    return False


_ATTACHMENTS = re.compile(r"^附\s*[件表]\s*\d*\s*[:：]")
_LIST_ITEM = re.compile(r"^\d{1,2}\s*[.、．]")


# 2026年11月3日, 2026-11-3, and as offices date a letter: the month alone (2026年11月) or in Chinese numerals,
# a digit zero among them (二〇二六年十一月三日, 二0一四年六月)
_SIGNOFF_DATE = re.compile(
    r"^(?:19|20)\d{2}\s*年\s*\d{1,2}\s*月(?:\s*\d{1,2}\s*日)?$|^(?:19|20)\d{2}-\d{1,2}-\d{1,2}$"
    r"|^[一二][〇○零0一二三四五六七八九]{3}\s*年\s*[一二三四五六七八九十]{1,2}\s*月(?:\s*[一二三四五六七八九十]{1,3}\s*日)?$"
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
