"""Programme rules → Matches with reasons; kind, region, document number and deadline. Pure.

Terms of every programme and task go into one Aho–Corasick automaton (pyahocorasick), run over the
folded title and body: overlapping terms are all found, which one big regex alternation silently drops.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

import ahocorasick

from . import yamlconf as y
from .models import Extracted, attachment_label
from .normalize import fold

TITLE_WEIGHT = 3.0


@lru_cache(maxsize=65536)
def term_key(term: str) -> str:
    """A term's folded form, computed once: folding runs OpenCC."""
    return fold(term)


BODY_CAP = 3  # a term repeated ten times in the body is not ten times the evidence
ATTACHMENT_WEIGHT = 0.5  # an attachment's text counts half the body's, and only for terms the page lacks


@dataclass(frozen=True)
class Task:
    id: str
    name: str
    terms: dict[str, float]
    threshold: float = 4.0


@dataclass(frozen=True)
class Programme:
    id: str
    name: str
    terms: dict[str, float]
    threshold: float = 8.0
    required: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()
    bodies: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    tasks: tuple[Task, ...] = ()
    # Places whose own actions are this programme: one of its tasks, done there, matches without the
    # programme's name (a 广州 unicorn list is 广州's innovation-centre action; Shenzhen's is not).
    home: tuple[str, ...] = ()


@dataclass(frozen=True)
class Reason:
    term: str
    field: str  # title | body | 附件1 申报指南.pdf
    count: int


@dataclass(frozen=True)
class Match:
    programme: str
    name: str
    task: str | None
    score: float
    reasons: tuple[Reason, ...]
    task_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "programme": self.programme, "name": self.name, "task": self.task, "task_id": self.task_id,
            "score": round(self.score, 1),
            "reasons": [{"term": r.term, "field": r.field, "count": r.count} for r in self.reasons],
        }  # fmt: skip


@dataclass(frozen=True)
class Classification:
    matches: tuple[Match, ...] = ()
    kind: str = "other"
    region: str | None = None
    doc_number: str | None = None
    deadline: str | None = None
    group: str | None = None  # same notice reposted on several sites shares this

    def to_json(self) -> dict[str, Any]:
        return {
            "matches": [m.to_json() for m in self.matches], "kind": self.kind, "region": self.region,
            "doc_number": self.doc_number, "deadline": self.deadline, "group": self.group,
        }  # fmt: skip


# ---------------------------------------------------------------- loading


def load_programmes(path: str | None = None, text: str | None = None) -> tuple[Programme, ...]:
    """Programmes from a YAML file (or the bundled default), validated with file, line and field."""
    if path is None and text is None:
        return _bundled()
    doc = y.load(path or "programmes.yaml", text)
    value = doc.value.get("programmes") if isinstance(doc.value, dict) else None
    return parse_programmes(doc, value, ("programmes",))


@lru_cache(maxsize=1)
def _bundled() -> tuple[Programme, ...]:
    """The four programmes shipped in watcher/programmes.yaml, read once a process."""
    text = resources.files("watcher").joinpath("programmes.yaml").read_text("utf-8")
    return load_programmes("watcher/programmes.yaml", text)


_TERMS = y.Field(
    dict,
    ...,
    lambda v: (
        None if v and all(isinstance(w, int | float) for w in v.values()) else "a mapping of term: weight"
    ),
)
_TASK = {"id": y.Field(str), "name": y.Field(str), "terms": _TERMS, "threshold": y.Field((int, float), 4.0)}
_PROGRAMME = {
    "id": y.Field(str), "name": y.Field(str), "terms": _TERMS, "threshold": y.Field((int, float), 8.0),
    "required": y.Field(list, []), "excluded": y.Field(list, []), "bodies": y.Field(list, []),
    "regions": y.Field(list, []), "tasks": y.Field(list, []), "home": y.Field(list, []),
}  # fmt: skip


