"""Tagged sentences: CoNLL-U and plain whitespace-column files (CoNLL-2000/2003 style).

CoNLL-U (https://universaldependencies.org/format.html): ten tab-separated fields per word,
``#`` comment lines, a blank line after each sentence. Multiword-token lines (ID ``1-2``) and
empty nodes (ID ``1.1``) are skipped, so a sentence is its syntactic words. Columns are chosen
by name (``id form lemma upos xpos feats head deprel deps misc``) or 0-based index.

Whitespace columns: one word per line, fields separated by spaces or tabs, every line of a file
with the same number of fields, a blank line between sentences, ``-DOCSTART-`` lines skipped.
Columns are 0-based indices (negative from the end): by default the word is column 0 and the tag
the last column.

Feature columns (``features``: ``"all"``, ``None`` / ``"none"``, or column specs) are read next
to the words, one value per word and column, for taggers that use them as inputs. ``"all"`` is,
in a whitespace-column file, every column other than the word and the tag (with no tag column:
every column but the word); in CoNLL-U, the part-of-speech columns ``upos`` and ``xpos`` when
the tag is another column (``deprel``, ``feats``, a ``misc`` label), and none when the tag is
``upos`` or ``xpos`` (the two spell the same annotation). The word and tag columns are never
features. Each sentence records its resolved columns (0-based, never negative).

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
           "feature_spec", "read_columns", "read_conllu", "read_tagged"]

log = logging.getLogger(__name__)

CONLLU_COLUMNS = ("id", "form", "lemma", "upos", "xpos", "feats", "head", "deprel", "deps",
                  "misc")
TAG_FORMATS = ("auto", "conllu", "columns", "lines")
CONLLU_POS = (3, 4)  # upos, xpos: CoNLL-U's feature columns under "all"


@dataclass(frozen=True)
class TaggedSentence:
    words: list[str]
    tags: list[str] | None  # None when read without a tag column
    path: str  # where it was read, for error messages
    line: int  # line of its first word
    tag_lines: tuple[int, ...] = ()  # line of each word (to locate a bad tag)
    features: tuple[tuple[str, ...], ...] = ()  # per feature column, the value of each word
    feature_cols: tuple[int, ...] = ()  # the feature columns read (0-based)


FeatureSpec = str | tuple | list | None


def feature_spec(spec: FeatureSpec) -> str | tuple[str | int, ...] | None:
    """``"all"``, None (no features: ``None``, ``""``, ``"none"``, an empty sequence) or the
    column specs of a comma list (``"1,2"``, ``"upos,xpos"``) or a sequence.

    >>> feature_spec("all"), feature_spec("none"), feature_spec(" 1, -2")
    ('all', None, ('1', '-2'))
    """
    if spec is None:
        return None
    if isinstance(spec, str):
        text = spec.strip()
        if text.lower() in ("", "none"):
            return None
        if text.lower() == "all":
            return "all"
        spec = [p.strip() for p in text.split(",")]
    parts = tuple(spec)
    if not parts:
        return None
    if any(p == "" for p in parts):
        raise ValueError(f"feature columns must be all, none or a comma list of columns, "
                         f"got {spec!r}")
    return parts


def _own_columns(ks, wk: int, tk: int | None) -> tuple[int, ...]:
    """``ks`` without repeats; the word or tag column among them is an error."""
    out: list[int] = []
    for k in ks:
        if k == wk or k == tk:
            what = "word" if k == wk else "tag"
            raise ValueError(f"feature column {k} is the {what} column; a feature is another "
                             "column")
        if k not in out:
            out.append(k)
    return tuple(out)


class _Collector:
    """The words (tags, feature values, lines) of the sentence being read, and the sentences
    read so far."""

    def __init__(self, path: str, tagged: bool, fks: tuple[int, ...]):
        self.path, self.tagged, self.fks = path, tagged, fks
        self.sentences: list[TaggedSentence] = []
        self._clear()

    def _clear(self) -> None:
        self.words: list[str] = []
        self.tags: list[str] = []
        self.lines: list[int] = []
        self.feats: list[list[str]] = [[] for _ in self.fks]

    def add(self, fields: list[str], wk: int, line: int, tag: str | None = None) -> None:
        self.words.append(fields[wk])
        self.lines.append(line)
        if tag is not None:
            self.tags.append(tag)
        for col, k in zip(self.feats, self.fks):
            col.append(fields[k].strip())

    def flush(self) -> None:
        if self.words:
            self.sentences.append(TaggedSentence(
                self.words, self.tags if self.tagged else None, self.path, self.lines[0],
                tuple(self.lines), tuple(tuple(c) for c in self.feats), self.fks))
            self._clear()


def detect_tag_format(path: str | os.PathLike[str], fmt: str = "auto") -> str:
    """``conllu`` for ``*.conllu[.gz]``, otherwise ``columns`` (``lines`` only when asked)."""
    if fmt not in TAG_FORMATS:
        raise ValueError(f"format must be one of {TAG_FORMATS}, got {fmt!r}")
    if fmt != "auto":
        return fmt
    name = Path(path).name.lower().removesuffix(".gz")
    return "conllu" if name.endswith(".conllu") else "columns"


def read_tagged(path: str | os.PathLike[str], fmt: str = "auto", column: str | int | None = "",
                word_col: str | int = "", encoding: str = "utf-8",
                features: FeatureSpec = None) -> list[TaggedSentence]:
    """Sentences from CoNLL-U, whitespace columns, or ``lines`` (one sentence per line, words
    split on whitespace, no tags). ``column=None`` reads words only; ``""`` is the default
    column of the format (``upos``; the last column). ``features``: the feature columns
    (module docstring; ``lines`` have none)."""
    fmt = detect_tag_format(path, fmt)
    if fmt == "conllu":
        return read_conllu(path, "upos" if column == "" else column, word_col or "form",
                           encoding, features)
    if fmt == "columns":
        return read_columns(path, -1 if column == "" else column, word_col or 0, encoding,
                            features)
    if feature_spec(features) is not None:
        raise ValueError(f"{os.fspath(path)}: one sentence per line has no feature columns "
                         "(read a CoNLL-U or whitespace-column file)")
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


def _conllu_features(spec: FeatureSpec, wk: int, tk: int | None, path: str) -> tuple[int, ...]:
    spec = feature_spec(spec)
    if spec is None:
        return ()
    if spec == "all":
        return () if tk in CONLLU_POS else tuple(k for k in CONLLU_POS if k != wk)
    return _own_columns([_conllu_index(p, path, "feature") for p in spec], wk, tk)


def read_conllu(path: str | os.PathLike[str], column: str | int | None = "upos",
                word_col: str | int = "form", encoding: str = "utf-8",
                features: FeatureSpec = None) -> list[TaggedSentence]:
    """Sentences of a CoNLL-U file with the tags of ``column`` (``None``: words only) and the
    values of the ``features`` columns (module docstring)."""
    path = os.fspath(path)
    wk = _conllu_index(word_col, path, "word")
    tk = None if column is None else _conllu_index(column, path, "tag")
    out = _Collector(path, tk is not None, _conllu_features(features, wk, tk, path))
    for i, ln in enumerate(read_lines(path, encoding), 1):
        if not ln.strip():
            out.flush()
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
        if not fields[wk].strip():
            raise DataError(f"empty word in column {CONLLU_COLUMNS[wk]}", path=path, line=i)
        for k in out.fks:
            if not fields[k].strip():
                raise DataError(f"empty feature value in column {CONLLU_COLUMNS[k]} (write "
                                "'_' for none)", path=path, line=i)
        tag = None
        if tk is not None:
            tag = fields[tk].strip()
            if tag in ("", "_"):
                raise DataError(f"empty tag ({tag!r}) in column {CONLLU_COLUMNS[tk]}",
                                path=path, line=i)
        out.add(fields, wk, i, tag)
    out.flush()
    if not out.sentences:
        raise DataError("no sentences found (expected CoNLL-U word lines)", path=path)
    log.info("%s: %d sentences, %d words", path, len(out.sentences),
             sum(len(s.words) for s in out.sentences))
    return out.sentences


def _columns_features(spec: FeatureSpec, width: int, wk: int, tk: int | None, path: str,
                      line: int) -> tuple[int, ...]:
    spec = feature_spec(spec)
    if spec is None:
        return ()
    if spec == "all":
        return tuple(k for k in range(width) if k not in (wk, tk))
    ks = []
    for p in spec:
        if not (isinstance(p, int) or str(p).lstrip("-").isdigit()):
            raise ValueError("a whitespace-column file has no column names: give the feature "
                             f"columns as 0-based indexes, not {p!r}")
        k = int(p)
        if not -width <= k < width:
            raise DataError(f"no feature column {k}: lines have {width} fields", path=path,
                            line=line)
        ks.append(k % width)
    return _own_columns(ks, wk, tk)


def read_columns(path: str | os.PathLike[str], column: str | int | None = -1,
                 word_col: str | int = 0, encoding: str = "utf-8",
                 features: FeatureSpec = None) -> list[TaggedSentence]:
    """Sentences of a whitespace-column file (see the module docstring)."""
    path = os.fspath(path)
    specs = {"word": word_col, "tag": column}
    for what, spec in specs.items():
        if spec is not None and not (isinstance(spec, int) or str(spec).lstrip("-").isdigit()):
            raise ValueError(f"a whitespace-column file has no column names: give the {what} "
                             f"column as a 0-based index, not {spec!r}")
    wk = int(word_col)
    tk = None if column is None else int(column)
    out = None
    width = None
    for i, ln in enumerate(read_lines(path, encoding), 1):
        fields = ln.split()
        if not fields:
            if out is not None:
                out.flush()
            continue
        if fields[0] == "-DOCSTART-":
            continue
        if width is None:
            width = len(fields)
            for what, k in (("word", wk), ("tag", tk)):
                if k is not None and not -width <= k < width:
                    raise DataError(f"no {what} column {k}: lines have {width} fields",
                                    path=path, line=i)
            wk, tk = wk % width, None if tk is None else tk % width
            out = _Collector(path, tk is not None,
                             _columns_features(features, width, wk, tk, path, i))
        elif len(fields) != width:
            raise DataError(f"found {len(fields)} fields, but earlier lines have {width} "
                            "(ragged columns)", path=path, line=i)
        out.add(fields, wk, i, None if tk is None else fields[tk])
    if out is not None:
        out.flush()
    if out is None or not out.sentences:
        raise DataError("no sentences found (expected one word per line)", path=path)
    return out.sentences
