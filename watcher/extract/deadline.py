"""The applicant's deadline in a notice's text (its body or an attached guide): every dated phrase becomes a
candidate with a role, and the applicant's last date wins.

Roles, read from the words around each date:
  extension    延长至 / 延期至 / 顺延至 / 延长…期限至 …: a later date for the same call; wins over everything else
  conditional  an extension only if something happens (如…仍然生效，…将延至…): used when nothing else is
  applicant    …前报送 / 截止时间：… / 报名时间：A至B / 即日起至… / 于…报送，逾期…: what the applicant must meet
  subset       an applicant date for part of the applicants only (港澳台项目…): used when nothing else is
  forwarding   a district bureau, a 主管部门 or the issuing office forwarding or reviewing what was received,
               or an office that is the sentence's subject reporting to the issuer (请各区…于…前…反馈我局)
  objection    a 公示 or 异议 period: a results notice, not a call
  eligibility  a condition on the applicant (成立、注册、出生、发表 before a date; points counted up to a date;
               …（含）之前的企业 sorting who may enter)
  statistic    截至… as "as of" (截至9月18日，全国…): a count, not a deadline
Only extension, applicant and subset candidates are chosen, a forwarding date when the text gives the
applicant no date of their own (a notice to the 院部 that collect and forward), and a conditional extension
last of all; among them the latest date
is the applicant's last one (online then paper, registration then submission). A notice whose dates are all
of the other roles has no deadline: none is invented on results, news and interpretations. Dates in
Chinese numerals (二○二○年二月十七日) are read as digits first, and a Minguo year (110年7月8日) as 2021.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable
from dataclasses import dataclass

from ..models import DateValue
from ..normalize import calendar_day, to_simplified
from .budget import tick

_FULL = r"((?:19|20)\d{2})\s*[年/.\-]\s*(\d{1,2})\s*[月/.\-]\s*(\d{1,2})\s*[日号]?"
_MONTH_DAY = r"(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]"
_DAY = r"(\d{1,2})\s*[日号]"
# A time of day, a weekday or a note in brackets between a date and what follows it: 17:00, （周一）, 下午5点.
_TIME = r"(?:\s*[（(][^）)]{0,12}[）)]|\s*(?:上午|下午|晚上|中午)?\s*\d{1,2}\s*[:：时点]\s*(?:\d{1,2}\s*分?)?\s*时?)*"
_TOKEN = re.compile(rf"(?=\d)(?:{_FULL}|{_MONTH_DAY})")
_YEAR = re.compile(r"((?:19|20)\d{2})\s*年")
# A Minguo year right before a month-day (110年7月8日): 1911 years behind.
_MINGUO_YEAR = re.compile(r"(?<!\d)(\d{2,3})\s*年\s*$")
# A date in Chinese numerals (二○二○年二月十七日下午五时), read as digits before anything else.
_CN_DIGIT = "〇○零一二三四五六七八九"
_CN_MONTH = re.compile(r"[一二三四五六七八九十]\s*月")
_CN_DATE = re.compile(
    rf"(?:([{_CN_DIGIT}]{{4}})\s*年\s*)?(十[一二]?|[一二三四五六七八九])\s*月\s*"
    r"([一二三]?十[一二三四五六七八九]?|[一二三四五六七八九])\s*([日号號])"
    r"(?:([（(][^）)]{0,6}[）)])?\s*(上午|下午|晚上|中午)?\s*(十[一二]?|[一二三四五六七八九])\s*([时点時點]))?"
)
# Characters written only in Traditional Chinese, common in any notice: a text holding one is read through
# OpenCC's Simplified form (9 µs for a 120-character passage; a Simplified text pays this search alone).
_TRADITIONAL = re.compile(r"[報請時間於遞發傳錄陸註冊項審匯總薦選齡滿區縣級財歸門異議順變調為後齊臺號單將]")
# The end of a range or list after a date: 至 / 到 / — / - / ～ / 、 then a full date, a month-day or a day.
_RANGE_END = re.compile(rf"{_TIME}\s*(?:至|到|—+|–|－|-|～|~|、)\s*(?:{_FULL}|{_MONTH_DAY}|{_DAY})")

# Where sentences and clauses end: found once a text, then looked up by bisection for each date.
_SENTENCE_END = re.compile(r"[。；;！？!?\n]")
_CLAUSE_END = re.compile(r"[。；;！？!?\n，,]")
_SENTENCE_HEAD = re.compile(r"[^。；;！？!?\n]{0,60}")
_CLAUSE_HEAD = re.compile(r"[^。；;！？!?\n，,]{0,40}")

# What an applicant does by a date: hand in, send, register, apply, upload, accept (前受理).
_ACTS = (
    "提交|报送|上报|报名|申报|申请|报至|报到|送达|送交|递交|发送|发至|反馈|上传|登录|登陆|填报|注册|寄|受理|"
    "接收|投递|投稿|交至|交到|报市|报县|报区|报省|报科|报学校|报局|报送至|网申|征集|征稿|截稿|提名|推荐|函报"
)
_BEFORE = re.compile(rf"^{_TIME}\s*或?\s*(?:之前|以前|前)")
_ACT = re.compile(_ACTS)
_BEFORE_ACTS = re.compile(rf"(?:{_ACTS})[^，,。；;\n]{{0,12}}$")
_AFTER_END = re.compile(rf"^{_TIME}\s*(?:截止|截至|为止|止|截稿)")
_AFTER_HAND_IN = re.compile(rf"^{_TIME}\s*(?:{_ACTS})")
_UNTIL = re.compile(r"(?:即日起|之日起|起)\s*(?:至|到)\s*$")
# A new date for the call: 延长至, or with the thing extended between (延长上述项目申报期限至), or 调整为.
_EXTENDED = re.compile(
    r"(?:(?:延长|延期|顺延|推迟|延迟|延后)[^，,。；;！？\n]{0,14}?(?:至|到)|延至|变更为|调整为|调整至|调整到)\s*$"
)
# A condition before the date (如…仍然生效，…将延至8月2日): a date only if it comes true.
_CONDITION = re.compile(r"^\s*(?:如果|如遇|倘若|假如|若|如(?!期|下|实|有关))")
_DEADLINE_LABEL = re.compile(r"(?:截止|截至)(?:时间|日期|日)?\s*(?:为|是|到|至|:|：)?\s*$")
_AS_OF = re.compile(r"(?:截至|截止)(?:到|至)?\s*$")
# A period is the applicant's only when it names what they do (报名时间, 受理时间): 活动时间 is an event.
_RANGE_WORDS = re.compile(rf"{_ACTS}|登记|预约")
_APPLY_WORDS = re.compile(rf"时间|日期|期限|{_ACTS}|材料|项目")
# 应当在 / 须于 / 请于 before a period: the applicant is told to act in it (大赛于…举行 is an event).
_MUST_IN = re.compile(r"(?:应当|应|须|必须|需|请|务必)\s*(?:在|于)\s*$")
_STANDING = re.compile(r"(?:次年|每年|当年|每月|上年|下年)\s*$|每(?:年|季度?|月|周|半年)|季度(?:最后|末)")
_ELIGIBILITY = re.compile(
    r"出生|年满|注册时间应|注册成立|成立时间|成立于|发表|完成整体技术|缴清|加分|计算的截止|认定时间|取得.{0,6}证"
)
# A date that sorts who may apply: 2017年12月31日（含）之前的企业, 之前领取营业执照的企业.
_WHO_QUALIFIES = re.compile(
    rf"^{_TIME}\s*(?:之前|以前|前|之后|以后|后)[^，,。；;、\n]{{0,8}}的(?:企业|单位|人员|项目|学生|申请人|个人|机构|团队|成果|产品)"
)
# 不得晚于 / 不迟于 / 最迟: the latest day allowed.
_NOT_LATER = re.compile(r"(?:不得晚于|不晚于|不得迟于|不迟于|最迟于?|最晚于?)\s*$")
# A 公示 period or an objection: not 公示系统 or a company publishing its own report (并向社会公示).
_OBJECTION = re.compile(
    r"公示(?:期|时间|日期|自|之日|时段|结束|截止|至|到|如下|：|:)|本公示|予以公示|进行公示|现将.{0,40}公示|异议"
)
# The issuer's own step after the applications: 组织有关专家对…进行评审, 开展论证.
_REVIEW = re.compile(r"组织[^，,。；]{0,6}专家|(?:进行|开展|完成|组织)(?:评审|论证|评估|答辩)")
_FORWARD_ACT = re.compile(
    r"汇总|审核|推荐函|推荐材料|推荐名单|推荐意见|推荐汇总|遴选|初审|复核|审核推荐|集中审核"
)
_FORWARDER = re.compile(
    r"主管部门|管理部门|科技部门|科技局|教体局|我局|我厅|我委|各区|各县|区县|县区|县\(市|县（市|市级|省级|推荐单位|归口|财政"
)
# Handed to the office that issued the notice (反馈我局, 报送我厅).
_TO_ISSUER = re.compile(r"(?:报送|报|反馈|发送|提交|送|交)(?:至|到)?(?:我局|我厅|我委|我办)")
_SUBSET = re.compile(r"港澳台")
_RESULTS = re.compile(r"公示|名单|结果|拟立项|拟认定|拟入库|拟支持|获奖|评选结果|中标|成交")
_CALL = re.compile(r"申报|征集|报名|申请|推荐|遴选|组织|开展|报送|提交|填报|延期|延长")
_AFTER_CLOSE = re.compile(r"截止后|结束后|收齐后")

ROLES_CHOSEN = ("extension", "applicant", "subset", "forwarding", "conditional")


@dataclass(frozen=True)
class Candidate:
    """A dated phrase of the text, what it is for, and why."""

    date: DateValue
    role: str
    phrase: str
    reason: str
    offset: int


def find_deadline(text: str, published: DateValue | None, title: str | None = None) -> DateValue | None:
    """The applicant's final deadline the text states, or None (see the module's note). A notice whose
    title announces results (公示, 名单, 结果 …, and no call) has none: the 提名截止日期 of the round it
    closes is not a deadline anyone can still meet."""
    if title and announces_results(title):
        return None
    chosen = choose(deadline_candidates(text, published))
    return chosen.date if chosen else None


def announces_results(title: str) -> bool:
    """A title of results (拟立项项目公示, 获奖名单, 评审结果) that calls for nothing (申报, 征集, 报送 …)."""
    title = to_simplified(title) if _TRADITIONAL.search(title) else title
    return bool(_RESULTS.search(title)) and not _CALL.search(title)


def choose(candidates: list[Candidate]) -> Candidate | None:
    """The latest extension, else the latest applicant date, else the latest date for part of the applicants."""
    for role in ROLES_CHOSEN:
        pool = [c for c in candidates if c.role == role]
        if pool:
            return max(pool, key=lambda c: (c.date.day, c.offset))
    return None


def deadline_candidates(text: str, published: DateValue | None) -> list[Candidate]:
    """Every date of the text that a deadline phrase could hold, with its role, in text order."""
    if not any(w in text for w in ("月", "-", "/", ".")):
        return []
    if _CN_MONTH.search(text):  # 0.7 µs a passage; the full pattern costs 13 µs, so it runs only after this
        text = _CN_DATE.sub(_arabic_date, text)
    fold: Callable[[str], str] = _same
    if _TRADITIONAL.search(text):
        simplified = to_simplified(text)
        if len(simplified) == len(text):  # character for character, as OpenCC nearly always is: offsets hold
            text = simplified
        else:
            fold = to_simplified
    out: list[Candidate] = []
    ends: set[int] = set()  # range ends already taken, so a range's end is not read twice
    years: list[tuple[int, int]] | None = None  # every 20XX年, found when a month-day first needs a year
    for m in _TOKEN.finditer(text):
        tick()
        start, end = m.start(), m.end()
        if start in ends:
            continue
        last = _RANGE_END.match(text, end)
        if last:
            ends.add(_group_start(last))
        # The words right around the date first: most dates (news, events, list lines) stop here.
        left = fold(text[_start_back(text, start, _CLAUSE_END, 40) : start])
        rest = fold(_head(_SENTENCE_HEAD, text, end))
        reason = _applicant_reason(left, fold(text[end : end + 40]), rest, last is not None)
        if reason is None:
            continue
        if years is None and not m[1]:
            years = [(y.start(), int(y[1])) for y in _YEAR.finditer(text)]
        value = _value(m, text, published, years or [])
        if value is None:
            continue
        if last:
            value = _range_value(last, value) or value
            end = last.end()
        out.append(_judge(text, start, end, value, left, rest, reason, fold))
    return out


def _arabic_date(m: re.Match[str]) -> str:
    """二○二○年二月十七日下午五时 as 2020年2月17日下午5时."""
    year = "".join(str(max(_CN_DIGIT.index(c) - 2, 0)) for c in m[1]) if m[1] else ""
    hour = f"{m[5] or ''}{m[6] or ''}{_cn_number(m[7])}{m[8]}" if m[7] else ""
    return f"{year + '年' if year else ''}{_cn_number(m[2])}月{_cn_number(m[3])}{m[4]}{hour}"


def _cn_number(text: str) -> int:
    """一 … 九, 十 … 三十一 as a number."""
    if "十" not in text:
        return _CN_DIGIT.index(text) - 2
    tens, _, units = text.partition("十")
    return (_CN_DIGIT.index(tens) - 2 if tens else 1) * 10 + (_CN_DIGIT.index(units) - 2 if units else 0)


def _value(
    m: re.Match[str], text: str, published: DateValue | None, years: list[tuple[int, int]]
) -> DateValue | None:
    if m[1]:
        return _day(int(m[1]), int(m[2]), int(m[3]))
    minguo = _MINGUO_YEAR.search(text, max(0, m.start() - 6), m.start())
    if minguo and 1 <= int(minguo[1]) <= 200:
        return _day(int(minguo[1]) + 1911, int(m[4]), int(m[5]))
    year = _year_for(text, m.start(), published, years)
    value = _day(year, int(m[4]), int(m[5])) if year else None
    if value and published and year == published.day.year and (published.day - value.day).days > _ROLLOVER:
        value = _day(year + 1, int(m[4]), int(m[5]))  # published in December, due 1月15日: next January
    return value


_ROLLOVER = 180  # days before its notice that a month-day is taken for the next year


def _year_for(text: str, at: int, published: DateValue | None, years: list[tuple[int, int]]) -> int | None:
    """A month-day's year: a year written earlier in its sentence, else the notice's, else any earlier one.

    `years` holds every 20XX年 of the text with its offset, so each lookup is a bisection."""
    i = bisect.bisect_left(years, (at, 0))
    if i and years[i - 1][0] >= _start_back(text, at, _SENTENCE_END, 160):
        return years[i - 1][1]
    if published is not None:
        return published.day.year
    if i:
        return years[i - 1][1]
    return years[i][1] if i < len(years) else None  # no date to go by: the year the text names next


def _range_value(m: re.Match[str], first: DateValue) -> DateValue | None:
    groups = m.groups()
    if groups[0]:
        return _day(int(groups[0]), int(groups[1]), int(groups[2]))
    if groups[3]:
        return _day(first.day.year, int(groups[3]), int(groups[4]))
    return _day(first.day.year, first.day.month, int(groups[5]))


def _group_start(m: re.Match[str]) -> int:
    return next(m.start(i) for i in range(1, 7) if m.group(i) is not None)


def _day(y: int, mo: int, d: int) -> DateValue | None:
    day = calendar_day(y, mo, d)
    return DateValue(day) if day else None


def _head(pattern: re.Pattern[str], text: str, at: int) -> str:
    m = pattern.match(text, at)
    return m[0] if m else ""


def _same(text: str) -> str:
    return text


def _start_back(text: str, at: int, ends: re.Pattern[str], reach: int, back: int = 1) -> int:
    """Where the `back`-th sentence or clause before `at` starts, looking at most `reach` characters back."""
    low = max(0, at - reach)
    cuts = [m.end() for m in ends.finditer(text, low, at)]
    return cuts[-back] if len(cuts) >= back else low


def _judge(
    text: str,
    start: int,
    end: int,
    value: DateValue,
    left: str,
    rest: str,
    reason: str,
    fold: Callable[[str], str],
) -> Candidate:
    """The role of a date that reads as a deadline, from its clause, its sentence and who acts in them."""
    clause_right = fold(_head(_CLAUSE_HEAD, text, end))
    sentence_start = _start_back(text, start, _SENTENCE_END, 120)
    sentence = fold(text[sentence_start:start]) + rest
    # Who acts is often named a clause or two before the date (主管部门出具推荐函，连同汇总表…，时间截止到…).
    near_left = fold(text[max(sentence_start, _start_back(text, start, _CLAUSE_END, 80, back=3)) : start])
    phrase = (left[-24:] + text[start:end] + clause_right[:24]).strip()

    def make(role: str, why: str) -> Candidate:
        return Candidate(value, role, phrase, why, start)

    as_of = _AS_OF.search(left)
    if as_of and not _APPLY_WORDS.search(left[: as_of.start()]):
        return make("statistic", "截至/截止 with nothing to hand in: a count as of that day")
    if _ELIGIBILITY.search(left + clause_right) or _WHO_QUALIFIES.match(fold(text[end : end + 40])):
        return make("eligibility", "a condition on the applicant")
    if _OBJECTION.search(sentence):
        return make("objection", "a 公示 or 异议 period")
    if _REVIEW.search(clause_right):
        return make("review", "experts review what was received: no one hands anything in")
    if _FORWARD_ACT.search(near_left + clause_right) and _FORWARDER.search(sentence):
        if _AFTER_CLOSE.search(left):
            return make("forwarded", "an office forwarding after the applicants' own date")
        return make("forwarding", "an office forwarding or reviewing what it received")
    if _FORWARDER.search(fold(text[sentence_start : sentence_start + 20])) and _TO_ISSUER.search(
        clause_right
    ):
        return make("forwarding", "an office, the sentence's subject, reporting to the issuing office")
    if reason == "extended":
        if _CONDITION.match(fold(text[sentence_start:start])):
            return make("conditional", "a new date only if the condition before it comes true")
        return make("extension", "a new date: 延长至/延期至…")
    if _SUBSET.search(left):
        return make("subset", f"{reason}, for part of the applicants")
    return make("applicant", reason)


def _applicant_reason(left: str, after: str, rest: str, ranged: bool) -> str | None:
    """Why the date is one the applicant must meet, or None; `rest` is the sentence after the date."""
    if _STANDING.search(left):
        return None  # 次年3月1日前, 每年5月30日前: a standing rule, no one date
    if _EXTENDED.search(left):
        return "extended"
    if _UNTIL.search(left):
        return "即日起至…"
    if ranged and _RANGE_WORDS.search(left):
        return "the end of the period to apply"
    if _DEADLINE_LABEL.search(left):
        return "截止时间…"
    if _NOT_LATER.search(left):
        return "不得晚于…"
    if ranged and _MUST_IN.search(left) and _ACT.search(rest):
        return "在…至… with what to hand in"
    before = _BEFORE.match(after)
    if before and (
        _ACT.search(rest) or _BEFORE_ACTS.search(left) or after[before.end() :].startswith(("将", "报"))
    ):
        return "…前 with what to hand in"
    if _AFTER_END.match(after):
        return "…截止"
    if re.search(r"(?:于|在)\s*$", left) and _AFTER_HAND_IN.match(after) and "逾期" in after + left:
        return "于…报送, 逾期不受理"
    return None