def parse_programmes(doc: y.Doc, value: Any, at: y.Path_) -> tuple[Programme, ...]:
    if not isinstance(value, list):
        raise doc.error(at, "expected a list of programmes")
    out = []
    for i, item in enumerate(value):
        raw = y.record(doc, (*at, i), item, _PROGRAMME, "a programme")
        tasks = tuple(
            Task(**y.record(doc, (*at, i, "tasks", j), t, _TASK, "a task"))
            for j, t in enumerate(raw.pop("tasks"))
        )
        for key in ("required", "excluded", "bodies", "regions", "home"):
            raw[key] = y.str_list(doc, (*at, i, key), raw[key]) if raw[key] else ()
        out.append(Programme(**raw, tasks=tasks))
    return tuple(out)


# ---------------------------------------------------------------- the classifier


@dataclass
class Classifier:
    programmes: tuple[Programme, ...]
    _automaton: Any = field(init=False, repr=False)

    def __post_init__(self) -> None:
        automaton = ahocorasick.Automaton()
        words: set[str] = set()
        for p in self.programmes:
            words.update(p.terms, p.required, p.excluded)
            for t in p.tasks:
                words.update(t.terms)
        for word in words:
            folded = fold(word)
            automaton.add_word(folded, folded)
        automaton.make_automaton()
        self._automaton = automaton

    def _counts(self, text: str) -> dict[str, int]:
        counts: dict[str, int] = {}
        if text:
            for _, word in self._automaton.iter(text):
                counts[word] = counts.get(word, 0) + 1
        return counts

    def classify(
        self,
        title: str,
        body: str = "",
        *,
        tag: str | None = None,
        publisher: str | None = None,
        url: str = "",
        doc_number: str | None = None,
        deadline: str | None = None,
        date: str | None = None,
        attachments: Sequence[tuple[str, str]] = (),
    ) -> Classification:
        """`attachments`: (label, text) of each attachment read, weighed below the title and body."""
        ftitle, fbody = fold(title), fold(body)
        seen = Seen(self._counts(ftitle), self._counts(fbody), lead=self._counts(fbody[:LEAD]))
        seen.place = place_of(ftitle, fbody[:LEAD])
        seen.kind = notice_kind(tag, title)
        for label, text in attachments:
            if counts := self._counts(fold(text)):
                seen.attachments.append((label, counts))
        matches = [m for p in self.programmes if (m := self._match(p, seen))]
        matches.sort(key=lambda m: -m.score)
        return Classification(
            matches=tuple(matches),
            kind=seen.kind,
            region=region_of(publisher, title, url),
            doc_number=doc_number,
            deadline=deadline,
            group=repost_group(ftitle, doc_number, date),
        )

    def classify_extracted(self, x: Extracted) -> Classification:
        texts = [
            (attachment_label(i, a.name), text)
            for i, (a, text) in enumerate(zip(x.attachments, x.attachment_texts, strict=False), 1)
            if text
        ]
        return self.classify(
            x.title or "", x.text, tag=x.tag, publisher=x.publisher, url=x.url, doc_number=x.doc_number,
            deadline=x.deadline.iso if x.deadline else None, date=x.date.iso if x.date else None,
            attachments=texts,
        )  # fmt: skip

    def _match(self, p: Programme, seen: Seen) -> Match | None:
        if any(term_key(t) in seen.title for t in p.excluded):
            return None
        place = seen.place
        if place and _foreign(place.term, p.regions):
            if place.field == "title":
                return None  # the title sets the notice in another place: its news on the same themes is not ours
            # the body's lead sets it elsewhere: only the programme's own name counts, not shared themes
            # (Shenzhen's 综合性国家科学中心, 长三角's 科技创新一体化)
            return _by_terms(p, seen, named=True)
        return _by_terms(p, seen) or _by_action(p, seen)


