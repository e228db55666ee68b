"""Classification accuracy on the team's labelled set and the real tuning and blind sets, and time per notice with 50 programmes of 30 terms.

python benchmarks/classify_bench.py
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

from watcher.classify import Classifier
from watcher.programmes import Programme, Task, load_programmes

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.test_classify import REAL_SETS, labelled


def accuracy(name: str = "labelled.txt") -> None:
    rows = labelled(name)
    classifier = Classifier(load_programmes())
    print(f"{name}: {len(rows)} notices, {sum(1 for w, *_ in rows if not w)} negatives")
    print(f"{'programme':<10}{'precision':>10}{'recall':>8}{'tp':>5}{'fp':>5}{'fn':>5}")
    for p in classifier.programmes:
        tp = fp = fn = 0
        for want, _, title, body in rows:
            got = {m.programme for m in classifier.classify(title, body).matches}
            tp += p.id in got and p.id in want
            fp += p.id in got and p.id not in want
            fn += p.id in want and p.id not in got
        print(f"{p.id:<10}{tp / max(1, tp + fp):>10.2f}{tp / max(1, tp + fn):>8.2f}{tp:>5}{fp:>5}{fn:>5}")


def speed() -> None:
    rng = random.Random(1)
    rows = labelled()
    vocab = sorted(
        {title[i : i + n] for _, _, title, _ in rows for n in (2, 3, 4) for i in range(0, len(title) - n, 3)}
    )
    progs = tuple(
        Programme(
            f"p{i}",
            f"P{i}",
            {w: rng.choice([1, 2, 4]) for w in rng.sample(vocab, 30)},
            tasks=(Task("t", "T", {w: 2 for w in rng.sample(vocab, 5)}),),
        )
        for i in range(50)
    )
    classifier = Classifier(progs)
    docs = [(t, b * 8) for _, _, t, b in rows]  # bodies of a few hundred characters
    start = time.process_time()
    rounds = 5
    for _ in range(rounds):
        for title, body in docs:
            classifier.classify(title, body)
    per = (time.process_time() - start) / (rounds * len(docs)) * 1e6
    print(
        f"50 programmes x 30 terms: {per:.0f} µs CPU per notice (mean body {sum(len(b) for _, b in docs) // len(docs)} chars)"
    )


if __name__ == "__main__":
    for name in ("labelled.txt", *REAL_SETS):
        accuracy(name)
    speed()
