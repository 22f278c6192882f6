"""The tagger's feature columns: every column of the input other than the word and the tag
(POS tags in a chunking or NER file), each with its own vocabulary, embedded and concatenated
with the word features.

``--feature-cols`` chooses them (:class:`~.task.TagDataConfig.feature_cols`): ``all`` (every
other column of a whitespace-column file; ``upos`` and ``xpos`` of CoNLL-U when the tag is
neither), ``none`` (words only), or a comma list of 0-based indexes (CoNLL-U: also names). The
columns resolved on the training data and their vocabularies are the run's ``features.json``
(:class:`FeatureVocabs`); evaluation, prediction and a resume read those same columns. A value
not seen in training is the column's ``<unk>`` (id 0).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ...data import DataError
from ...data.conllu import CONLLU_COLUMNS, TaggedSentence
from ...data.tokens import TokenVocab

FEATURES_FILE = "features.json"  # the feature columns and their vocabularies in a run folder


@dataclass
class FeatureVocabs:
    """The feature columns (0-based) and one vocabulary per column, in the same order."""

    columns: tuple[int, ...]
    vocabs: list[TokenVocab]

    @classmethod
    def build(cls, sentences: Sequence[TaggedSentence]) -> FeatureVocabs | None:
        """From the training sentences (every value seen gets an id); None without feature
        columns."""
        if not sentences or not sentences[0].feature_cols:
            return None
        cols = sentences[0].feature_cols
        vocabs = [TokenVocab.build(s.features[j] for s in sentences) for j in range(len(cols))]
        return cls(tuple(cols), vocabs)

    @property
    def sizes(self) -> tuple[int, ...]:
        return tuple(len(v) for v in self.vocabs)

    def names(self, conllu: bool = False) -> list[str]:
        """The columns as a user names them (CoNLL-U: ``upos``...; else the index)."""
        return [CONLLU_COLUMNS[k] if conllu else str(k) for k in self.columns]

    def encode(self, s: TaggedSentence) -> list[list[int]]:
        """Feature ids of each word of a sentence read with these columns, (T, F)."""
        if tuple(s.feature_cols) != self.columns:
            raise DataError(f"read with feature columns {list(s.feature_cols)}, but the run's "
                            f"are {list(self.columns)}", path=s.path, line=s.line)
        return self.encode_rows(list(zip(*s.features)))

    def encode_rows(self, rows: Sequence[Sequence[str]]) -> list[list[int]]:
        """Feature ids of words given as rows of values (one per column, in order), (T, F)."""
        F = len(self.columns)
        out = []
        for i, row in enumerate(rows):
            if isinstance(row, str) or len(row) != F:
                raise ValueError(f"word {i + 1}: expected {F} feature values (columns "
                                 f"{list(self.columns)}), got {row!r}")
            out.append([v.stoi.get(x, v.unk_id) for v, x in zip(self.vocabs, row)])
        return out

    def save(self, path: str | os.PathLike[str]) -> None:
        Path(path).write_text(json.dumps({"columns": list(self.columns),
                                          "vocabs": [v.to_dict() for v in self.vocabs]},
                                         ensure_ascii=False) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> FeatureVocabs:
        try:
            d = json.loads(Path(path).read_text(encoding="utf-8"))
            cols, vocabs = d["columns"], d["vocabs"]
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise DataError(f"not a feature-columns file ({e})", path=path) from None
        if len(cols) != len(vocabs) or not all(isinstance(k, int) for k in cols):
            raise DataError("columns and vocabularies do not match", path=path)
        vs = [TokenVocab.from_dict(v, path=path) for v in vocabs]
        return cls(tuple(cols), vs)  # type: ignore[arg-type]


def load_features(run: str | Path, sizes: Sequence[int]) -> FeatureVocabs | None:
    """A run's ``features.json`` when its model reads feature columns (``sizes``: the model
    config's ``feature_vocab_sizes``); None for a words-only run."""
    if not sizes:
        return None
    path = Path(run) / FEATURES_FILE
    feats = FeatureVocabs.load(path)
    if feats.sizes != tuple(sizes):
        raise DataError(f"vocabulary sizes {list(feats.sizes)} differ from the model's "
                        f"{list(sizes)}", path=path)
    return feats
