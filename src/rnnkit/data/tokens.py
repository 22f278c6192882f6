"""Tokenisers, a token vocabulary with a minimum frequency, and label vocabularies.

Tokenisers (``tokenize(text, kind)``):

* ``whitespace``: ``text.split()``;
* ``regex``: words (letters and digits, with inner apostrophes and hyphens) and single
  punctuation characters: ``"don't stop!"`` -> ``["don't", "stop", "!"]``;
* ``char``: every character except whitespace;
* ``bpe``: byte-level BPE, which :class:`~rnnkit.data.vocab.BPEVocab` does in one step (text to
  ids); :func:`build_text_vocab` returns one.

>>> v = TokenVocab.build([["a", "b", "a"], ["a", "c"]], min_freq=2)
>>> v.encode_tokens(["a", "b", "z"]), len(v)
([1, 0, 0], 2)
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from rnnkit.data.errors import DataError
from rnnkit.data.vocab.base import UNK, Vocab, _token_list
from rnnkit.data.vocab.bpe import BPEVocab

__all__ = ["TOKENIZERS", "LabelVocab", "TokenVocab", "build_text_vocab", "tokenize"]

log = logging.getLogger(__name__)

TOKENIZERS = ("whitespace", "regex", "char", "bpe")
WORD_RE = re.compile(r"\w+(?:['\u2019-]\w+)*|[^\w\s]")


def tokenize(text: str, kind: str = "regex") -> list[str]:
    if kind == "whitespace":
        return text.split()
    if kind == "regex":
        return WORD_RE.findall(text)
    if kind == "char":
        return [c for c in text if not c.isspace()]
    if kind == "bpe":
        raise ValueError("BPE tokenises and encodes in one step: use BPEVocab.encode(text)")
    raise ValueError(f"unknown tokenizer {kind!r}; choose one of {TOKENIZERS}")


class TokenVocab(Vocab):
    """Tokens seen at least ``min_freq`` times in training: id 0 is ``<unk>``, then tokens by
    frequency (descending), ties by token. The tokeniser is part of the vocabulary, so a saved
    vocabulary encodes new text exactly as in training."""

    kind = "tokens"
    unk_id = 0

    def __init__(self, tokens: Iterable[str], tokenizer: str = "whitespace") -> None:
        super().__init__()
        if tokenizer not in TOKENIZERS or tokenizer == "bpe":
            raise ValueError(f"TokenVocab tokenizer must be whitespace, regex or char, "
                             f"got {tokenizer!r}")
        self.tokenizer = tokenizer
        self.itos: list[str] = [UNK, *tokens]
        self.stoi: dict[str, int] = {t: i for i, t in enumerate(self.itos) if i > 0}

    @classmethod
    def build(cls, token_lists: Iterable[list[str]], min_freq: int = 1,
              max_size: int | None = None, tokenizer: str = "whitespace") -> TokenVocab:
        """Tokens of ``token_lists`` seen at least ``min_freq`` times, at most ``max_size``
        ids in all (``<unk>`` included)."""
        if min_freq < 1:
            raise ValueError(f"min_freq must be >= 1, got {min_freq}")
        counts = Counter(t for toks in token_lists for t in toks)
        ranked = sorted((t for t, n in counts.items() if n >= min_freq),
                        key=lambda t: (-counts[t], t))
        if max_size:
            ranked = ranked[: max_size - 1]
        if not ranked:
            raise ValueError(f"no token occurs {min_freq} times ({len(counts)} distinct tokens)")
        log.info("token vocabulary: %d of %d distinct tokens (min_freq %d)", len(ranked),
                 len(counts), min_freq)
        return cls(ranked, tokenizer)

    def encode_tokens(self, tokens: Iterable[str]) -> list[int]:
        get = self.stoi.get
        ids = [get(t, 0) for t in tokens]
        self._count_unk(ids.count(0))
        return ids

    def encode(self, text: str) -> list[int]:
        return self.encode_tokens(tokenize(text, self.tokenizer))

    def decode(self, ids: Iterable[int]) -> str:
        ids = list(ids)
        self._check_ids([int(i) for i in ids])
        sep = "" if self.tokenizer == "char" else " "
        return sep.join(self.itos[int(i)] for i in ids)

    def __len__(self) -> int:
        return len(self.itos)

    def token(self, i: int) -> str:
        return self.itos[i]

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "version": 1, "tokenizer": self.tokenizer,
                "tokens": list(self.itos)}

    @classmethod
    def _from_dict(cls, d: dict[str, Any], path: str | None) -> TokenVocab:
        tok = d.get("tokenizer")
        if tok not in ("whitespace", "regex", "char"):
            raise DataError(f"unknown tokenizer {tok!r} in a tokens vocabulary", path=path)
        return cls(_token_list(d, path, [UNK])[1:], tok)


def build_text_vocab(texts: list[str], tokenizer: str = "regex", min_freq: int = 1,
                     max_size: int = 0, bpe_size: int = 4000) -> Vocab:
    """A vocabulary over ``texts``: :class:`TokenVocab` for whitespace/regex/char tokens,
    :class:`~rnnkit.data.vocab.BPEVocab` (``bpe_size`` ids) for ``bpe``."""
    if tokenizer == "bpe":
        return BPEVocab.build("\n".join(texts), vocab_size=bpe_size)
    return TokenVocab.build((tokenize(t, tokenizer) for t in texts), min_freq,
                            max_size or None, tokenizer)


class LabelVocab:
    """The labels (classes, tags) seen in training, in sorted order. There is no unknown
    label: :meth:`index` of a label not seen in training is a :class:`DataError` naming the
    file and line where it was found."""

    def __init__(self, labels: Iterable[str]) -> None:
        self.itos = list(labels)
        self.stoi = {t: i for i, t in enumerate(self.itos)}
        if len(self.stoi) != len(self.itos):
            raise ValueError("labels must be unique")

    @classmethod
    def build(cls, labels: Iterable[str]) -> LabelVocab:
        return cls(sorted(set(labels)))

    def __len__(self) -> int:
        return len(self.itos)

    def index(self, label: str, path: str | None = None, line: int | None = None) -> int:
        i = self.stoi.get(label)
        if i is None:
            shown = ", ".join(self.itos[:20]) + (" ..." if len(self) > 20 else "")
            raise DataError(f"label {label!r} was not seen in training (known: {shown})",
                            path=path, line=line)
        return i

    def save(self, path: str | os.PathLike[str]) -> None:
        tmp = Path(path).with_name(f".{Path(path).name}.tmp")
        tmp.write_text(json.dumps({"kind": "labels", "labels": self.itos}, ensure_ascii=False))
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> LabelVocab:
        try:
            d = json.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise DataError("no such label file", path=path) from None
        except json.JSONDecodeError as exc:
            raise DataError(f"not valid JSON ({exc.msg})", path=path, line=exc.lineno) from None
        labels = d.get("labels") if isinstance(d, dict) else None
        if not isinstance(labels, list) or not all(isinstance(t, str) for t in labels):
            raise DataError("expected {\"kind\": \"labels\", \"labels\": [...]}", path=path)
        return cls(labels)