def _by_terms(p: Programme, seen: Seen, *, named: bool = False) -> Match | None:
    """The programme named: its terms reach the threshold (and one of `required` is there). `named`: one
    term that alone reaches the threshold (the programme's own name) must be among them."""
    if p.required and not any(seen.anywhere(term_key(t)) for t in p.required):
        return None
    if named and not any(
        w >= p.threshold and (term_key(t) in seen.title or term_key(t) in seen.body)
        for t, w in p.terms.items()
    ):
        return None
    score, reasons = _score(p.terms, seen)
    if score < p.threshold:
        return None
    best = _best_task(p, seen)
    if best is None and all(term_key(r.term) in _PLACE_KIND for r in reasons):
        return None  # only the region's name (珠三角) and none of the programme's actions: a place, not it
    if best:
        reasons += [r for r in best[2] if r not in reasons]
    return Match(
        p.id, p.name, best[1].name if best else None, score, tuple(reasons), best[1].id if best else None
    )


def _by_action(p: Programme, seen: Seen) -> Match | None:
    """One of the programme's actions (a task), done at its home: named in the title or the body's lead,
    in a notice the title (else the lead) sets there, and not a list of results. The reasons name the
    place and the action's terms."""
    if not (p.home and seen.place and seen.place.term not in _AREAS and _within(seen.place.term, p.home)):
        return None
    if seen.kind == "公示":
        return None  # a list of firms certified under a national scheme (高企, 科小) administers that scheme
    action = _best_task(p, Seen(seen.title, seen.lead))
    if action is None:
        return None
    score, task, reasons = action
    return Match(p.id, p.name, task.name, score, (seen.place, *reasons), task.id)


@dataclass
class Seen:
    """How often each term occurs in the title, the body, the body's lead and each attachment read;
    and where the notice is set (a Reason naming the place and the field it was read from), if said."""

    title: dict[str, int]
    body: dict[str, int]
    attachments: list[tuple[str, dict[str, int]]] = field(default_factory=list)
    lead: dict[str, int] = field(default_factory=dict)
    place: Reason | None = None
    kind: str = "其他"

    def anywhere(self, key: str) -> bool:
        return key in self.title or key in self.body or any(key in counts for _, counts in self.attachments)


def _best_task(p: Programme, seen: Seen) -> tuple[float, Task, list[Reason]] | None:
    best: tuple[float, Task, list[Reason]] | None = None
    for task in p.tasks:
        t_score, t_reasons = _score(task.terms, seen)
        if t_score >= task.threshold and (best is None or t_score > best[0]):
            best = (t_score, task, t_reasons)
    return best


def _score(terms: dict[str, float], seen: Seen) -> tuple[float, list[Reason]]:
    score, reasons = 0.0, []
    for term, weight in terms.items():
        key = term_key(term)
        if seen.title.get(key):
            score += weight * TITLE_WEIGHT
            reasons.append(Reason(term, "title", seen.title[key]))
        if seen.body.get(key):
            score += weight * min(seen.body[key], BODY_CAP)
            reasons.append(Reason(term, "body", seen.body[key]))
        elif key not in seen.title:  # only what the page itself does not say is taken from an attachment
            for label, counts in seen.attachments:
                if counts.get(key):
                    score += weight * ATTACHMENT_WEIGHT * min(counts[key], BODY_CAP)
                    reasons.append(Reason(term, label, counts[key]))
                    break
    return score, reasons


# ---------------------------------------------------------------- kind, region

KINDS = ("政策解读", "公示", "下达", "遴选", "申报", "新闻", "其他")
_KIND_RULES = [
    ("政策解读", re.compile(r"解读|问答|图解")),
    ("公示", re.compile(r"公示|名单|结果|公告$|的公告|通报|入选|认定结果")),
    ("下达", re.compile(r"下达|拨付|资金安排|经费的通知|资金的通知")),
    ("遴选", re.compile(r"遴选|评选|推荐|择优|评审")),
    ("申报", re.compile(r"申报|征集|申请|报名|组织开展|申领|指南")),
    ("新闻", re.compile(r"新闻|动态|要闻|资讯|活动周|召开|举办|开幕|走进|调研")),
]


