"""Score extraction on the corpus of real pages in tests/realpages, field by field.

    python benchmarks/realpages.py [NAME-PREFIX ...]

Each page is served by nobody: its bytes are decoded and extracted as `watcher extract FILE` does, against
the address it was published at. Its YAML holds labels written by reading the page:

  list    kind, the number of entries of the main list, and the first three entries' title, href, date
  notice  kind, title, date, publisher (when the page names one), number of attachments, deadline

A line per page with its misses, then the total; tests/test_realpages.py holds the floor.
"""

from __future__ import annotations

import datetime as dt
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import yaml

from watcher.extract import extract
from watcher.fetch import decode
from watcher.models import BEIJING, Extracted
from watcher.normalize import fold

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "realpages"
NOW = dt.datetime(2026, 12, 1, 9, 0, tzinfo=BEIJING)


@dataclass
class Score:
    name: str
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


def cases(prefixes: list[str] | None = None) -> list[Path]:
    paths = sorted(CORPUS.glob("*.yaml"))
    return [p for p in paths if not prefixes or p.stem.startswith(tuple(prefixes))]


def read(path: Path) -> Extracted:
    label = yaml.safe_load(path.read_text(encoding="utf-8"))
    text, encoding = decode(path.with_suffix(".html").read_bytes())
    return extract(text, label["url"], encoding, now=NOW)


def score_page(path: Path) -> Score:
    label = yaml.safe_load(path.read_text(encoding="utf-8"))
    score = Score(path.stem)
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


def score_all(prefixes: list[str] | None = None) -> list[Score]:
    return [score_page(path) for path in cases(prefixes)]


def main(argv: list[str]) -> None:
    scores = score_all(argv or None)
    for s in scores:
        mark = "ok  " if not s.misses else "MISS"
        print(f"{mark} {s.name:<32} {s.right:>2}/{s.total:<2} {'; '.join(s.misses)}")
    print()
    print("| set | pages | labelled fields right |")
    print("|---|---|---|")
    for kind in ("list", "notice"):
        part = [s for s in scores if s.name.startswith(kind)]
        right, total = sum(s.right for s in part), sum(s.total for s in part)
        print(f"| {kind} pages | {len(part)} | {right}/{total} ({100 * right / max(total, 1):.1f}%) |")
    right, total = sum(s.right for s in scores), sum(s.total for s in scores)
    print(f"| all | {len(scores)} | {right}/{total} ({100 * right / max(total, 1):.1f}%) |")


if __name__ == "__main__":
    main(sys.argv[1:])
