"""Texts with a condition (a label) for one-to-many generation: deduplicated, split per label.

The examples are read like a classifier's (:func:`rnnkit.data.tables.read_examples`: a folder
with one file per label, or a CSV/TSV/JSONL file with text and label columns), e.g. the names
of ``names-18lang/names/*.txt``, one file per language. Texts are stripped of surrounding
whitespace and **(text, label) pairs are deduplicated before splitting** (``Arabic.txt`` repeats
108 names to 2,000 lines: a split of the raw lines would put the same Arabic names in training
and validation). The split is seeded and stratified: each label holds out its own share.

>>> from rnnkit.data.tables import TextExample
>>> ex = [TextExample(t, l, "x", i) for i, (t, l) in enumerate(
...     [("Abbas", "ar"), ("Abbas ", "ar"), ("Abbas", "fa"), ("Ng", "vi")])]
>>> [(e.text, e.label) for e in dedup_examples(ex)]
[('Abbas', 'ar'), ('Abbas', 'fa'), ('Ng', 'vi')]
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import torch

from .tables import TextExample

__all__ = ["dedup_examples", "split_per_label"]

log = logging.getLogger(__name__)


def dedup_examples(examples: Sequence[TextExample]) -> list[TextExample]:
    """Stripped texts; the first example of each (text, label) pair, in reading order; blank
    texts dropped."""
    seen: set[tuple[str, str | None]] = set()
    out: list[TextExample] = []
    for e in examples:
        text = e.text.strip()
        key = (text, e.label)
        if text and key not in seen:
            seen.add(key)
            out.append(TextExample(text, e.label, e.path, e.line))
    if len(out) < len(examples):
        log.info("dropped %d repeated (text, label) pairs of %d", len(examples) - len(out),
                 len(examples))
    return out


def split_per_label(examples: Sequence[TextExample], fraction: float, seed: int = 0
                    ) -> tuple[list[TextExample], list[TextExample]]:
    """(train, held out): of each label's examples a seeded ``fraction`` (rounded, at least one
    when the label has two or more) is held out. Labels in sorted order, each with its own
    permutation of one generator; both lists keep reading order."""
    if not 0 < fraction < 1:
        raise ValueError(f"fraction must be in (0, 1), got {fraction}")
    by_label: dict[str | None, list[int]] = {}
    for i, e in enumerate(examples):
        by_label.setdefault(e.label, []).append(i)
    gen = torch.Generator().manual_seed(seed)
    held: set[int] = set()
    for label in sorted(by_label, key=str):
        idx = by_label[label]
        # at least one held out, and at least one kept, when the label has two or more
        k = min(max(1, round(len(idx) * fraction)), len(idx) - 1) if len(idx) > 1 else 0
        perm = torch.randperm(len(idx), generator=gen).tolist()
        held.update(idx[p] for p in perm[:k])
    train = [e for i, e in enumerate(examples) if i not in held]
    dev = [e for i, e in enumerate(examples) if i in held]
    return train, dev
