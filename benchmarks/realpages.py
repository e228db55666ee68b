"""Score extraction on the corpus of real pages in tests/realpages, field by field.

    python benchmarks/realpages.py [NAME-PREFIX ...]

Two splits: the tuning pages (tests/realpages) and the blind pages (tests/realpages/blind): every third site
(repository, or host for a stored web page) in sha1 order, chosen before any rule was written from them; rules
are written on the tuning split and kept only if the blind score does not fall. Each split also holds deadline_passages.yaml: real notice
passages labelled with the applicant's final deadline (or null), scored by the deadline finder alone.

Each page is served by nobody: its bytes are decoded and extracted as `watcher extract FILE` does, against
the address it was published at. Its YAML holds labels written by reading the page:

  list    kind, the number of entries of the main list, and the first three entries' title, href, date
  notice  kind, title, date, publisher (when the page names one), number of attachments, deadline

and, unscored, its template family (TRS WCM, Hanweb JCMS, 博达 VSB, 集约化 platform, gkmlpt, ASP.NET, phpcms,
university site, court/tender list, search results, news portal, other) and its source. A site added after the
split goes blind when the sha1 of its repository (or host), read as a number, is 0 mod 3.

A line per page with its misses, then the totals by split and by family; tests/test_realpages.py holds the floor.
"""

from __future__ import annotations

import datetime as dt
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import yaml

from watcher.charset import decode
from watcher.extract import extract
from watcher.extract.notice import find_deadline
from watcher.models import BEIJING, DateValue, Extracted
from watcher.normalize import fold

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "realpages"
SPLITS = {"tuning": CORPUS, "blind": CORPUS / "blind"}
PASSAGES = "deadline_passages.yaml"
FLOORS = Path(__file__).resolve().parent.parent / "tests" / "realpages" / "floors.yaml"  # per page, only up
NOW = dt.datetime(2026, 12, 1, 9, 0, tzinfo=BEIJING)


@dataclass
class Score:
    name: str
    family: str = "other"
    site: str = ""
    right: int = 0
    total: int = 0
    misses: list[str] = field(default_factory=list)

    def check(self, label: str, got: Any, want: Any) -> None:
        self.total += 1
        if got == want:
            self.right += 1
        else:
            self.misses.append(f"{label}: {got!r} != {want!r}")


_TAGS = re.compile(r"^(?:\s*[【\[][^】\]]{1,12}[】\]])+")
_ELLIPSIS = re.compile(r"(?:\.{3,}|…+)$")


def same_title(text: str | None) -> str:
    """A title as compared: folded, without leading 【tags】 or a trailing ellipsis."""
    return fold(_ELLIPSIS.sub("", _TAGS.sub("", text or "")))


def cases(prefixes: list[str] | None = None, split: str | None = None) -> list[Path]:
    """The labelled pages of one split, or of both."""
    folders = [SPLITS[split]] if split else list(SPLITS.values())
    paths = sorted(
        p for folder in folders for p in folder.glob("*.yaml") if p.name not in (PASSAGES, FLOORS.name)
    )
    return [p for p in paths if not prefixes or p.stem.startswith(tuple(prefixes))]


def read(path: Path) -> Extracted:
    label = yaml.safe_load(path.read_text(encoding="utf-8"))
    text, encoding = decode(path.with_suffix(".html").read_bytes())
    return extract(text, label["url"], encoding, now=NOW)


def site_of(label: dict[str, Any]) -> str:
    """The site a page counts for: its repository, or the host of a stored web page."""
    source = label.get("source") or {}
    return source.get("repo") or urlsplit(source.get("url") or label["url"]).hostname or ""


def score_page(path: Path) -> Score:
    label = yaml.safe_load(path.read_text(encoding="utf-8"))
    score = Score(path.stem, label.get("family", "other"), site_of(label))
    try:
        got = read(path)
    except Exception as exc:  # a crash scores nothing on this page, and says why
        score.total = 1
        score.misses.append(f"crashed: {type(exc).__name__}: {exc}")
        return score
    score.check("kind", got.kind, label["kind"])
    if label["kind"] == "list":
        _score_list(score, got, label)
    else:
        _score_notice(score, got, label)
    return score


def _score_list(score: Score, got: Extracted, label: dict[str, Any]) -> None:
    score.check("count", len(got.items), label["count"])
    for i, want in enumerate(label["first"]):
        item = got.items[i] if i < len(got.items) else None
        score.check(f"#{i + 1} title", same_title(item.title if item else None), same_title(want["title"]))
        score.check(f"#{i + 1} url", item.url if item else None, urljoin(label["url"], want["href"]))
        score.check(f"#{i + 1} date", item.date.iso if item and item.date else None, want["date"])


def _score_notice(score: Score, got: Extracted, label: dict[str, Any]) -> None:
    score.check("title", same_title(got.title), same_title(label["title"]))
    score.check("date", got.date.iso if got.date else None, label["date"])
    if "publisher" in label:
        score.check("publisher", fold(got.publisher or ""), fold(label["publisher"]))
    score.check("attachments", len(got.attachments), label["attachments"])
    if "deadline" in label:  # left out where the page's own deadline is ambiguous (the YAML says why)
        score.check("deadline", got.deadline.iso if got.deadline else None, label["deadline"])


