"""Classification and tagging metrics.

* :func:`classification_report`: accuracy, macro-F1, per-class precision / recall / F1 /
  support and the confusion matrix (rows: gold, columns: predicted);
* :func:`chunk_scores`: chunk-level precision / recall / F1 for BIO (IOB1, IOB2, IOBES) tags
  with the semantics of the CoNLL-2000 ``conlleval`` script: a chunk is correct when the gold
  and the predicted chunk start and end at the same words and have the same type; an ``I-X``
  after ``O`` or after another type starts a chunk;
* :func:`format_report` (text) and :func:`plot_confusion` (PNG) for people.

Macro-F1 averages the F1 of every class that occurs in the gold or the predicted labels
(scikit-learn's default label set).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import torch

from ...plotting import new_figure, save_figure
from ...train.run import write_json

__all__ = ["accuracy", "bio_chunks", "chunk_scores", "classification_report",
           "confusion_matrix", "format_report", "is_chunk_tagset", "plot_confusion",
           "save_dev_report", "tag_report", "GoldLabels", "unseen_line"]

log = logging.getLogger(__name__)


def accuracy(gold: Sequence[int], pred: Sequence[int]) -> float:
    if len(gold) != len(pred):
        raise ValueError(f"{len(gold)} gold labels but {len(pred)} predictions")
    return sum(g == p for g, p in zip(gold, pred)) / max(len(gold), 1)


def confusion_matrix(gold: Sequence[int], pred: Sequence[int], n: int) -> torch.Tensor:
    """(n, n) counts: entry [g, p] counts items of gold class g predicted as p."""
    if len(gold) != len(pred):
        raise ValueError(f"{len(gold)} gold labels but {len(pred)} predictions")
    cm = torch.zeros(n * n, dtype=torch.long)
    if len(gold):
        idx = torch.as_tensor(list(gold)) * n + torch.as_tensor(list(pred))
        cm += torch.bincount(idx, minlength=n * n)
    return cm.view(n, n)


def _prf(tp: int, n_pred: int, n_gold: int) -> tuple[float, float, float]:
    p = tp / n_pred if n_pred else 0.0
    r = tp / n_gold if n_gold else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def classification_report(gold: Sequence[int], pred: Sequence[int],
                          labels: Sequence[str]) -> dict:
    """Accuracy, macro-F1, per-class scores and the confusion matrix (as nested lists)."""
    n = len(labels)
    cm = confusion_matrix(gold, pred, n)
    per_class = {}
    f1s = []
    for k, name in enumerate(labels):
        tp, n_pred, n_gold = int(cm[k, k]), int(cm[:, k].sum()), int(cm[k].sum())
        p, r, f = _prf(tp, n_pred, n_gold)
        per_class[name] = {"precision": p, "recall": r, "f1": f, "support": n_gold}
        if n_pred or n_gold:
            f1s.append(f)
    return {"accuracy": accuracy(gold, pred), "macro_f1": sum(f1s) / max(len(f1s), 1),
            "n": len(gold), "per_class": per_class, "labels": list(labels),
            "confusion": cm.tolist()}


class GoldLabels:
    """Gold labels of evaluation data, as ids of the labels a model was trained on. A label
    never seen in training is not an error: it gets an id past the trained ones, which the
    model never predicts, so it is scored as wrong (as conlleval and scikit-learn score it),
    and :meth:`unseen` says how many such labels and items there were.

    >>> g = GoldLabels(["NOUN", "VERB"])
    >>> [g.id(t) for t in ["VERB", "X", "NOUN", "X", "Y"]]
    [1, 2, 0, 2, 3]
    >>> g.names, g.unseen()
    (['NOUN', 'VERB', 'X', 'Y'], {'labels': ['X', 'Y'], 'items': 3})
    """

    def __init__(self, trained: Sequence[str]):
        self.trained = len(trained)
        self.names = list(trained)
        self.stoi = {t: i for i, t in enumerate(self.names)}
        self.counts: dict[str, int] = {}

    def id(self, label: str) -> int:
        i = self.stoi.get(label)
        if i is None:
            i = self.stoi[label] = len(self.names)
            self.names.append(label)
        if i >= self.trained:
            self.counts[label] = self.counts.get(label, 0) + 1
        return i

    def unseen(self) -> dict | None:
        """``{"labels": [...], "items": N}`` of the labels not seen in training, or None."""
        if not self.counts:
            return None
        return {"labels": list(self.counts), "items": sum(self.counts.values())}

    def note(self, report: dict) -> dict:
        """``report`` with the ``unseen`` entry when there were such labels."""
        u = self.unseen()
        if u is not None:
            report["unseen"] = u
        return report


def unseen_line(report: dict, what: str = "items") -> str | None:
    """The one line saying how many gold labels were never seen in training."""
    u = report.get("unseen")
    if not u:
        return None
    shown = ", ".join(u["labels"][:8]) + (" ..." if len(u["labels"]) > 8 else "")
    return (f"{len(u['labels'])} gold label(s) not seen in training ({shown}) on "
            f"{u['items']} {what}: scored as errors")


# Chunks ------------------------------------------------------------------------------------

_CHUNK_TAG = re.compile(r"^[BIES]-.+$")


def is_chunk_tagset(tags: Iterable[str]) -> bool:
    """True when every tag is ``O`` or ``B-/I-/E-/S-`` plus a type, and some tag is not O."""
    tags = set(tags)
    return bool(tags - {"O"}) and all(t == "O" or _CHUNK_TAG.match(t) for t in tags)


def _split(tag: str) -> tuple[str, str]:
    if tag == "O" or "-" not in tag:
        return "O", ""
    prefix, kind = tag.split("-", 1)
    return prefix, kind


def _end_of_chunk(prev: str, tag: str, prev_type: str, kind: str) -> bool:
    return (prev in ("E", "S")
            or (prev in ("B", "I") and tag in ("B", "S", "O"))
            or (prev != "O" and prev_type != kind))


def _start_of_chunk(prev: str, tag: str, prev_type: str, kind: str) -> bool:
    return (tag in ("B", "S")
            or (prev in ("E", "S", "O") and tag in ("E", "I"))
            or (tag != "O" and prev_type != kind))


def bio_chunks(tags: Sequence[str]) -> list[tuple[str, int, int]]:
    """Chunks ``(type, first, last)`` (inclusive word indices) of one tag sequence, as
    conlleval finds them."""
    chunks = []
    prev, prev_type, start = "O", "", None
    for i, t in enumerate([*tags, "O"]):
        tag, kind = _split(t)
        if start is not None and _end_of_chunk(prev, tag, prev_type, kind):
            chunks.append((prev_type, start, i - 1))
            start = None
        if _start_of_chunk(prev, tag, prev_type, kind):
            start = i
        prev, prev_type = tag, kind
    return chunks


def chunk_scores(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> dict:
    """conlleval's chunk precision, recall and F1 over sentences, overall and per type."""
    if len(gold) != len(pred):
        raise ValueError(f"{len(gold)} gold sentences but {len(pred)} predicted")
    counts: dict[str, list[int]] = {}  # type -> [correct, predicted, gold]
    for g, p in zip(gold, pred):
        if len(g) != len(p):
            raise ValueError(f"a sentence has {len(g)} gold tags but {len(p)} predicted")
        gc, pc = set(bio_chunks(g)), set(bio_chunks(p))
        for c in gc | pc:
            row = counts.setdefault(c[0], [0, 0, 0])
            row[0] += c in gc and c in pc
            row[1] += c in pc
            row[2] += c in gc
    total = [sum(r[k] for r in counts.values()) for k in range(3)]
    p, r, f = _prf(*total)
    per_type = {}
    for kind, (tp, n_pred, n_gold) in sorted(counts.items()):
        kp, kr, kf = _prf(tp, n_pred, n_gold)
        per_type[kind] = {"precision": kp, "recall": kr, "f1": kf, "support": n_gold}
    return {"precision": p, "recall": r, "f1": f, "correct": total[0], "predicted": total[1],
            "gold": total[2], "per_type": per_type}


