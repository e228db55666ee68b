"""The tracked programmes (`Programme`, `Task`) loaded from YAML, and what a match against them says
(`Reason`, `Match`, `Classification`). Pure."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from . import yamlconf as y


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