def notice_kind(tag: str | None, title: str) -> str:
    """申报, 遴选, 公示, 下达, 政策解读, 新闻 or 其他, from the category tag and the title."""
    folded_tag = fold(tag or "")
    if "解读" in folded_tag:
        return "政策解读"
    if "新闻" in folded_tag or "动态" in folded_tag:
        return "新闻"
    folded = fold(title)
    for kind, pattern in _KIND_RULES:
        if pattern.search(folded):
            return kind
    if "公示" in folded_tag:
        return "公示"
    return "其他"


DISTRICTS = {
    "佛山": ("禅城区", "南海区", "顺德区", "三水区", "高明区"),
    "广州": (
        "越秀区",
        "海珠区",
        "荔湾区",
        "天河区",
        "白云区",
        "黄埔区",
        "番禺区",
        "花都区",
        "南沙区",
        "从化区",
        "增城区",
    ),
}
_HOSTS = {"nanhai.gov.cn": "南海区", "shunde.gov.cn": "顺德区", "ss.gov.cn": "三水区", "foshan.gov.cn": "佛山",
          "gz.gov.cn": "广州", "gzast.org.cn": "广州", "gd.gov.cn": "广东省"}  # fmt: skip
_CITIES = ("广州", "佛山", "深圳", "珠海", "东莞", "中山", "江门", "惠州", "肇庆")


def region_of(publisher: str | None, title: str, url: str = "") -> str | None:
    """The most specific place: a district, else a city, else 广东省; publisher first, then title, then URL."""
    for text in (fold(publisher or ""), fold(title)):
        for districts in DISTRICTS.values():
            for district in districts:
                if district in text:
                    return district
        for city in _CITIES:
            if city in text:
                return city
        if "广东省" in text or text.startswith("省") or "粤" in text[:4]:
            return "广东省"
    host = re.sub(r"^https?://([^/:]+).*$", r"\1", url)
    for suffix, region in _HOSTS.items():
        if host.endswith(suffix):
            return region
    return None


# Where a notice is set, to tell a programme's own actions from other places' news on the same themes.
# A place is a city (or a district or landmark of one), or a wider area (a province, 大湾区, 珠三角).
LEAD = 200  # the body's opening: the dateline and first sentence say where, and what the notice is about
_LANDMARKS = {
    "广州开发区": "广州",
    "生物岛": "广州",
    "知识城": "广州",
    "广州科学城": "广州",
    "南沙科学城": "广州",
    "中山大学": "广州",  # not the city of 中山
}
_OTHER_CITIES = (
    "北京", "上海", "天津", "重庆", "深圳", "杭州", "合肥", "南京", "武汉", "成都", "西安", "苏州", "长沙",
    "郑州", "济南", "青岛", "宁波", "厦门", "福州", "无锡", "常州", "沈阳", "大连", "长春", "哈尔滨",
    "石家庄", "太原", "南昌", "贵阳", "南宁", "昆明", "兰州", "汕头", "湛江", "韶关", "清远", "香港", "澳门",
)  # fmt: skip
_AREAS = (
    "广东", "粤港澳", "大湾区", "珠三角", "珠江三角洲", "长三角", "京津冀", "成渝", "江苏", "浙江", "安徽",
    "山东", "河南", "河北", "湖北", "湖南", "四川", "陕西", "福建", "江西", "广西", "云南", "贵州", "辽宁",
    "吉林", "黑龙江", "山西", "内蒙古", "新疆", "甘肃", "海南", "青海", "宁夏", "西藏",
)  # fmt: skip
_GUANGDONG = ("广东", "粤港澳", "大湾区", "珠三角", "珠江三角洲")


