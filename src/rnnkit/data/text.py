"""Plain-text corpora: read a file or a folder, split off validation text, a built-in corpus.

Every problem with the input raises :class:`~rnnkit.data.errors.DataError` naming the file (and
the line where there is one) and what to do about it.
"""

from __future__ import annotations

import ast
import logging
import os
import sysconfig
from collections.abc import Iterator
from pathlib import Path

from rnnkit.data.errors import DataError
from rnnkit.data.lines import check_encoding, read_text_file

__all__ = ["DEFAULT_CORPUS_DESCRIPTION", "default_corpus", "read_text", "split_text"]

logger = logging.getLogger(__name__)

DOCUMENT_SEPARATOR = "\n\n"

DEFAULT_CORPUS_DESCRIPTION = (
    "the docstrings of this Python installation's standard library (module, class and function "
    "docstrings of its pure-Python modules, tests and tools left out): about 1.6 million "
    "characters of English technical prose with small code examples, already on every machine "
    "that has Python, so nothing is downloaded. It is deterministic for one Python version and "
    "differs slightly between versions."
)

# Folders of the standard library that are not library documentation (tests, demos, vendored
# packages, tools with generated text).
_STDLIB_SKIP = frozenset(
    {
        "test",
        "tests",
        "idlelib",
        "lib2to3",
        "site-packages",
        "dist-packages",
        "__pycache__",
        "turtledemo",
        "ensurepip",
        "pydoc_data",
    }
)

_CORPUS_CACHE: dict[int, str] = {}


def read_text(path: str | os.PathLike[str], encoding: str = "utf-8") -> str:
    """Read a text file, or every file below a folder, as one string.

    A folder is read recursively: all regular files, sorted by their path relative to the
    folder, hidden files and folders (names starting with ``.``) skipped, documents joined with
    ``"\\n\\n"``. Line endings ``"\\r\\n"`` become ``"\\n"`` and a leading byte-order mark is
    dropped.

    Raises:
        DataError: the path does not exist; a folder holds no files; a file is empty or only
            whitespace; a file has bytes that are not valid ``encoding`` (the message gives the
            file, the 1-based line and the byte offset of the first bad byte).
    """
    check_encoding(encoding)
    root = Path(path)
    if root.is_dir():
        files = _list_files(root)
        if not files:
            raise DataError(
                "folder holds no readable files (hidden files are skipped); expected at least "
                "one text file",
                path=root,
            )
        texts = [_read_one(f, encoding) for f in files]
        logger.info("read %d files (%d chars) from %s", len(files), sum(map(len, texts)), root)
        return DOCUMENT_SEPARATOR.join(texts)
    if root.is_file():
        return _read_one(root, encoding)
    if not root.exists():
        raise DataError("no such file or folder", path=root)
    raise DataError("not a regular file or a folder", path=root)


def _list_files(root: Path) -> list[Path]:
    """Regular, non-hidden files below ``root``, sorted by relative POSIX path."""
    found: list[tuple[str, Path]] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for name in filenames:
            if name.startswith("."):
                continue
            full = Path(dirpath, name)
            if full.is_file():
                found.append((full.relative_to(root).as_posix(), full))
    found.sort()
    return [full for _, full in found]


def _read_one(path: Path, encoding: str) -> str:
    return read_text_file(path, encoding).replace("\r\n", "\n")


MAX_PIECES = 20  # split_text(spread=True): at most this many held-out pieces
MIN_PIECE = 2_000  # ... each at least this many characters


