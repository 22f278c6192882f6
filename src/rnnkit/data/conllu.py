"""Tagged sentences: CoNLL-U and plain whitespace-column files (CoNLL-2000/2003 style).

CoNLL-U (https://universaldependencies.org/format.html): ten tab-separated fields per word,
``#`` comment lines, a blank line after each sentence. Multiword-token lines (ID ``1-2``) and
empty nodes (ID ``1.1``) are skipped, so a sentence is its syntactic words. Columns are chosen
by name (``id form lemma upos xpos feats head deprel deps misc``) or 0-based index.

Whitespace columns: one word per line, fields separated by spaces or tabs, every line of a file
with the same number of fields, a blank line between sentences, ``-DOCSTART-`` lines skipped.
Columns are 0-based indices (negative from the end): by default the word is column 0 and the tag
the last column.

``.gz`` files are read transparently. Every problem is a :class:`DataError` naming file and line.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from rnnkit.data.errors import DataError
from rnnkit.data.lines import read_lines

__all__ = ["CONLLU_COLUMNS", "TAG_FORMATS", "TaggedSentence", "detect_tag_format",
           "read_columns", "read_conllu", "read_tagged"]

log = logging.getLogger(__name__)

CONLLU_COLUMNS = ("id", "form", "lemma", "upos", "xpos", "feats", "head", "deprel", "deps",
                  "misc")
TAG_FORMATS = ("auto", "conllu", "columns", "lines")


@dataclass(frozen=True)
class TaggedSentence:
    words: list[str]
    tags: list[str] | None  # None when read without a tag column
    path: str  # where it was read, for error messages
    line: int  # line of its first word
    tag_lines: tuple[int, ...] = ()  # line of each word (to locate a bad tag)


def detect_tag_format(path: str | os.PathLike[str], fmt: str = "auto") -> str:
    """``conllu`` for ``*.conllu[.gz]``, otherwise ``columns`` (``lines`` only when asked)."""
    if fmt not in TAG_FORMATS:
        raise ValueError(f"format must be one of {TAG_FORMATS}, got {fmt!r}")
    if fmt != "auto":
        return fmt
    name = Path(path).name.lower().removesuffix(".gz")
    return "conllu" if name.endswith(".conllu") else "columns"


def read_tagged(path: str | os.PathLike[str], fmt: str = "auto", column: str | int | None = "",
                word_col: str | int = "", encoding: str = "utf-8") -> list[TaggedSentence]:
    """Sentences from CoNLL-U, whitespace columns, or ``lines`` (one sentence per line, words
    split on whitespace, no tags). ``column=None`` reads words only; ``""`` is the default
    column of the format (``upos``; the last column)."""
    fmt = detect_tag_format(path, fmt)
    if fmt == "conllu":
        return read_conllu(path, "upos" if column == "" else column, word_col or "form",
                           encoding)
    if fmt == "columns":
        return read_columns(path, -1 if column == "" else column, word_col or 0, encoding)
    path = os.fspath(path)
    return [TaggedSentence(ln.split(), None, path, i) for i, ln in
            enumerate(read_lines(path, encoding), 1) if ln.strip()]


def _conllu_index(spec: str | int, path: str, what: str) -> int:
    if isinstance(spec, int) or spec.lstrip("-").isdigit():
        k = int(spec)
        if not -10 <= k < 10:
            raise ValueError(f"{what} column index {k} is outside CoNLL-U's 10 columns")
        return k % 10
    if spec not in CONLLU_COLUMNS:
        raise ValueError(f"unknown CoNLL-U {what} column {spec!r}; choose one of "
                         f"{', '.join(CONLLU_COLUMNS)} or a 0-based index")
    return CONLLU_COLUMNS.index(spec)


def read_conllu(path: str | os.PathLike[str], column: str | int | None = "upos",
                word_col: str | int = "form", encoding: str = "utf-8") -> list[TaggedSentence]:
    """Sentences of a CoNLL-U file with the tags of ``column`` (``None``: words only)."""
    path = os.fspath(path)
    wk = _conllu_index(word_col, path, "word")
    tk = None if column is None else _conllu_index(column, path, "tag")
    sentences: list[TaggedSentence] = []
    words: list[str] = []
    tags: list[str] = []
    lines: list[int] = []

    def flush():
        if words:
            sentences.append(TaggedSentence(list(words), None if tk is None else list(tags),
                                            path, lines[0], tuple(lines)))
            words.clear(), tags.clear(), lines.clear()

    for i, ln in enumerate(read_lines(path, encoding), 1):
        if not ln.strip():
            flush()
            continue
        if ln.startswith("#"):
            continue
        fields = ln.split("\t")
        if len(fields) != 10:
            raise DataError(f"expected 10 tab-separated CoNLL-U fields, found {len(fields)}",
                            path=path, line=i)
        wid = fields[0]
        if "-" in wid or "." in wid:  # multiword token or empty node: not a syntactic word
            continue
        if not wid.isdigit():
            raise DataError(f"word ID must be an integer, '1-2' or '1.1', found {wid!r}",
                            path=path, line=i)
        word = fields[wk]
        if not word.strip():
            raise DataError(f"empty word in column {CONLLU_COLUMNS[wk]}", path=path, line=i)
        words.append(word)
        lines.append(i)
        if tk is not None:
            tag = fields[tk].strip()
            if tag in ("", "_"):
                raise DataError(f"empty tag ({tag!r}) in column {CONLLU_COLUMNS[tk]}",
                                path=path, line=i)
            tags.append(tag)
    flush()
    if not sentences:
        raise DataError("no sentences found (expected CoNLL-U word lines)", path=path)
    log.info("%s: %d sentences, %d words", path, len(sentences),
             sum(len(s.words) for s in sentences))
    return sentences


def read_columns(path: str | os.PathLike[str], column: str | int | None = -1,
                 word_col: str | int = 0, encoding: str = "utf-8") -> list[TaggedSentence]:
    """Sentences of a whitespace-column file (see the module docstring)."""
    path = os.fspath(path)
    specs = {"word": word_col, "tag": column}
    for what, spec in specs.items():
        if spec is not None and not (isinstance(spec, int) or str(spec).lstrip("-").isdigit()):
            raise ValueError(f"a whitespace-column file has no column names: give the {what} "
                             f"column as a 0-based index, not {spec!r}")
    wk = int(word_col)
    tk = None if column is None else int(column)
    sentences: list[TaggedSentence] = []
    words: list[str] = []
    tags: list[str] = []
    lines: list[int] = []
    width = None

    def flush():
        if words:
            sentences.append(TaggedSentence(list(words), None if tk is None else list(tags),
                                            path, lines[0], tuple(lines)))
            words.clear(), tags.clear(), lines.clear()

    for i, ln in enumerate(read_lines(path, encoding), 1):
        fields = ln.split()
        if not fields:
            flush()
            continue
        if fields[0] == "-DOCSTART-":
            continue
        if width is None:
            width = len(fields)
            for what, k in (("word", wk), ("tag", tk)):
                if k is not None and not -width <= k < width:
                    raise DataError(f"no {what} column {k}: lines have {width} fields",
                                    path=path, line=i)
        elif len(fields) != width:
            raise DataError(f"found {len(fields)} fields, but earlier lines have {width} "
                            "(ragged columns)", path=path, line=i)
        words.append(fields[wk])
        lines.append(i)
        if tk is not None:
            tags.append(fields[tk])
    flush()
    if not sentences:
        raise DataError("no sentences found (expected one word per line)", path=path)
    return sentences
