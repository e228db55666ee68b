"""What an alert says, and how it reads in each channel family. Pure: `today` is an argument.

An `AlertData` is written into the outbox with the alert, so a message can be rendered, and re-rendered
after a failed send, without the item it describes. `render()` is the one renderer; a family decides
markup and length:

    email     HTML, a subject such as
              [广佛科技创新合作·申报] 关于组织申报2022年… (截止 2022-10-31); apprise makes the
              plain-text part from it, dropping every href and starting a line at each tag, so the
              HTML shows each address as text too and has no whitespace between its blocks
    markdown  DingTalk, Telegram, ServerChan, Slack, Discord, Matrix…
    text      WeCom and Feishu bots (apprise posts them as text messages, where markdown would show
              as asterisks), json://, the console and anything else
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from ..models import VersionRow

CHANGE_LABEL = {
    "new": "新通知",
    "changed": "通知更新",
    "reminder": "截止提醒",
    "removed": "已撤下",
    "failed": "发送失败",
    "health": "监测异常",
}
WHAT_LABEL = {"title": "标题", "body": "正文", "attachments": "附件", "deadline": "截止时间"}

FAMILIES: dict[str, str] = {
    "mailto": "email", "mailtos": "email", "email": "email",
    "dingtalk": "markdown", "tgram": "markdown", "schan": "markdown", "slack": "markdown",
    "discord": "markdown", "matrix": "markdown", "matrixs": "markdown",
}  # fmt: skip
# Byte limits of UTF-8 (WeCom counts bytes: 2,048, which apprise does not enforce) or, for Telegram,
# characters; a little under each service's own limit.
LIMITS: dict[str, tuple[int, str]] = {
    "wecombot": (2048, "bytes"), "feishu": (18000, "bytes"), "lark": (18000, "bytes"),
    "dingtalk": (19000, "bytes"), "tgram": (4000, "chars"), "schan": (30000, "bytes"),
}  # fmt: skip
DEFAULT_LIMIT = (32000, "bytes")
TITLE_CHARS = 40


@dataclass(frozen=True)
class ProgrammeMatch:
    id: str
    name: str
    task: str | None = None
    task_id: str | None = None
    terms: tuple[str, ...] = ()


@dataclass(frozen=True)
class AlertData:
    change: str  # new | changed | reminder | removed
    title: str
    url: str
    source: str
    item_key: str = ""
    publisher: str | None = None
    date: str | None = None
    kind: str = "其他"
    region: str | None = None
    deadline: str | None = None
    programmes: tuple[ProgrammeMatch, ...] = ()
    deadline_from: str | None = None  # 附件1: the deadline is in that attachment, not the page
    attachments: tuple[tuple[str, str], ...] = ()
    what: tuple[str, ...] = ()
    diff: str = ""
    group: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> AlertData:
        raw = dict(raw)
        raw["programmes"] = tuple(
            ProgrammeMatch(**dict(p, terms=tuple(p.get("terms", ())))) for p in raw.get("programmes", ())
        )
        raw["attachments"] = tuple(tuple(a) for a in raw.get("attachments", ()))
        raw["what"] = tuple(raw.get("what", ()))
        return cls(**raw)

    def days_left(self, today: dt.date) -> int | None:
        if not self.deadline:
            return None
        try:
            return (dt.date.fromisoformat(self.deadline[:10]) - today).days
        except ValueError:
            return None


def alert_data(change: str, version: VersionRow, source: str) -> AlertData:
    """From a version (as a check writes it, or as the store reads it back)."""
    c = version.classification or {}
    programmes = tuple(
        ProgrammeMatch(
            m["programme"], m["name"], m.get("task"), m.get("task_id"),
            tuple(dict.fromkeys(r["term"] for r in m.get("reasons", ()))),
        )
        for m in c.get("matches", ())
    )  # fmt: skip
    return AlertData(
        change=change, title=version.title or "", url=version.url or "", source=source,
        item_key=version.item_key or "", publisher=version.publisher, date=version.date,
        kind=c.get("kind") or "其他", region=c.get("region"), deadline=version.deadline,
        programmes=programmes, attachments=tuple((a["name"], a["url"]) for a in version.attachments or ()),
        what=tuple(version.what or ()), diff=version.diff or "", group=c.get("group"),
        deadline_from=version.deadline_from,
    )  # fmt: skip


@dataclass(frozen=True)
class Message:
    title: str
    body: str
    format: str  # html | markdown | text (apprise's NotifyFormat values)
    extra: dict[str, str] = field(default_factory=dict)


def what_changed(what: Iterable[str]) -> str:
    """正文、截止时间: the changed parts of a notice, in words."""
    return "、".join(WHAT_LABEL.get(w, w) for w in what)


def family_of(scheme: str) -> str:
    return FAMILIES.get(scheme.lower(), "text")


def render(alerts: list[AlertData], scheme: str, today: dt.date) -> Message:
    """One message for one alert, or a digest for several, in the family of the channel's scheme."""
    family = family_of(scheme)
    limit, unit = LIMITS.get(scheme.lower(), DEFAULT_LIMIT)
    if len(alerts) == 1:
        title, blocks = subject(alerts[0], today), notice_blocks(alerts[0], today)
    else:
        title, blocks = digest_subject(alerts, today), digest_blocks(alerts, today)
    style = _STYLES[family]
    # Chat bots drop or mangle titles: a digest carries its title in the body; a single alert's heading
    # already names the notice.
    inline = title if family != "email" and len(alerts) > 1 else ""
    body = fit(blocks, lambda bs: style.write(inline, bs), limit, unit)
    return Message(title if family == "email" else "", body, "html" if family == "email" else family)


