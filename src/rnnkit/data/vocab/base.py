"""The vocabulary interface (:class:`Vocab`) and what the vocabularies share: the ``<unk>``
token, the JSON format version, the display form of a token, validation of saved token lists.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any, ClassVar

from rnnkit.data.errors import DataError

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

    Every vocabulary saves to JSON and comes back as its own kind:

    >>> import tempfile
    >>> from rnnkit.data.vocab import CharVocab
    >>> v = CharVocab.build("hello")
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     v.save(f"{folder}/vocab.json")
    ...     w = Vocab.load(f"{folder}/vocab.json")
    >>> type(w).__name__, w.encode("hole") == v.encode("hole"), len(w) == len(v)
    ('CharVocab', True, True)
    >>> Vocab.from_dict(v.to_dict()).decode([1, 2])
    'eh'
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