# For people ---------------------------------------------------------------------------------

def format_report(report: dict, max_matrix: int = 30) -> str:
    """The report as text: overall scores, a per-class table and the confusion matrix (when
    there are at most ``max_matrix`` classes)."""
    lines = [f"accuracy {report['accuracy']:.4f}   macro-F1 {report['macro_f1']:.4f}   "
             f"n {report['n']}"]
    if "chunk" in report:
        c = report["chunk"]
        lines.append(f"chunk precision {c['precision']:.4f}   recall {c['recall']:.4f}   "
                     f"F1 {c['f1']:.4f}   (gold chunks {c['gold']})")
    labels = report["labels"]
    w = max(8, *(len(x) for x in labels))
    lines += ["", f"{'class':<{w}}  precision  recall     f1  support"]
    for name in labels:
        s = report["per_class"][name]
        lines.append(f"{name:<{w}}  {s['precision']:9.4f}  {s['recall']:6.4f}  {s['f1']:.4f}  "
                     f"{s['support']:7d}")
    if len(labels) <= max_matrix:
        cm = report["confusion"]
        cw = max(5, *(len(x) for x in labels), len(str(max(max(r) for r in cm))))
        lines += ["", "confusion matrix (rows: gold, columns: predicted)",
                  " " * w + "  " + " ".join(f"{x:>{cw}}" for x in labels)]
        for name, row in zip(labels, cm):
            lines.append(f"{name:<{w}}  " + " ".join(f"{v:>{cw}d}" for v in row))
    return "\n".join(lines)