def _place_kinds() -> dict[str, str]:
    """Each place name → the city it is in, or itself for a city or a wider area."""
    kinds = {city: city for city in (*_CITIES, *_OTHER_CITIES)} | {area: area for area in _AREAS}
    for city, districts in DISTRICTS.items():
        for district in districts:
            kinds[district] = city
            # 南沙科学城, 黄埔: Guangzhou's districts are often named without 区 (佛山's 南海 is also a sea)
            if city == "广州":
                kinds[district.removesuffix("区")] = city
    return kinds | _LANDMARKS


_PLACE_KIND = _place_kinds()
_PLACE_RE = re.compile("|".join(sorted(map(re.escape, _PLACE_KIND), key=len, reverse=True)))


def _places(text: str) -> list[str]:
    """The place names in a folded text. A name inside a longer word is not the place: 以上海洋 (above
    the sea) is not 上海 (a replace, as a look-behind in _PLACE_RE made it eight times slower)."""
    return _PLACE_RE.findall(text.replace("以上海", "以上_"))


def place_of(ftitle: str, flead: str) -> Reason | None:
    """Where a folded notice is set: the first city its title names (else the first wider area it names);
    without a place in the title, the same read from the body's lead, where a dateline (本报广州讯) says
    where the reporter was, not what the notice is about; several cities in the lead are given as
    "广州、深圳" (no one city's own action)."""
    names = _places(ftitle)
    cities = [n for n in names if _PLACE_KIND[n] not in _AREAS]
    if cities or names:
        return Reason(_PLACE_KIND[(cities or names)[0]], "title", 1)
    dateline = _DATELINE.match(flead)
    if dateline and _places(flead[dateline.end() :]):
        flead = flead[dateline.end() :]
    names = _places(flead)
    cities = list(dict.fromkeys(_PLACE_KIND[n] for n in names if _PLACE_KIND[n] not in _AREAS))
    areas = [_PLACE_KIND[n] for n in names if _PLACE_KIND[n] in _AREAS]
    if len(cities) > 1:  # several cities: a shared theme, set nowhere unless all are one programme's others
        return Reason("、".join(cities), "body", 1)
    if cities or areas:
        return Reason((cities or areas)[0], "body", 1)
    return None


# 本报广州9月1日电, 中新网广州12月20日电, 【本报东莞讯】, 南方财经记者 广州报道
_DATELINE = re.compile(r"^[^。,;]{0,24}?(?:\d{1,2}月\d{1,2}日)?(?:电|讯|报道)[)】\]\s]*")


def _foreign(place: str, regions: Sequence[str]) -> bool:
    """Is a place outside a programme's regions: another city, or a wider area that does not hold them
    (长三角 for a Guangzhou programme; 大湾区 and 珠三角 hold Guangzhou)?"""
    if "、" in place:  # several cities: foreign only when none of them is in the regions
        return all(_foreign(city, regions) for city in place.split("、"))
    if not regions or _within(place, regions):
        return False
    if place in _GUANGDONG:
        return not all(r == "广东省" or _PLACE_KIND.get(r, r) in _CITIES for r in regions)
    return True


def _within(place: str, regions: Sequence[str]) -> bool:
    """Is a place (a city or an area) inside one of the regions (cities, districts, 广东省)?"""
    if not regions:
        return True
    cities = {_PLACE_KIND.get(r, r) for r in regions}
    if "广东省" in regions:
        cities |= {*_CITIES, *_GUANGDONG}
    return place in cities


def repost_group(ftitle: str, doc_number: str | None, date: str | None) -> str | None:
    """What makes two pages one document (a repost on another site, alerted once): the same document
    number and title, or, without a number, the same title and date. A page that only cites a number
    (a 政策解读 of the policy) has its own title, so it is its own document."""
    title = _NOT_WORD.sub("", ftitle)
    if doc_number:
        return f"{doc_number}|{title}"
    return f"{title}|{date}" if date else None


_NOT_WORD = re.compile(r"[^\w]+")