# ---------------------------------------------------------------- what is said


def short(text: str, chars: int = TITLE_CHARS) -> str:
    return text if len(text) <= chars else text[: chars - 1] + "…"


def subject(a: AlertData, today: dt.date) -> str:
    label = "·".join(filter(None, [a.programmes[0].name if a.programmes else None, a.kind]))
    prefix = f"[{label}] " if label else ""
    lead = {"changed": "更新：", "reminder": _days_phrase(a.days_left(today)) + "截止：", "removed": "撤下："}
    tail = f" (截止 {a.deadline})" if a.deadline and a.change != "reminder" else ""
    return f"{prefix}{lead.get(a.change, '')}{short(a.title)}{tail}"


def _days_phrase(days: int | None) -> str:
    if days is None:
        return ""
    return "今天" if days == 0 else f"还有 {days} 天" if days > 0 else f"已过 {-days} 天"


# A block: (priority, kind, label, value). Lower priority goes first when a message must shrink.
Block = tuple[int, str, str, str]


def notice_blocks(a: AlertData, today: dt.date) -> list[Block]:
    blocks: list[Block] = [(9, "heading", CHANGE_LABEL.get(a.change, a.change), f"{a.title}\x1f{a.url}")]
    for p in a.programmes:
        task = f" · {p.task}" if p.task else ""
        blocks.append((8, "field", "项目", f"{p.name}{task}"))
        if p.terms:
            blocks.append((2, "field", "依据", "、".join(p.terms[:6])))
    blocks.append((7, "field", "类别", " · ".join(filter(None, [a.kind, a.region]))))
    if a.deadline:
        days = a.days_left(today)
        where = f"（见{a.deadline_from}）" if a.deadline_from else ""
        when = f"{a.deadline}（{_days_phrase(days)}）" if days is not None else a.deadline
        blocks.append((9, "field", "截止", when + where))
    origin = " · ".join(filter(None, [a.publisher, a.source]))
    blocks.append((6, "field", "来源", f"{origin}" + (f" · {a.date}" if a.date else "")))
    if a.what:
        blocks.append((8, "field", "变化", what_changed(a.what)))
    for line in a.diff.splitlines()[:12]:
        blocks.append((3, "diff", "", line))
    for name, url in a.attachments[:8]:
        blocks.append((4, "link", "附件", f"{name}\x1f{url}"))
    blocks.append((10, "link", "链接", f"原文\x1f{a.url}"))
    return blocks


def digest_subject(alerts: list[AlertData], today: dt.date) -> str:
    return f"[watcher] {today.isoformat()} 通知摘要：{len(alerts)} 条"


def digest_blocks(alerts: list[AlertData], today: dt.date) -> list[Block]:
    by_programme: dict[str, list[AlertData]] = {}
    for a in alerts:
        by_programme.setdefault(a.programmes[0].name if a.programmes else "其他通知", []).append(a)
    blocks: list[Block] = []
    for name, group in sorted(by_programme.items(), key=lambda kv: (kv[0] == "其他通知", kv[0])):
        blocks.append((9, "section", "", f"{name}（{len(group)}）"))
        for a in sorted(group, key=lambda a: (a.deadline or "9999", a.title)):
            days = a.days_left(today)
            due = f" · 截止 {a.deadline}（{_days_phrase(days)}）" if a.deadline else ""
            tag = CHANGE_LABEL.get(a.change, a.change)
            blocks.append((5, "item", f"{tag}·{a.kind}", f"{a.title}{due}\x1f{a.url}"))
    return blocks


# ---------------------------------------------------------------- how it is written