def split_text(text: str, val_fraction: float = 0.1, spread: bool = False) -> tuple[str, str]:
    """Split ``text`` into ``(train, val)``, ``val_fraction`` of the characters for val.

    By default the validation text is the last ``val_fraction`` of the text. With ``spread``
    it is taken in up to :data:`MAX_PIECES` pieces of at least :data:`MIN_PIECE` characters,
    one at the end of each of as many equal parts of the text, so that training sees every
    part of a file ordered by play, chapter or date (holding out the tail would hide its last
    part, names and all, from training) and validation samples all of it. A text too short for
    two pieces is split at its tail either way. ``val_fraction`` must satisfy
    ``0 <= val_fraction < 1``; 0 gives an empty validation text. The split is at a character,
    not a line, so fractions are exact up to rounding.

    >>> split_text("abcdefghij", 0.2)
    ('abcdefgh', 'ij')
    >>> train, val = split_text("".join(c * 8000 for c in "abcde"), 0.1, spread=True)
    >>> len(train), val.count("c"), val.count("e")  # two pieces: the end of each half
    (36000, 2000, 2000)
    """
    if isinstance(val_fraction, bool) or not isinstance(val_fraction, (int, float)):
        raise TypeError(f"val_fraction must be a number, got {type(val_fraction).__name__}")
    if not 0 <= val_fraction < 1:
        raise ValueError(f"val_fraction must satisfy 0 <= val_fraction < 1, got {val_fraction}")
    n = len(text)
    pieces = max(1, min(MAX_PIECES, int(n * val_fraction) // MIN_PIECE)) if spread else 1
    train, val, start = [], [], 0
    for k in range(1, pieces + 1):
        end = n * k // pieces
        # train = text[:int(n * (1 - f))], as nanoGPT's shakespeare_char split (first 90% /
        # last 10%), in each part
        cut = start + int((end - start) * (1 - val_fraction))
        train.append(text[start:cut])
        val.append(text[cut:end])
        start = end
    return "".join(train), "".join(val)


def default_corpus(max_chars: int = 2_000_000) -> str:
    """A corpus every Python install already has: the standard library's docstrings.

    Module, class and function docstrings (``ast.get_docstring``, cleaned with
    ``inspect.cleandoc``) of the ``*.py`` files under ``sysconfig.get_paths()["stdlib"]``, in
    sorted relative-path order and source order within a file, tests, demos and vendored
    packages skipped (see ``_STDLIB_SKIP``), files that fail to parse skipped. Documents are
    joined with ``"\\n\\n"`` and the result is cut at the last whole document that fits in
    ``max_chars`` (only when not even the first fits is it cut mid-document). Files are parsed
    only until ``max_chars`` is reached, and results are cached per ``max_chars``.
    """
    if isinstance(max_chars, bool) or not isinstance(max_chars, int) or max_chars <= 0:
        raise ValueError(f"max_chars must be a positive int, got {max_chars!r}")
    cached = _CORPUS_CACHE.get(max_chars)
    if cached is not None:
        return cached
    root = Path(sysconfig.get_paths()["stdlib"])
    docs: list[str] = []
    total = 0
    n_files = 0
    last_file = None
    for file, doc in _stdlib_docstrings(root):
        extra = len(doc) + (len(DOCUMENT_SEPARATOR) if docs else 0)
        if total + extra > max_chars:
            if docs:
                break
            doc = doc[:max_chars]  # not even the first document fits
        docs.append(doc)
        total += extra
        if file != last_file:
            n_files, last_file = n_files + 1, file
        if total >= max_chars:
            break
    corpus = DOCUMENT_SEPARATOR.join(docs)
    if not corpus:
        raise DataError(
            "found no docstrings in the standard library; pass a text file or folder instead",
            path=root,
        )
    logger.info(
        "default corpus: %d chars from %d docstrings in %d files under %s",
        len(corpus), len(docs), n_files, root,
    )
    _CORPUS_CACHE[max_chars] = corpus
    return corpus


def _stdlib_docstrings(root: Path) -> Iterator[tuple[Path, str]]:
    """Yield ``(file, docstring)`` for the standard library below ``root``, in a fixed order."""
    files: list[tuple[str, Path]] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in _STDLIB_SKIP and not d.startswith(".")]
        for name in filenames:
            if name.endswith(".py") and not name.startswith("."):
                full = Path(dirpath, name)
                files.append((full.relative_to(root).as_posix(), full))
    files.sort()
    for _, full in files:
        try:
            tree = ast.parse(full.read_bytes(), filename=str(full))
        except (OSError, SyntaxError, ValueError, UnicodeError, RecursionError, MemoryError):
            logger.debug("default corpus: skipped %s (does not parse)", full)
            continue
        for doc in _docstrings(tree):
            yield full, doc


_DEFS = (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)


def _docstrings(node: ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
    """Docstrings of ``node`` and of the definitions nested in it, in source order."""
    doc = ast.get_docstring(node, clean=True)  # clean=True applies inspect.cleandoc
    if doc and doc.strip():
        yield doc.strip()
    yield from _nested_docstrings(node.body)


def _nested_docstrings(stmts: list[ast.stmt]):
    for stmt in stmts:
        if isinstance(stmt, _DEFS):
            yield from _docstrings(stmt)
            continue
        # Definitions inside if/try/with/for blocks (platform-specific variants, fallbacks).
        for field in ("body", "orelse", "finalbody", "handlers", "cases"):
            sub = getattr(stmt, field, None)
            if isinstance(sub, list):
                yield from _nested_docstrings(sub)