def score_all(prefixes: list[str] | None = None, split: str | None = None) -> list[Score]:
    return [score_page(path) for path in cases(prefixes, split)]


def passages(split: str) -> list[dict[str, Any]]:
    path = SPLITS[split] / PASSAGES
    return yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else []


def score_passages(split: str) -> Score:
    """The deadline finder on each passage of a split: the labelled date, or none where none is stated."""
    score = Score(f"deadlines ({split})")
    for i, case in enumerate(passages(split)):
        published = DateValue(dt.date.fromisoformat(case["published"])) if case.get("published") else None
        got = find_deadline(case["text"], published)
        score.check(f"#{i + 1} {case['source'][:40]}", got.iso if got else None, case["deadline"])
    return score


def deadline_fields(scores: list[Score]) -> tuple[int, int]:
    """The notice pages' deadline labels among the page scores: right, total."""
    right = total = 0
    for path in (p for s in scores for p in cases([s.name])):
        label = yaml.safe_load(path.read_text(encoding="utf-8"))
        if label["kind"] == "notice" and "deadline" in label:
            total += 1
            right += not any(
                m.startswith("deadline:") for s in scores if s.name == path.stem for m in s.misses
            )
    return right, total


def _pct(right: int, total: int) -> str:
    return f"{right}/{total} ({100 * right / max(total, 1):.1f}%)"


def recorded_floors() -> dict[str, int]:
    """Each page's recorded floor: the labelled fields it got right when last recorded."""
    return yaml.safe_load(FLOORS.read_text(encoding="utf-8")) if FLOORS.exists() else {}


def record_floors() -> dict[str, int]:
    """Each page's floor raised to what it scores now, a new page's recorded; never lowered."""
    floors = recorded_floors()
    for score in score_all():
        floors[score.name] = max(floors.get(score.name, 0), score.right)
    FLOORS.write_text(
        "# Labelled fields each real page gets right, at least (benchmarks/realpages.py --record).\n"
        "# A page's floor only goes up; a new page enters at what it scores.\n"
        + yaml.safe_dump(dict(sorted(floors.items())), sort_keys=False),
        encoding="utf-8",
    )
    return floors


def main(argv: list[str]) -> None:
    if argv == ["--record"]:
        floors = record_floors()
        print(f"{len(floors)} pages' floors in {FLOORS}: {sum(floors.values())} labelled fields")
        return
    rows = []
    all_scores: list[Score] = []
    for split in SPLITS:
        scores = score_all(argv or None, split)
        all_scores += scores
        deadlines = score_passages(split)
        for s in [*scores, deadlines]:
            mark = "ok  " if not s.misses else "MISS"
            print(f"{mark} {split:<6} {s.name:<32} {s.right:>2}/{s.total:<2} {'; '.join(s.misses)}")
        for kind in ("list", "notice"):
            part = [s for s in scores if s.name.startswith(kind)]
            rows.append(
                f"| {split} | {kind} pages | {len(part)} | {_pct(sum(s.right for s in part), sum(s.total for s in part))} |"
            )
        rows.append(
            f"| {split} | all pages | {len(scores)} | {_pct(sum(s.right for s in scores), sum(s.total for s in scores))} |"
        )
        rows.append(f"| {split} | deadlines of notice pages | | {_pct(*deadline_fields(scores))} |")
        rows.append(
            f"| {split} | deadline passages | {deadlines.total} | {_pct(deadlines.right, deadlines.total)} |"
        )
    print()
    print("| split | set | cases | labelled fields right |")
    print("|---|---|---|---|")
    print("\n".join(rows))
    print()
    print(family_table(all_scores))


def family_table(scores: list[Score]) -> str:
    """Pages, sites and fields right by template family, tuning and blind apart, then the corpus's size."""
    lines = [
        "| family | pages (tuning/blind) | sites | tuning fields right | blind fields right |",
        "|---|---|---|---|---|",
    ]
    for family in sorted({s.family for s in scores}):
        part = {split: [s for s in ss if s.family == family] for split, ss in _by_split(scores).items()}
        both = part["tuning"] + part["blind"]
        cells = [_pct(sum(s.right for s in p), sum(s.total for s in p)) if p else "-" for p in part.values()]
        lines.append(
            f"| {family} | {len(both)} ({len(part['tuning'])}/{len(part['blind'])}) | {len({s.site for s in both})} "
            f"| {cells[0]} | {cells[1]} |"
        )
    lists = sum(s.name.startswith("list") for s in scores)
    lines.append(
        f"\n{len(scores)} pages ({lists} lists) from {len({s.site for s in scores})} sites "
        f"in {len({s.family for s in scores})} families"
    )
    return "\n".join(lines)


def _by_split(scores: list[Score]) -> dict[str, list[Score]]:
    blind = {p.stem for p in cases(split="blind")}
    return {
        "tuning": [s for s in scores if s.name not in blind],
        "blind": [s for s in scores if s.name in blind],
    }


if __name__ == "__main__":
    main(sys.argv[1:])