@dataclass(frozen=True)
class Style:
    """How one family writes each kind of block; `escape` guards text taken from third-party pages."""

    title: str
    blocks: dict[str, str]
    escape: Callable[[str], str]
    wrap: str = "{}"
    sep: str = "\n"  # between blocks

    def write(self, title: str, blocks: Iterable[Block]) -> str:
        e = self.escape
        out = [self.title.format(text=e(title))] if title else []
        for _, kind, label, value in blocks:
            text, _, url = value.partition("\x1f")
            out.append(self.blocks[kind].format(label=e(label), text=e(text), url=e(url)))
        return self.wrap.format(self.sep.join(out))


def _md(text: str) -> str:
    return text.replace("[", "［").replace("]", "］").replace("*", "＊").replace("_", "\\_")


TEXT = Style(
    title="{text}",
    blocks={
        "heading": "【{label}】{text}", "section": "\n■ {text}", "item": "· [{label}] {text}\n  {url}",
        "diff": "    {text}", "link": "{label}：{text} {url}", "field": "{label}：{text}",
    },
    escape=str,
)  # fmt: skip
MARKDOWN = Style(
    title="**{text}**",
    blocks={
        "heading": "### {label}：[{text}]({url})", "section": "\n#### {text}", "item": "- {label} [{text}]({url})",
        "diff": "> {text}", "link": "- {label}：[{text}]({url})", "field": "- **{label}**：{text}",
    },
    escape=_md,
)  # fmt: skip
# html.escape(quote=True) as one table: importing `html` loads html.entities too (half a megabyte of every
# process, for a function of five replacements).
_HTML_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;"})
_URL_STYLE = "color:#888;font-size:12px;word-break:break-all"
HTML = Style(
    title="<h1>{text}</h1>",
    blocks={
        "heading": '<p style="color:#666;margin:0">{label}</p><h2 style="margin:.2em 0 .5em"><a href="{url}">{text}</a></h2>',
        "section": "<h3>{text}</h3>",
        "item": f'<p style="margin:.25em 0">• [{{label}}] <a href="{{url}}">{{text}}</a><br><span style="{_URL_STYLE}">{{url}}</span></p>',
        "diff": '<pre style="margin:0;color:#555">{text}</pre>',
        "link": f'<p style="margin:.25em 0">{{label}}：<a href="{{url}}">{{text}}</a> <span style="{_URL_STYLE}">{{url}}</span></p>',
        "field": '<p style="margin:.25em 0"><b>{label}</b>：{text}</p>',
    },
    escape=lambda text: text.translate(_HTML_ESCAPES),
    wrap='<div style="font-family:sans-serif;line-height:1.6">{}</div>',
    sep="",  # a newline between two blocks would be a blank line of its own in the plain-text part
)  # fmt: skip
_STYLES = {"text": TEXT, "markdown": MARKDOWN, "email": HTML}


def fit(blocks: list[Block], write: Callable[[list[Block]], str], limit: int, unit: str) -> str:
    """Drop the least important blocks until the message fits; the title and the link always stay."""

    def size(text: str) -> int:
        return len(text.encode()) if unit == "bytes" else len(text)

    blocks, dropped = list(blocks), 0

    def written() -> str:
        note: list[Block] = [(10, "field", "另有", f"{dropped} 条未列出")] if dropped else []
        return write(blocks + note)

    text = written()
    while size(text) > limit:
        droppable = [i for i, b in enumerate(blocks) if b[0] < 9]
        if not droppable:
            break
        lowest = min(droppable, key=lambda i: (blocks[i][0], -i))  # least important, last first
        dropped += blocks.pop(lowest)[1] == "item"
        text = written()
    if size(text) > limit:  # still too long (a huge title): cut, keeping whole characters
        cut = text.encode()[: limit - 3].decode("utf-8", "ignore") if unit == "bytes" else text[: limit - 1]
        text = cut + "…"
    return text


__all__ = ["AlertData", "Message", "ProgrammeMatch", "alert_data", "family_of", "render", "sample", "subject"]


def sample(today: dt.date) -> AlertData:
    """The alert `watcher notify-test` sends: a call of the kind subscribers wait for."""
    y = today.year
    deadline = today + dt.timedelta(days=8)
    return AlertData(
        change="new", title=f"关于组织申报{y}年度广佛科技创新合作专项项目的通知（测试消息）",
        url="https://fskjj.foshan.gov.cn/", source="fs-kjj-gkmlpt", publisher="佛山市科学技术局",
        date=today.isoformat(), kind="申报", region="佛山", deadline=deadline.isoformat(),
        programmes=(ProgrammeMatch("guangfo", "广佛科技创新合作", "万亿级产业集群与核心技术攻关", "industry", ("广佛", "联合攻关")),),
        attachments=((f"{y}年度申报指南.pdf", "https://fskjj.foshan.gov.cn/guide.pdf"),),
    )  # fmt: skip