def plot_confusion(report: dict, path: str | Path, title: str = "") -> Path | None:
    """Save the confusion matrix as a PNG heat map (rows normalised by gold counts); None
    without matplotlib."""
    n = len(report["labels"])
    size = min(3 + 0.45 * n, 16)
    fig = new_figure((size + 1, size), "confusion-matrix plot")
    if fig is None:
        return None
    labels = report["labels"]
    cm = torch.tensor(report["confusion"], dtype=torch.float64)
    norm = cm / cm.sum(1, keepdim=True).clamp_min(1)
    ax = fig.subplots()
    im = ax.imshow(norm.numpy(), cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(n), labels, rotation=90 if n > 6 else 0)
    ax.set_yticks(range(n), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("gold")
    if n <= 25:
        for g in range(n):
            for p in range(n):
                if cm[g, p]:
                    ax.text(p, g, f"{int(cm[g, p])}", ha="center", va="center", fontsize=7,
                            color="white" if norm[g, p] > 0.5 else "black")
    ax.set_title(title or f"accuracy {report['accuracy']:.4f}")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    return save_figure(fig, path)


def save_dev_report(run: str | Path, report: dict, title: str) -> None:
    """Write a run's validation report (``dev_report.json``) and its confusion-matrix PNG
    (``confusion.png``, titled ``title``)."""

    run = Path(run)
    write_json(run / "dev_report.json", report)
    plot_confusion(report, run / "confusion.png", title=title)


def tag_report(gold: Sequence[Sequence[int]], pred: Sequence[Sequence[int]],
               tags: Sequence[str]) -> dict:
    """Token accuracy, per-tag scores and confusion matrix; chunk scores for BIO tags."""
    report = classification_report([t for s in gold for t in s], [t for s in pred for t in s],
                                   tags)
    if is_chunk_tagset(tags):
        report["chunk"] = chunk_scores([[tags[t] for t in s] for s in gold],
                                       [[tags[t] for t in s] for s in pred])
    return report
