"""The byte-level BPE vocabulary, trained locally with the ``tokenizers`` library (an optional
dependency, imported when a BPE vocabulary is built or loaded).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from rnnkit.data.errors import DataError
from rnnkit.data.vocab.base import FORMAT_VERSION, Vocab, _as_int_list, _display

logger = logging.getLogger(__name__)


def _import_tokenizers():
    try:
        import tokenizers
    except ImportError as exc:
        raise ImportError(
            "BPE vocabularies need the 'tokenizers' package (a dependency of rnnkit): "
            "pip install tokenizers"
        ) from exc
    return tokenizers


class BPEVocab(Vocab):
    """Byte-level BPE trained locally with the ``tokenizers`` library.

    Any text encodes (its bytes are the base alphabet), so there is no ``<unk>``
    (``unk_id is None``), and ``decode(encode(text)) == text`` exactly. A slice of ids that cuts
    a multi-byte character decodes that character as ``"\\ufffd"``.

    >>> v = BPEVocab.build("hello hello world", vocab_size=260)
    >>> len(v), v.unk_id, v.decode(v.encode("héllo wörld!"))
    (260, None, 'héllo wörld!')
    >>> len(v.encode("hello")) < len("hello".encode())  # merges learnt from the text
    True
    """

    kind = "bpe"
    unk_id = None

    def __init__(self, tokenizer: Any) -> None:
        super().__init__()
        self.tokenizer = tokenizer

    @classmethod
    def build(cls, text: str, vocab_size: int = 2000) -> BPEVocab:
        """Train merges on ``text`` until ``vocab_size`` ids (at least the 256 byte ids)."""
        if vocab_size < 256:
            raise ValueError(f"vocab_size must be >= 256 (one id per byte), got {vocab_size}")
        if not text:
            raise ValueError("cannot train a BPE vocabulary on empty text")
        tk = _import_tokenizers()
        tokenizer = tk.Tokenizer(tk.models.BPE())
        tokenizer.pre_tokenizer = tk.pre_tokenizers.ByteLevel(add_prefix_space=False)
        tokenizer.decoder = tk.decoders.ByteLevel()
        trainer = tk.trainers.BpeTrainer(
            vocab_size=vocab_size,
            initial_alphabet=tk.pre_tokenizers.ByteLevel.alphabet(),
            show_progress=False,
        )
        tokenizer.train_from_iterator([text], trainer)
        logger.info("trained BPE: %d ids on %d chars", tokenizer.get_vocab_size(), len(text))
        return cls(tokenizer)

    def encode(self, text: str) -> list[int]:
        return list(self.tokenizer.encode(text).ids)

    def decode(self, ids: Iterable[int]) -> str:
        ids = _as_int_list(ids)
        self._check_ids(ids)
        return self.tokenizer.decode(ids)

    def __len__(self) -> int:
        return self.tokenizer.get_vocab_size()

    def token(self, i: int) -> str:
        self._check_ids([i])
        text = self.tokenizer.decode([i])
        return self.tokenizer.id_to_token(i) if "\ufffd" in text else _display(text)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "version": FORMAT_VERSION, "tokenizer": self.tokenizer.to_str()}

    @classmethod
    def _from_dict(cls, d: dict[str, Any], path: str | None) -> BPEVocab:
        s = d.get("tokenizer")
        if not isinstance(s, str):
            raise DataError("'tokenizer' must be the tokenizer's JSON string", path=path)
        tk = _import_tokenizers()
        try:
            tokenizer = tk.Tokenizer.from_str(s)
        except Exception as exc:  # tokenizers raises a bare Exception for bad JSON
            raise DataError(
                f"'tokenizer' is not a valid tokenizers JSON string: {exc}", path=path
            ) from None
        return cls(tokenizer)
