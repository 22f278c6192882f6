"""Vocabularies: characters, words and byte-level BPE behind one interface.

Every vocabulary maps text to ids and back (``encode``/``decode``), has a size (``len``), shows
one id for plots and logs (``token``), and saves to and loads from JSON (``to_dict``/``save``,
``Vocab.from_dict``/``Vocab.load``, which dispatch on the ``"kind"`` key).

>>> v = CharVocab.build("hello")
>>> v.encode("hole"), v.decode(v.encode("hello")), len(v)
([2, 4, 3, 1], 'hello', 5)
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any, ClassVar

from rnnkit.data.errors import DataError

__all__ = ["BPEVocab", "CharVocab", "Vocab", "WordVocab", "build_vocab"]

logger = logging.getLogger(__name__)

UNK = "<unk>"
FORMAT_VERSION = 1


def _display(s: str) -> str:
    """A visible form of a token: spaces as ``␣``, other unprintable characters escaped."""
    if s and s.strip(" ") == "":
        return "\u2423" * len(s)
    if s.isprintable():
        return s
    return s.encode("unicode_escape").decode("ascii")


def _as_int_list(ids: Iterable[int]) -> list[int]:
    tolist = getattr(ids, "tolist", None)  # torch tensors and numpy arrays, in one call
    seq = tolist() if tolist is not None else ids
    if isinstance(seq, int):
        return [seq]
    return [int(i) for i in seq]


class Vocab:
    """Base class: the interface every vocabulary implements.

    Attributes:
        kind: ``"char"``, ``"word"`` or ``"bpe"``; the ``"kind"`` key of :meth:`to_dict`.
        unk_id: id that unknown input encodes to, or ``None`` when every text encodes (BPE).
        unk_count: how many unknown tokens :meth:`encode` has met so far on this object.
    """

    kind: ClassVar[str] = ""
    _kinds: ClassVar[dict[str, type[Vocab]]] = {}
    unk_id: int | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.kind:
            Vocab._kinds[cls.kind] = cls

    def __init__(self) -> None:
        self.unk_count = 0

    # The interface -------------------------------------------------------------------------
    def encode(self, text: str) -> list[int]:
        """Text to ids, a list of length T. Never raises on unknown input."""
        raise NotImplementedError

    def decode(self, ids: Iterable[int]) -> str:
        """Ids (a list or a (T,) tensor) to text."""
        raise NotImplementedError

    def __len__(self) -> int:
        """V, the number of ids: valid ids are ``0 .. V-1``."""
        raise NotImplementedError

    def token(self, i: int) -> str:
        """Display form of id ``i`` for plots and logs (``"\\n"`` escaped, spaces as ``␣``)."""
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict with a ``"kind"`` key; ``Vocab.from_dict`` inverts it."""
        raise NotImplementedError

    @classmethod
    def _from_dict(cls, d: dict[str, Any], path: str | None) -> Vocab:
        raise NotImplementedError

    # Shared machinery ----------------------------------------------------------------------
    def __repr__(self) -> str:
        return f"{type(self).__name__}(size={len(self)})"

    def _check_ids(self, ids: list[int]) -> None:
        n = len(self)
        for i in ids:
            if not 0 <= i < n:
                raise ValueError(f"id {i} is out of range for a {self.kind} vocabulary of size {n}")

    def _count_unk(self, n: int) -> None:
        if n:
            self.unk_count += n
            logger.debug("%s vocabulary: %d unknown tokens encoded as id 0", self.kind, n)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write :meth:`to_dict` as JSON, atomically (temporary file, then ``os.replace``)."""
        path = Path(path)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(self.to_dict(), f, ensure_ascii=False)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @classmethod
    def from_dict(cls, d: Any, *, path: str | os.PathLike[str] | None = None) -> Vocab:
        """Rebuild a vocabulary from :meth:`to_dict` output, dispatching on ``d["kind"]``.

        ``path`` is only used in error messages. Raises :class:`DataError` for a dict of an
        unknown kind or a malformed one.
        """
        where = None if path is None else os.fspath(path)
        if not isinstance(d, dict):
            raise DataError(
                f"expected a JSON object with a 'kind' key, found {type(d).__name__}", path=where
            )
        kind = d.get("kind")
        choices = ", ".join(repr(k) for k in sorted(Vocab._kinds))
        target = Vocab._kinds.get(kind) if isinstance(kind, str) else None
        if target is None:
            raise DataError(
                f"unknown vocabulary kind {kind!r}; expected one of {choices}", path=where
            )
        if cls is not Vocab and not issubclass(target, cls):
            raise DataError(f"expected a {cls.kind!r} vocabulary, found {kind!r}", path=where)
        return target._from_dict(d, where)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Vocab:
        """Read a vocabulary written by :meth:`save`; :class:`DataError` if it is not one."""
        try:
            raw = Path(path).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise DataError("no such vocabulary file", path=path) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise DataError(f"cannot read vocabulary file: {exc}", path=path) from exc
        try:
            d = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise DataError(
                f"not valid JSON ({exc.msg}, column {exc.colno}); expected a vocabulary "
                "written by Vocab.save",
                path=path,
                line=exc.lineno,
            ) from None
        return cls.from_dict(d, path=path)


def _token_list(d: dict[str, Any], path: str | None, specials: list[str]) -> list[str]:
    """Validate ``d["tokens"]``: a list of unique strings starting with ``specials``."""
    tokens = d.get("tokens")
    if not isinstance(tokens, list) or not all(isinstance(t, str) and t for t in tokens):
        raise DataError("'tokens' must be a list of non-empty strings", path=path)
    if tokens[: len(specials)] != specials:
        raise DataError(
            f"'tokens' must start with {specials}, found {tokens[: len(specials)]}", path=path
        )
    if len(set(tokens)) != len(tokens):
        dup = next(t for t, n in Counter(tokens).items() if n > 1)
        raise DataError(f"'tokens' lists {dup!r} more than once", path=path)
    return tokens


class CharVocab(Vocab):
    """One id per character: id 0 is ``<unk>``, then characters sorted by code point.

    Unknown characters encode to 0 and are counted in ``unk_count``; 0 decodes to ``"\\ufffd"``.
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


def _import_tokenizers():
    try:
        import tokenizers
    except ImportError as exc:
        raise ImportError(
            "BPE vocabularies need the 'tokenizers' package: pip install tokenizers "
            "(or pip install 'rnnkit[text]')"
        ) from exc
    return tokenizers


class BPEVocab(Vocab):
    """Byte-level BPE trained locally with the ``tokenizers`` library.

    Any text encodes (its bytes are the base alphabet), so there is no ``<unk>``
    (``unk_id is None``), and ``decode(encode(text)) == text`` exactly. A slice of ids that cuts
    a multi-byte character decodes that character as ``"\\ufffd"``.
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


_BUILDERS: dict[str, type[CharVocab] | type[WordVocab] | type[BPEVocab]] = {
    "char": CharVocab,
    "word": WordVocab,
    "bpe": BPEVocab,
}


def build_vocab(kind: str, text: str, **kw: Any) -> Vocab:
    """Build a vocabulary of ``kind`` (``"char"``, ``"word"`` or ``"bpe"``) from ``text``.

    Keyword arguments go to that class's ``build`` (``min_freq``, ``max_size``, ``vocab_size``).
    """
    cls = _BUILDERS.get(kind)
    if cls is None:
        raise ValueError(f"unknown vocabulary kind {kind!r}; choose one of {sorted(_BUILDERS)}")
    return cls.build(text, **kw)
