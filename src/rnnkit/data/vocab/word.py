"""The word vocabulary: words, punctuation and newlines as tokens, with single spaces implied
by ordinary prose rules and other spacing kept as tokens, so that decoding restores the text.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from typing import Any

from rnnkit.data.vocab.base import FORMAT_VERSION, UNK, Vocab, _as_int_list, _display, _token_list

# Word tokens: words (letters/digits, with inner apostrophes and hyphens: "don't", "well-known"),
# single punctuation characters, "\n", and runs of other whitespace. Together they cover every
# character, so the segmentation below loses nothing.
_WORD_RE = re.compile(r"\n|[^\S\n]+|\w+(?:['\u2019-]\w+)*|[^\w\s]")
GLUE = "<glue>"
_NO_SPACE_BEFORE = frozenset(".,;:!?)]}%\u2026")
_NO_SPACE_AFTER = frozenset("([{$#")
_QUOTES = frozenset("\"'")


def _implied_space(prev: str | None, tok: str, open_quotes: str) -> bool:
    """Whether ordinary prose puts one space between ``prev`` and ``tok``.

    ``open_quotes`` holds the quote characters (``"`` or ``'``) open on this line before ``tok``.
    """
    if prev is None or prev == "\n" or tok == "\n":
        return False
    if tok in _QUOTES:
        return tok not in open_quotes  # an opening quote follows a space; a closing one does not
    if tok in _NO_SPACE_BEFORE:
        return False
    if prev in _QUOTES:
        return prev not in open_quotes  # no space after an opening quote; one after a closing one
    return prev not in _NO_SPACE_AFTER


def _update_quotes(open_quotes: str, tok: str) -> str:
    """Quote state after ``tok``: a quote character toggles, a newline closes them all."""
    if tok == "\n":
        return ""
    if tok in _QUOTES:
        return open_quotes.replace(tok, "") if tok in open_quotes else open_quotes + tok
    return open_quotes


def _is_space_run(tok: str) -> bool:
    return tok[0] != "\n" and tok.isspace()


def _segment(text: str) -> list[str]:
    """Word tokens of ``text`` with spacing made explicit only where prose rules get it wrong.

    Between two tokens a single space is implied when :func:`_implied_space` says so. Where the
    text differs, the segmentation records it: a whitespace run token (indentation, double
    spaces, a space the rules would not put) or :data:`GLUE` (no space where one is implied).
    """
    out: list[str] = []
    prev: str | None = None
    open_quotes = ""
    pending: str | None = None
    for tok in _WORD_RE.findall(text):
        if _is_space_run(tok):
            pending = tok
            continue
        implied = _implied_space(prev, tok, open_quotes)
        if pending is None:
            if implied:
                out.append(GLUE)
        elif not (implied and pending == " "):
            out.append(pending)
        out.append(tok)
        pending, prev = None, tok
        open_quotes = _update_quotes(open_quotes, tok)
    if pending is not None:
        out.append(pending)
    return out


class WordVocab(Vocab):
    """Words, punctuation and ``"\\n"`` as tokens; single spaces between words are implied.

    Ids: 0 ``<unk>``, 1 ``<glue>`` (no space where prose would put one, as in ``"3.14"``), then
    tokens by frequency (descending), ties by token. Spacing that ordinary prose rules do not
    predict (indentation, double spaces) becomes whitespace tokens, so for text whose tokens are
    all known ``decode(encode(text)) == text`` exactly. Unknown words encode to 0 (counted in
    ``unk_count``) and decode as ``<unk>``; unknown whitespace runs encode as one space.

    >>> v = WordVocab.build('He said: "hi, there."\\n')
    >>> v.decode(v.encode('He said: "hi, there."\\n'))
    'He said: "hi, there."\\n'

    Spacing that prose rules do not predict becomes tokens (``<glue>``, a double space):

    >>> WordVocab.tokenize("Pi is 3.14,  roughly.")
    ['Pi', 'is', '3', '.', '<glue>', '14', ',', '  ', 'roughly', '.']
    >>> v = WordVocab.build("the cat sat. the dog sat.")
    >>> ids = v.encode("the bird sat.")
    >>> ids, v.unk_count, v.decode(ids)
    ([4, 0, 3, 2], 1, 'the <unk> sat.')
    >>> [v.token(i) for i in range(len(v))]
    ['<unk>', '<glue>', '.', 'sat', 'the', 'cat', 'dog']
    """

    kind = "word"
    unk_id = 0
    glue_id = 1

    def __init__(self, tokens: Iterable[str]) -> None:
        super().__init__()
        self.itos: list[str] = [UNK, GLUE, *tokens]
        self.stoi: dict[str, int] = {t: i for i, t in enumerate(self.itos)}
        self._space_id = self.stoi.get(" ")

    @staticmethod
    def tokenize(text: str) -> list[str]:
        """The token strings :meth:`encode` maps to ids (``<glue>`` and spacing included)."""
        return _segment(text)

    @classmethod
    def build(cls, text: str, min_freq: int = 1, max_size: int | None = None) -> WordVocab:
        """Tokens of ``text`` seen at least ``min_freq`` times, at most ``max_size`` ids in all
        (the two special ids included)."""
        if min_freq < 1:
            raise ValueError(f"min_freq must be >= 1, got {min_freq}")
        if max_size is not None and max_size < 3:
            raise ValueError(f"max_size must be >= 3 (two special ids and a word), got {max_size}")
        counts = Counter(t for t in _segment(text) if t != GLUE)
        kept = (t for t, n in counts.items() if n >= min_freq)
        ranked = sorted(kept, key=lambda t: (-counts[t], t))
        if max_size is not None:
            ranked = ranked[: max_size - 2]
        if not ranked:
            raise ValueError(f"no word of the text occurs {min_freq} times ({len(text)} chars)")
        return cls(ranked)

    def encode(self, text: str) -> list[int]:
        ids: list[int] = []
        n_unk = 0
        get = self.stoi.get
        for tok in _segment(text):
            i = get(tok)
            if i is None:
                if _is_space_run(tok):
                    if self._space_id is not None:
                        ids.append(self._space_id)
                    continue
                i = 0
                n_unk += 1
            ids.append(i)
        self._count_unk(n_unk)
        return ids

    def decode(self, ids: Iterable[int]) -> str:
        ids = _as_int_list(ids)
        self._check_ids(ids)
        out: list[str] = []
        prev: str | None = None
        open_quotes = ""
        explicit = False
        for i in ids:
            tok = self.itos[i]
            if i == self.glue_id:
                explicit = True
            elif _is_space_run(tok):
                out.append(tok)
                explicit = True
            else:
                if not explicit and _implied_space(prev, tok, open_quotes):
                    out.append(" ")
                out.append(tok)
                explicit, prev = False, tok
                open_quotes = _update_quotes(open_quotes, tok)
        return "".join(out)

    def __len__(self) -> int:
        return len(self.itos)

    def token(self, i: int) -> str:
        return _display(self.itos[i]) if i > 1 else self.itos[i]

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "version": FORMAT_VERSION, "tokens": list(self.itos)}

    @classmethod
    def _from_dict(cls, d: dict[str, Any], path: str | None) -> WordVocab:
        return cls(_token_list(d, path, [UNK, GLUE])[2:])
