"""Programme rules → Matches with reasons; kind, region, document number and deadline. Pure.

Terms of every programme and task go into one Aho–Corasick automaton (pyahocorasick), run over the
folded title and body: overlapping terms are all found, which one big regex alternation silently drops.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import ahocorasick

from .models import Extracted, attachment_label
from .normalize import fold
from .places import AREAS, LEAD, PLACE_KIND, foreign, place_of, region_of, within
from .programmes import Classification, Match, Programme, Reason, Task

TITLE_WEIGHT = 3.0


@lru_cache(maxsize=65536)
def term_key(term: str) -> str:
    """A term's folded form, computed once: folding runs OpenCC."""
    return fold(term)


BODY_CAP = 3  # a term repeated ten times in the body is not ten times the evidence
ATTACHMENT_WEIGHT = 0.5  # an attachment's text counts half the body's, and only for terms the page lacks


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
        seen = Seen(
            self._counts(ftitle), self._counts(fbody), lead=self._counts(fbody[:LEAD]), lead_text=fbody[:LEAD]
        )
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
        if place and foreign(place.term, p.regions):
            if place.field == "title":
                return None  # the title sets the notice in another place: its news on the same themes is not ours
            # the body's lead sets it elsewhere: only the programme's own name counts, not shared themes
            # (Shenzhen's 综合性国家科学中心, 长三角's 科技创新一体化), and not that place's own instance of it
            if _qualified_by(p, seen.lead_text, place.term):
                return None
            return _by_terms(p, seen, named=True)
        return _by_terms(p, seen) or _by_action(p, seen)


def _qualified_by(p: Programme, text: str, place: str) -> bool:
    """Is the programme's own name qualified by the place in the text: "科创中国·嘉兴", "嘉兴市科创中国",
    that place's own pilot of a national scheme, which is its news and not the programme's?"""
    names = [term_key(t) for t, w in p.terms.items() if w >= p.threshold]
    for city in place.split("、"):
        for name in names:
            if re.search(f"{re.escape(name)}[·・•\\-—\\s]?{city}|{city}市?[·・•\\s]?{re.escape(name)}", text):
                return True
    return False


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
    if best is None and all(term_key(r.term) in PLACE_KIND for r in reasons):
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
    if not (p.home and seen.place and seen.place.term not in AREAS and within(seen.place.term, p.home)):
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
    lead_text: str = ""
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


# ---------------------------------------------------------------- kind

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


def repost_group(ftitle: str, doc_number: str | None, date: str | None) -> str | None:
    """What makes two pages one document (a repost on another site, alerted once): the same document
    number and title, or, without a number, the same title and date. A page that only cites a number
    (a 政策解读 of the policy) has its own title, so it is its own document."""
    title = _NOT_WORD.sub("", ftitle)
    if doc_number:
        return f"{doc_number}|{title}"
    return f"{title}|{date}" if date else None


_NOT_WORD = re.compile(r"[^\w]+")
