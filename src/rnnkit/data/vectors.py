"""Pretrained word vectors from a local GloVe or word2vec text file.

Both formats have one word per line followed by its E numbers, separated by spaces; word2vec's
text format starts with a ``count dimension`` header line, which is recognised and skipped.
Words containing spaces (a few GloVe files have them) work: the last E fields are the numbers.
Only the vectors of words in the vocabulary are kept, so large files stream through in constant
memory. ``.gz`` files are read transparently.
"""

from __future__ import annotations

import gzip
import logging
import os
from pathlib import Path

import torch
from torch import Tensor

from rnnkit.data.errors import DataError
from rnnkit.data.lines import check_encoding

__all__ = ["load_vectors", "vector_dim"]

log = logging.getLogger(__name__)


def _open(path: Path, encoding: str):
    if not path.is_file():
        raise DataError("no such vectors file", path=path)
    opener = gzip.open if path.suffix == ".gz" else open
    return opener(path, "rt", encoding=encoding, newline="")


def _lines(path: Path, encoding: str):
    """(line number, fields) of the vector lines, the word2vec header skipped."""
    with _open(path, encoding) as f:
        i = 0
        try:
            for i, ln in enumerate(f, 1):
                fields = ln.rstrip("\r\n").rstrip(" ").split(" ")
                if i == 1 and len(fields) == 2 and all(x.isdigit() for x in fields):
                    continue  # word2vec header: count and dimension
                if fields != [""]:
                    yield i, fields
        except UnicodeDecodeError as exc:
            raise DataError(f"not valid {encoding} ({exc.reason}); pass the file's encoding",
                            path=path, line=i + 1) from None


def vector_dim(path: str | os.PathLike[str], encoding: str = "utf-8") -> int:
    """E, the dimension of the vectors in the file (from its first vector line)."""
    for i, fields in _lines(Path(path), encoding):
        if len(fields) < 2:
            raise DataError("expected a word followed by numbers", path=path, line=i)
        return len(fields) - 1
    raise DataError("no vectors in file", path=path)


def load_vectors(path: str | os.PathLike[str], stoi: dict[str, int], weight: Tensor,
                 encoding: str = "utf-8", lowercase_fallback: bool = True) -> int:
    """Copy the file's vector of every known word into the rows of ``weight`` (V, E); returns
    how many rows were set. A word absent from the file keeps its row. With
    ``lowercase_fallback``, a vocabulary word absent from the file takes the vector of its
    lowercase form when the file has that.

    Raises:
        DataError: a line whose number of values differs from E, or a value that is not a
            number (file and line named); a file whose E differs from ``weight``'s.
    """
    check_encoding(encoding)
    path = Path(path)
    E = weight.shape[1]
    lower: dict[str, list[int]] = {}
    if lowercase_fallback:
        for w, i in stoi.items():
            if w.lower() != w:
                lower.setdefault(w.lower(), []).append(i)
    exact_set: set[int] = set()
    from_lower: dict[int, list[float]] = {}
    dim = None
    with torch.no_grad():
        for i, fields in _lines(path, encoding):
            if dim is None:
                dim = len(fields) - 1
                if dim != E:
                    raise DataError(f"vectors have {dim} dimensions but the embedding has {E}",
                                    path=path, line=i)
            if len(fields) < E + 1:
                raise DataError(f"expected a word and {E} numbers, found {len(fields)} fields",
                                path=path, line=i)
            word = " ".join(fields[:-E])
            rows = [stoi[word]] if word in stoi else []
            fallback = lower.get(word, [])
            if not rows and not fallback:
                continue
            try:
                vec = [float(x) for x in fields[-E:]]
            except ValueError:
                bad = next(x for x in fields[-E:] if not _is_float(x))
                raise DataError(f"{bad!r} is not a number", path=path, line=i) from None
            for r in rows:
                weight[r] = torch.tensor(vec, dtype=weight.dtype)
                exact_set.add(r)
            for r in fallback:
                from_lower.setdefault(r, vec)
        for r, vec in from_lower.items():
            if r not in exact_set:
                weight[r] = torch.tensor(vec, dtype=weight.dtype)
    found = len(exact_set | set(from_lower))
    log.info("%s: vectors for %d of %d vocabulary words", path, found, len(stoi))
    return found


def _is_float(x: str) -> bool:
    try:
        float(x)
    except ValueError:
        return False
    return True
