"""Accuracy, macro-F1, per-class scores, confusion matrix; conlleval chunk F1."""

import pytest

from rnnkit.tasks.common.metrics import (
    bio_chunks,
    chunk_scores,
    classification_report,
    confusion_matrix,
    format_report,
    is_chunk_tagset,
    plot_confusion,
)


def test_classification_report_by_hand(tmp_path):
    gold = [0, 0, 0, 1, 1, 2]
    pred = [0, 0, 1, 1, 2, 2]
    r = classification_report(gold, pred, ["a", "b", "c"])
    assert r["accuracy"] == pytest.approx(4 / 6)
    assert r["confusion"] == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]
    a, b, c = (r["per_class"][k] for k in "abc")
    assert (a["precision"], a["recall"], a["support"]) == (1.0, pytest.approx(2 / 3), 3)
    assert (b["precision"], b["recall"]) == (0.5, 0.5)
    assert (c["precision"], c["recall"], c["f1"]) == (0.5, 1.0, pytest.approx(2 / 3))
    assert r["macro_f1"] == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)
    text = format_report(r)
    assert "accuracy 0.6667" in text and "rows: gold" in text
    assert plot_confusion(r, tmp_path / "cm.png").stat().st_size > 1000


def test_macro_f1_ignores_absent_classes():
    r = classification_report([0, 0], [0, 0], ["a", "b"])
    assert r["macro_f1"] == 1.0 and r["per_class"]["b"]["support"] == 0
    assert confusion_matrix([], [], 2).tolist() == [[0, 0], [0, 0]]


def test_bio_chunks_conlleval_semantics():
    assert bio_chunks(["B-PER", "I-PER", "O", "B-LOC"]) == [("PER", 0, 1), ("LOC", 3, 3)]
    # I- after O starts a chunk (IOB1); a type change ends one and starts another
    assert bio_chunks(["O", "I-ORG", "I-ORG", "I-PER"]) == [("ORG", 1, 2), ("PER", 3, 3)]
    # B- after B- splits; IOBES E- and S- close chunks
    assert bio_chunks(["B-X", "B-X", "S-Y", "B-Z", "E-Z", "I-Z"]) == [
        ("X", 0, 0), ("X", 1, 1), ("Y", 2, 2), ("Z", 3, 4), ("Z", 5, 5)]
    assert bio_chunks(["O", "O"]) == []


def test_chunk_scores_by_hand():
    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O"]]
    pred = [["B-PER", "I-PER", "O", "B-ORG"], ["B-ORG", "I-ORG"]]
    s = chunk_scores(gold, pred)
    # gold chunks: PER(0,1) LOC(3,3) ORG(0,0); predicted: PER(0,1) ORG(3,3) ORG(0,1)
    assert (s["correct"], s["predicted"], s["gold"]) == (1, 3, 3)
    assert s["precision"] == pytest.approx(1 / 3) and s["f1"] == pytest.approx(1 / 3)
    assert s["per_type"]["PER"]["f1"] == 1.0 and s["per_type"]["LOC"]["recall"] == 0.0
    assert is_chunk_tagset(["O", "B-NP", "I-NP"]) and not is_chunk_tagset(["NOUN", "VERB"])
    assert not is_chunk_tagset(["O"])
