"""Pure text functions: Traditional→Simplified folding, widths, spaces, noise and dates.

Nothing here does I/O or reads the clock: `now` is always an argument, so 3天前 parses the same way
in every run and every test.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from functools import lru_cache

import opencc

from .clock import day_of
from .models import BEIJING, DateValue

# ---------------------------------------------------------------- text folding


@lru_cache(maxsize=1)
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


_SPACES = re.compile(r"[ \t\r\f\v\u00a0\u3000\u2002-\u200b\ufeff]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")


def clean_space(text: str) -> str:
    """Fold every run of blanks (\\u3000, &nbsp; …) to one space and trim each line."""
    if "\u200b" in text or "\ufeff" in text:  # the blanks str.split() does not know
        text = text.replace("\u200b", " ").replace("\ufeff", " ")
    if "\n" not in text:  # most calls: an anchor or a label, one line
        return " ".join(text.split())
    lines = (" ".join(line.split()) for line in text.split("\n"))  # str.split: C speed, every Unicode blank
    return "\n".join(line for line in lines if line)


def to_simplified(text: str) -> str:
    return str(_t2s().convert(text))


@lru_cache(maxsize=64)  # a notice's body is folded for its fingerprint, its classification and search
def fold(text: str) -> str:
    """The form used for matching and hashing: Simplified, half-width, one space, lower case.

    The original text is kept for display; only comparisons see this form.
    """
    return _SPACES.sub(" ", to_simplified(nfkc(text))).strip().lower()


_FULL_WIDTH = re.compile(r"[\uff01-\uff5e\u3000]+")


def nfkc(text: str) -> str:
    """unicodedata.normalize("NFKC", text), eight times faster on Chinese prose.

    Full-width punctuation (，：（）) is what makes a Chinese text un-normalized, and NFKC then rebuilds
    the whole string. Normalizing just those runs gives a compatibility-equivalent string; when that is
    already in normal form it IS the NFKC form (normal forms are unique), otherwise the full NFKC runs.
    """
    text = _FULL_WIDTH.sub(lambda m: unicodedata.normalize("NFKC", m.group()), text)
    return text if unicodedata.is_normalized("NFKC", text) else unicodedata.normalize("NFKC", text)


def fold_lines(lines: list[str]) -> list[str]:
    """fold() of each line; lines repeat across a site's pages (headers, footers, boilerplate), so each
    distinct line is folded once. (Folding the joined text in one OpenCC call measured slower.)"""
    return [_fold_line(line) for line in lines]


@lru_cache(maxsize=4096)  # about 1 MB at most
def _fold_line(line: str) -> str:
    return fold(line)


# ---------------------------------------------------------------- noise

# Lines (or parts of lines) that change between two fetches of the same notice, or are page furniture.
_NOISE = [
    r"(点击|點擊|浏览|瀏覽|阅读|閱讀|访问|訪問)(次数|次數|量|数|數)?\s*[:：]?\s*\d+\s*次?",
    r"(字体|字體|字号|字號)\s*[:：]?\s*[\[【]?\s*(大|中|小|默认|默認)(\s*[|｜]?\s*(大|中|小|默认|默認))*\s*[\]】]?",
    r"[【\[]\s*(字体|字體|字号|字號)\s*[:：]?[^】\]]{0,20}[】\]]?",
    r"保护视力色\s*[:：]?",
    r"(打印本页|打印本頁|关闭窗口|關閉窗口|打印|关闭|收藏|分享到|分享给朋友)\s*[:：]?(?=\s|$)",
    r"(今天是|今日是)\s*\d{4}年\d{1,2}月\d{1,2}日\s*(星期.)?",
    r"(当前位置|當前位置|您的位置|您现在的位置)\s*[:：].*",
]
# The lookahead on the patterns' first characters lets the engine skip most positions at once.
_NOISE_RE = re.compile(
    "(?=[点點浏瀏阅閱访訪字【\\[保打关關收分今当當您])(?:" + "|".join(f"(?:{p})" for p in _NOISE) + ")"
)


def strip_noise(text: str) -> str:
    """Drop counters, font-size widgets, print/close buttons and breadcrumbs; keep everything else."""
    return clean_space(_NOISE_RE.sub(" ", text))


def dedupe_lines(lines: list[str], min_len: int = 8) -> list[str]:
    """Keep the first of each repeated paragraph (seed 000 repeats its tasks twice).

    Repeats are compared as written, spaces folded and case ignored: a repeat in the other script or
    width has not been seen on a real page, and folding every line was a third of a long page's time.
    """
    seen: set[str] = set()
    out = []
    for line in lines:
        key = " ".join(line.split()).lower()
        if len(key) >= min_len:
            if key in seen:
                continue
            seen.add(key)
        out.append(line)
    return out


# ---------------------------------------------------------------- dates

_Y = r"((?:19|20)\d{2})"
_M = r"(0?[1-9]|1[0-2])"
_D = r"(0?[1-9]|[12]\d|3[01])"
_TIME = r"(?:\s*(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\s*([AaPp][Mm]))?)?"
_YMD = re.compile(rf"(?<!\d){_Y}\s*[-/.年]\s*{_M}\s*[-/.月]\s*{_D}(?!\d)日?{_TIME}")
_MDY = re.compile(rf"(?<!\d){_M}/{_D}/{_Y}(?!\d){_TIME}")
_MD = re.compile(rf"(?<![\d年./-]){_M}\s*[-/月]\s*{_D}(?![\d/-])日?")
_COMPACT = re.compile(r"(?<!\d)((?:19|20)\d{2})(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])(?!\d)")
_RELATIVE = re.compile(
    r"(\d+)\s*(年|个月|個月|月|周|週|星期|天|日|小时|小時|分钟|分鐘|秒)前|(刚刚|剛剛|今天|昨天|前天)"
)
_REL_DAYS = {"年": 365, "个月": 30, "個月": 30, "月": 30, "周": 7, "週": 7, "星期": 7, "天": 1, "日": 1}
_REL_WORDS = {"刚刚": 0, "剛剛": 0, "今天": 0, "昨天": 1, "前天": 2}


def _make_time(h: str | None, mi: str | None, s: str | None, ampm: str | None) -> dt.time | None:
    if h is None or mi is None:
        return None
    hour = int(h)
    if ampm:
        hour = hour % 12 + (12 if ampm.lower() == "pm" else 0)
    try:
        return dt.time(hour, int(mi), int(s or 0))
    except ValueError:
        return None


def calendar_day(y: int, m: int, d: int) -> dt.date | None:
    try:
        return dt.date(y, m, d)
    except ValueError:
        return None


def find_dates(text: str) -> list[tuple[int, DateValue]]:
    """Every absolute date in `text` with its offset, in text order (Y-M-D, 年月日 and M/D/Y forms)."""
    found: list[tuple[int, DateValue]] = []
    taken: list[tuple[int, int]] = []
    for m in _YMD.finditer(text):
        day = calendar_day(int(m[1]), int(m[2]), int(m[3]))
        if day:
            found.append((m.start(), DateValue(day, _make_time(m[4], m[5], m[6], m[7]))))
            taken.append(m.span())
    for m in _MDY.finditer(text) if "/" in text else ():  # M/D/Y needs a slash: most texts have none
        if any(a <= m.start() < b for a, b in taken):
            continue
        day = calendar_day(int(m[3]), int(m[1]), int(m[2]))
        if day:
            found.append((m.start(), DateValue(day, _make_time(m[4], m[5], m[6], m[7]))))
    found.sort(key=lambda pair: pair[0])
    return found


@lru_cache(maxsize=1024)  # an entry's date text recurs across a site's lists and related blocks (87% hits)
def parse_date(
    text: str,
    now: dt.datetime | None = None,
    year_hint: int | None = None,
) -> DateValue | None:
    """The first date in `text`.

    Absolute dates win over relative ones (seed 004 shows "1年前 (2024-09-27)"). A month-day without a
    year takes `year_hint` (from the URL or the page); a relative phrase needs `now` and is marked
    approximate. Returns None rather than inventing anything.
    """
    if not text:
        return None
    absolute = find_dates(text)
    if absolute:
        return absolute[0][1]
    if year_hint is not None:
        m = _MD.search(text)
        if m:
            day = calendar_day(year_hint, int(m[1]), int(m[2]))
            if day:
                return DateValue(day)
    m = _COMPACT.search(text)
    if m:
        day = calendar_day(int(m[1]), int(m[2]), int(m[3]))
        if day:
            return DateValue(day)
    if now is not None:
        return parse_relative(text, now)
    return None


def parse_relative(text: str, now: dt.datetime) -> DateValue | None:
    m = _RELATIVE.search(text)
    if not m:
        return None
    today = day_of(now)
    if m[3]:
        days = _REL_WORDS[m[3]]
    elif m[2] in _REL_DAYS:
        days = int(m[1]) * _REL_DAYS[m[2]]
    else:  # hours, minutes, seconds ago
        unit = {"小时": 3600, "小時": 3600, "分钟": 60, "分鐘": 60, "秒": 1}[m[2]]
        return DateValue(
            (now.astimezone(BEIJING) - dt.timedelta(seconds=int(m[1]) * unit)).date(), None, True
        )
    return DateValue(today - dt.timedelta(days=days), None, True)


def date_from_url(url: str) -> DateValue | None:
    """Article URLs that carry their date: /202004/t20200407_123.html (TRS), /2014/0801/24971.html
    (DedeCMS), /2020/9/22/… and /2017_05/08_17/…."""
    for pattern in _URL_DATES:
        m = pattern.search(url)
        if m and (day := calendar_day(int(m[1]), int(m[2]), int(m[3]))):
            return DateValue(day)
    return None


_URL_DATES = (
    re.compile(r"[/_t]((?:19|20)\d{2})(0[1-9]|1[0-2])([0-3]\d)(?:_|\d{0,12}\.|/)"),
    re.compile(r"/((?:19|20)\d{2})[/_-](0[1-9]|1[0-2])/?([0-3]\d)[/_]"),
    re.compile(r"/((?:19|20)\d{2})/([1-9]|1[0-2])/([1-9]|[12]\d|3[01])/"),
)


@lru_cache(maxsize=4096)  # asked once per entry date: a notice's address recurs in its siblings' related
def year_from_url(url: str) -> int | None:
    m = re.search(r"/((?:19|20)\d{2})(?:0[1-9]|1[0-2])?(?:[0-3]\d)?/", url)
    if m:
        return int(m[1])
    value = date_from_url(url)
    return value.day.year if value else None


# ---------------------------------------------------------------- titles

_TAG = re.compile(r"^\s*[【\[]([^】\]]{1,10})[】\]]\s*")
_ELLIPSIS = re.compile(r"(\.{2,}|…+|⋯+)\s*$")


def split_tag(title: str) -> tuple[str | None, str]:
    """【通知公告】关于… → ("通知公告", "关于…")."""
    m = _TAG.match(title)
    if m and len(title) > m.end():
        return m[1].strip(), title[m.end() :].strip()
    return None, title.strip()


def is_truncated(text: str) -> bool:
    return bool(_ELLIPSIS.search(text))


def strip_ellipsis(text: str) -> str:
    return _ELLIPSIS.sub("", text).strip()
