"""The real-page corpus (tests/realpages and its blind split, labels written by reading each page) scored field
by field, and the real deadline passages scored by the deadline finder.

The floors only go up: raise them when extraction improves, never lower them to let a change in. The blind
split (every third site in sha1 order of the repository or host, pages and passages alike) is never read while rules are written;
a rule is kept only if the blind score does not fall.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import sys
from pathlib import Path

import opencc
import pytest

from watcher.extract.deadline import find_deadline
from watcher.models import DateValue

ROOT = Path(__file__).resolve().parent.parent
# Deadlines right on each split's passages (when raised). Pages hold their floors one by one
# (tests/realpages/floors.yaml): a page added with misses enters at what it scores, and no page may lose a
# field it had, so growing the corpus with harder pages never lowers a floor.
PASSAGE_FLOORS = {"tuning": 1.0, "blind": 0.981}  # 96/96, 54/55

_spec = importlib.util.spec_from_file_location("realpages", ROOT / "benchmarks" / "realpages.py")
assert _spec and _spec.loader
realpages = importlib.util.module_from_spec(_spec)
sys.modules["realpages"] = realpages  # dataclasses look their module up
_spec.loader.exec_module(realpages)


def test_corpus_has_the_promised_shape() -> None:
    cases = realpages.cases()
    lists = [c for c in cases if c.stem.startswith("list_")]
    assert len(cases) >= 222 and len(lists) >= 98
    assert len(realpages.cases(split="blind")) >= len(cases) // 3
    for case in cases:
        assert case.with_suffix(".html").exists(), case
    scores = realpages.score_all()
    assert len({s.family for s in scores}) >= 12 and len({s.site for s in scores}) >= 109
    passages = [p for split in realpages.SPLITS for p in realpages.passages(split)]
    assert len(passages) >= 151 and sum(p["deadline"] is None for p in passages) >= 80


@pytest.mark.parametrize("split", ["tuning", "blind"])
def test_every_page_holds_its_floor(split: str) -> None:
    floors = realpages.recorded_floors()
    scores = realpages.score_all(split=split)
    missing = [s.name for s in scores if s.name not in floors]
    assert not missing, f"pages with no recorded floor (benchmarks/realpages.py --record): {missing}"
    fallen = [f"{s.name}: {s.right}/{s.total} below {floors[s.name]}: {'; '.join(s.misses)}"
              for s in scores if s.right < floors[s.name]]  # fmt: skip
    assert not fallen, "\n".join(fallen)


@pytest.mark.parametrize("split", ["tuning", "blind"])
def test_deadline_passages_hold_their_floor(split: str) -> None:
    score = realpages.score_passages(split)
    floor = PASSAGE_FLOORS[split]
    assert score.right / score.total >= floor, f"{score.right}/{score.total} below {floor}: {score.misses}"


@pytest.mark.parametrize("split", ["tuning", "blind"])
def test_deadline_passages_read_alike_in_either_script(split: str) -> None:
    """Each real passage converted by OpenCC to the other script (s2t, t2s) gives the deadline it gives as
    published: the finder's phrases must not be written for one script only."""
    converters = [opencc.OpenCC("s2t"), opencc.OpenCC("t2s")]
    differ = []
    for case in realpages.passages(split):
        published = DateValue(dt.date.fromisoformat(case["published"])) if case.get("published") else None
        as_published = find_deadline(case["text"], published)
        for converter in converters:
            other = find_deadline(converter.convert(case["text"]), published)
            if other != as_published:
                differ.append(f"{case['source']}: {as_published} vs {other} ({converter.config})")
    assert not differ, "\n".join(differ)
