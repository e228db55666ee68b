"""The real-page corpus (tests/realpages and its blind split, labels written by reading each page) scored field
by field, and the real deadline passages scored by the deadline finder.

The floors only go up: raise them when extraction improves, never lower them to let a change in. The blind
split (every third site in sha1 order of the repository or host, pages and passages alike) is never read while rules are written;
a rule is kept only if the blind score does not fall.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Labelled fields right on each split's pages, and deadlines right on each split's passages (when raised).
# Lowered once, to the measured value, when 36 list pages of 8 new sites joined (issue 21): 401/403 -> 654/738
# and 402/405 -> 452/460, the new pages' misses being watcher's (see the commit), not the old pages'.
FLOORS = {"tuning": 0.886, "blind": 0.982}  # 654/738, 452/460
PASSAGE_FLOORS = {"tuning": 1.0, "blind": 1.0}  # 54/54, 39/39

_spec = importlib.util.spec_from_file_location("realpages", ROOT / "benchmarks" / "realpages.py")
assert _spec and _spec.loader
realpages = importlib.util.module_from_spec(_spec)
sys.modules["realpages"] = realpages  # dataclasses look their module up
_spec.loader.exec_module(realpages)


def test_corpus_has_the_promised_shape() -> None:
    cases = realpages.cases()
    lists = [c for c in cases if c.stem.startswith("list_")]
    assert len(cases) >= 146 and len(lists) >= 74
    assert len(realpages.cases(split="blind")) >= len(cases) // 3
    for case in cases:
        assert case.with_suffix(".html").exists(), case
    passages = [p for split in realpages.SPLITS for p in realpages.passages(split)]
    assert len(passages) >= 93 and sum(p["deadline"] is None for p in passages) >= 45


@pytest.mark.parametrize("split", ["tuning", "blind"])
def test_corpus_score_holds_its_floor(split: str) -> None:
    scores = realpages.score_all(split=split)
    right, total = sum(s.right for s in scores), sum(s.total for s in scores)
    misses = "\n".join(f"{s.name}: {'; '.join(s.misses)}" for s in scores if s.misses)
    assert right / total >= FLOORS[split], f"{right}/{total} below the floor {FLOORS[split]}\n{misses}"


@pytest.mark.parametrize("split", ["tuning", "blind"])
def test_deadline_passages_hold_their_floor(split: str) -> None:
    score = realpages.score_passages(split)
    floor = PASSAGE_FLOORS[split]
    assert score.right / score.total >= floor, f"{score.right}/{score.total} below {floor}: {score.misses}"
