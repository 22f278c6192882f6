"""Texts with a condition label: deduplication before the split, per-label split."""

import pytest

from rnnkit.data.names import dedup_examples, split_per_label
from rnnkit.data.tables import TextExample, read_examples


def _ex(pairs):
    return [TextExample(t, lab, "f.txt", i) for i, (t, lab) in enumerate(pairs, 1)]


def test_dedup_keeps_the_first_of_each_pair_and_strips():
    ex = _ex([("Abbas", "Arabic"), ("Abbas ", "Arabic"), ("Abbas", "Persian"), ("  ", "Arabic"),
              ("Nader", "Arabic")])
    out = dedup_examples(ex)
    assert [(e.text, e.label, e.line) for e in out] == [
        ("Abbas", "Arabic", 1), ("Abbas", "Persian", 3), ("Nader", "Arabic", 5)]


def test_repeats_are_removed_before_the_split(tmp_path):
    folder = tmp_path / "names"
    folder.mkdir()
    arabic = [f"Name{i}" for i in range(10)] * 20  # 10 names repeated to 200 lines
    (folder / "Arabic.txt").write_text("\n".join(arabic) + "\n", encoding="utf-8")
    (folder / "Greek.txt").write_text("\n".join(f"Pap{i}" for i in range(30)) + "\n",
                                      encoding="utf-8")
    (folder / "SOURCE.md").write_text("# not data\n")
    unique = dedup_examples(read_examples(folder))
    assert len(unique) == 40
    train, dev = split_per_label(unique, 0.2, seed=0)
    pairs = lambda xs: {(e.text, e.label) for e in xs}  # noqa: E731
    assert not pairs(train) & pairs(dev)  # no (name, language) pair on both sides
    assert len(train) + len(dev) == 40
    assert sum(e.label == "Arabic" for e in dev) == 2 and sum(e.label == "Greek" for e in dev) == 6
    assert split_per_label(unique, 0.2, seed=0) == (train, dev)  # seeded
    assert pairs(split_per_label(unique, 0.2, seed=1)[1]) != pairs(dev)


def test_a_label_with_one_text_stays_in_training():
    train, dev = split_per_label(_ex([("A", "x"), ("B", "y"), ("C", "y"), ("D", "y")]), 0.3)
    assert [e.text for e in train if e.label == "x"] == ["A"]
    assert len(dev) == 1 and dev[0].label == "y"
    with pytest.raises(ValueError, match="fraction"):
        split_per_label([], 1.5)


def test_split_keeps_at_least_one_example_of_every_label_in_training():
    from rnnkit.data.names import split_per_label
    from rnnkit.data.tables import TextExample

    ex = [TextExample(f"{lab}{i}", lab, "f", i) for lab, n in (("A", 2), ("B", 4), ("C", 1))
          for i in range(n)]
    train, dev = split_per_label(ex, 0.8, seed=0)
    assert {e.label for e in train} == {"A", "B", "C"}
    assert sorted(e.label for e in dev) == ["A", "B", "B", "B"]
