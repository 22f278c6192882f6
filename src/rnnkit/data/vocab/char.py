"""The character vocabulary: one id per character."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from rnnkit.data.errors import DataError
from rnnkit.data.vocab.base import FORMAT_VERSION, UNK, Vocab, _as_int_list, _display, _token_list


class CharVocab(Vocab):
    """One id per character: id 0 is ``<unk>``, then characters sorted by code point.

    Unknown characters encode to 0 and are counted in ``unk_count``; 0 decodes to ``"\\ufffd"``.

    >>> v = CharVocab.build("a cab\\n")
    >>> v.itos, v.encode("bad"), v.unk_count
    (['<unk>', '\\n', ' ', 'a', 'b', 'c'], [4, 3, 0], 1)
    >>> v.decode([5, 3, 0]), [v.token(i) for i in (0, 1, 2)]
    ('ca\\ufffd', ['<unk>', '\\\\n', '␣'])
    >>> CharVocab.build("aab", min_freq=2).itos
    ['<unk>', 'a']
    """

    kind = "char"
    unk_id = 0

    def __init__(self, chars: Iterable[str]) -> None:
        super().__init__()
        self.itos: list[str] = [UNK, *chars]
        self.stoi: dict[str, int] = {c: i for i, c in enumerate(self.itos) if i > 0}

    @classmethod
    def build(cls, text: str, min_freq: int = 1) -> CharVocab:
        """Characters of ``text`` that occur at least ``min_freq`` times."""
        if min_freq < 1:
            raise ValueError(f"min_freq must be >= 1, got {min_freq}")
        counts = Counter(text)
        chars = sorted(c for c, n in counts.items() if n >= min_freq)
        if not chars:
            raise ValueError(
                f"no character of the text occurs {min_freq} times (text has {len(text)} chars)"
            )
        return cls(chars)

    def encode(self, text: str) -> list[int]:
        get = self.stoi.get
        ids = [get(c, 0) for c in text]
        self._count_unk(ids.count(0))
        return ids

    def decode(self, ids: Iterable[int]) -> str:
        ids = _as_int_list(ids)
        self._check_ids(ids)
        itos = self.itos
        return "".join("\ufffd" if i == 0 else itos[i] for i in ids)

    def __len__(self) -> int:
        return len(self.itos)

    def token(self, i: int) -> str:
        return UNK if i == 0 else _display(self.itos[i])

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "version": FORMAT_VERSION, "tokens": list(self.itos)}

    @classmethod
    def _from_dict(cls, d: dict[str, Any], path: str | None) -> CharVocab:
        tokens = _token_list(d, path, [UNK])
        bad = [t for t in tokens[1:] if len(t) != 1]
        if bad:
            raise DataError(
                f"char vocabulary tokens must be single characters, found {bad[0]!r}", path=path
            )
        return cls(tokens[1:])
