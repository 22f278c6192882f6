"""Estimators over text: a classifier of texts, a tagger of sentences, a language model."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .base import Estimator, LabelledEstimator


def _write_jsonl(path: Path, texts: Sequence[str], labels: Sequence) -> Path:
    if len(texts) != len(labels):
        raise ValueError(f"{len(texts)} texts but {len(labels)} labels")
    with open(path, "w", encoding="utf-8") as f:
        for t, y in zip(texts, labels):
            if not isinstance(t, str):
                raise TypeError(f"texts must be strings, got {type(t).__name__}")
            f.write(json.dumps({"text": t, "label": str(y)}, ensure_ascii=False) + "\n")
    return path


class TextClassifier(LabelledEstimator):
    """Texts -> labels (``rnnkit train classify``).

    >>> clf = TextClassifier(hidden=16, embed=8, steps=5)
    >>> clf.get_params()
    {'hidden': 16, 'embed': 8, 'steps': 5}
    """

    task = "classify"

    def fit(self, X: Sequence[str], y: Sequence, X_dev: Sequence[str] | None = None,
            y_dev: Sequence | None = None) -> TextClassifier:
        """Train on texts ``X`` with labels ``y`` (validation: ``X_dev``/``y_dev``, else a
        seeded share of the training texts)."""
        d = self.data_dir()
        data = {"data": str(_write_jsonl(d / "train.jsonl", list(X), list(y))),
                "format": "jsonl", "text_col": "text", "label_col": "label"}
        if X_dev is not None:
            data["dev"] = str(_write_jsonl(d / "dev.jsonl", list(X_dev), list(y_dev)))
        self._remember_labels(list(y))
        return self._train(data)

    def predict_proba(self, X: Sequence[str]) -> np.ndarray:
        """Class probabilities (N, C), columns in the order of ``classes_``."""
        return self._check_fitted().proba(list(X)).numpy()

    def predict(self, X: Sequence[str]) -> np.ndarray:
        return self.classes_[self.predict_proba(X).argmax(1)]

    def score(self, X: Sequence[str], y: Sequence) -> float:
        """Accuracy on ``X``, ``y``."""
        return float(np.mean([a == b for a, b in zip(self.predict(X).tolist(), list(y))]))


class SequenceTagger(Estimator):
    """Sentences (lists of words) -> one tag per word (``rnnkit train tag``)."""

    task = "tag"

    @staticmethod
    def _write(path: Path, sentences, tags) -> Path:
        if len(sentences) != len(tags):
            raise ValueError(f"{len(sentences)} sentences but {len(tags)} tag sequences")
        lines = []
        for k, (words, ts) in enumerate(zip(sentences, tags)):
            if len(words) != len(ts) or not words:
                raise ValueError(f"sentence {k}: {len(words)} words but {len(ts)} tags")
            for i, (w, t) in enumerate(zip(words, ts), 1):
                if any(c in str(w) for c in "\t\n") or any(c in str(t) for c in "\t\n "):
                    raise ValueError(f"sentence {k}, word {i}: words and tags cannot hold "
                                     "tabs or newlines (tags: spaces)")
                lines.append(f"{i}\t{w}\t_\t{t}\t_\t_\t_\t_\t_\t_")
            lines.append("")
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path

    def fit(self, sentences: Sequence[Sequence[str]], tags: Sequence[Sequence[str]],
            dev_sentences=None, dev_tags=None) -> SequenceTagger:
        d = self.data_dir()
        data = {"data": str(self._write(d / "train.conllu", sentences, tags)),
                "format": "conllu", "column": "upos"}
        if dev_sentences is not None:
            data["dev"] = str(self._write(d / "dev.conllu", dev_sentences, dev_tags))
        return self._train(data)

    def predict(self, sentences: Sequence[Sequence[str]]) -> list[list[str]]:
        return self._check_fitted().tag([list(s) for s in sentences])


class LanguageModel(Estimator):
    """Text -> a model of what comes next (``rnnkit train lm``)."""

    task = "lm"

    def fit(self, text: str, val_text: str | None = None) -> LanguageModel:
        d = self.data_dir()
        (d / "train.txt").write_text(text, encoding="utf-8")
        data = {"data": str(d / "train.txt")}
        if val_text is not None:
            (d / "val.txt").write_text(val_text, encoding="utf-8")
            data["val_data"] = str(d / "val.txt")
        return self._train(data)

    def sample(self, prime: str = "", length: int = 200, **sampling) -> str:
        """``length`` tokens after ``prime``; ``sampling``: temperature, top_k, top_p, greedy,
        seed (:class:`~rnnkit.tasks.common.sampling.SampleConfig`)."""
        from ..tasks.common.sampling import SampleConfig

        return self._check_fitted().sample(prime, length, SampleConfig(**sampling))

    def score(self, text: str) -> dict:
        """Loss (nats/token), perplexity and bits/char on ``text``."""
        d = self.data_dir()
        (d / "eval.txt").write_text(text, encoding="utf-8")
        return self._check_fitted().evaluate(d / "eval.txt")
