"""Parallel text for translation: two aligned files (line i of one translates line i of the
other) or one TSV/CSV file with a source and a target column. ``.gz`` files are read directly.

>>> import tempfile, os
>>> d = tempfile.mkdtemp()
>>> for name, text in [("a.de", "ein Hund\\nzwei Katzen\\n"), ("a.en", "a dog\\ntwo cats\\n")]:
...     _ = open(os.path.join(d, name), "w").write(text)
>>> [(p.src, p.tgt) for p in read_parallel(os.path.join(d, "a.de"), os.path.join(d, "a.en"))]
[('ein Hund', 'a dog'), ('zwei Katzen', 'two cats')]
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .errors import DataError
from .lines import read_lines, read_text_file
from .tokens import TokenVocab, tokenize
from .vocab.base import UNK, _token_list

__all__ = ["Pair", "Seq2SeqVocab", "read_parallel", "read_parallel_table"]

SPECIALS = frozenset({UNK, "<bos>", "<eos>"})


@dataclass(frozen=True)
class Pair:
    src: str
    tgt: str
    line: int  # 1-based line of the pair in its file(s)


def _check_pairs(pairs: list[Pair], where: str, allow_empty: bool) -> list[Pair]:
    out = []
    for p in pairs:
        src_empty, tgt_empty = not p.src.strip(), not p.tgt.strip()
        if src_empty and tgt_empty:
            continue  # a blank line on both sides: nothing to learn, skipped
        if (src_empty or tgt_empty) and not allow_empty:
            side = "source" if src_empty else "target"
            raise DataError(f"the {side} side of pair {p.line} is empty but the other is not"
                            f"{where}; fix the alignment or drop the line", line=p.line)
        out.append(p)
    if not out:
        raise DataError(f"no sentence pairs{where}")
    return out


def read_parallel(src_path: str | os.PathLike[str], tgt_path: str | os.PathLike[str],
                  encoding: str = "utf-8", allow_empty: bool = False) -> list[Pair]:
    """Pairs from two aligned files.

    Raises:
        DataError: different line counts (both counts and both names: the files are not
            aligned); one side empty on a line where the other is not (unless
            ``allow_empty``); plus every error of :func:`~rnnkit.data.lines.read_lines`.
    """
    src, tgt = read_lines(src_path, encoding), read_lines(tgt_path, encoding)
    if len(src) != len(tgt):
        raise DataError(f"parallel files differ in length: {len(src)} lines in {src_path} but "
                        f"{len(tgt)} lines in {tgt_path}; line i of one must translate line i "
                        f"of the other", path=src_path)
    pairs = [Pair(s.strip(), t.strip(), i + 1) for i, (s, t) in enumerate(zip(src, tgt))]
    try:
        return _check_pairs(pairs, f" (target file {tgt_path})", allow_empty)
    except DataError as e:
        raise DataError(e.problem, path=src_path, line=e.line) from None


def read_parallel_table(path: str | os.PathLike[str], src_col: int | str = 0,
                        tgt_col: int | str = 1, delimiter: str | None = None,
                        header: bool | None = None, encoding: str = "utf-8",
                        allow_empty: bool = False) -> list[Pair]:
    """Pairs from a TSV (default for anything but ``.csv``) or CSV file.

    Columns are 0-based indices or header names; ``header`` defaults to "a column is named".
    Raises :class:`DataError` naming the file and line of a row with too few columns.
    """
    text = read_text_file(path, encoding)
    if delimiter is None:
        name = os.fspath(path).removesuffix(".gz")
        delimiter = "," if name.endswith(".csv") else "\t"
    named = not (str(src_col).isdigit() and str(tgt_col).isdigit())
    if header is None:
        header = named
    rows = list(csv.reader(io.StringIO(text), delimiter=delimiter,
                           quoting=csv.QUOTE_MINIMAL if delimiter == "," else csv.QUOTE_NONE))
    start = 0
    if header:
        names = [c.strip() for c in rows[0]]
        start = 1
        cols = []
        for c in (src_col, tgt_col):
            if str(c).isdigit():
                cols.append(int(c))
            elif c in names:
                cols.append(names.index(c))
            else:
                raise DataError(f"no column named {c!r}; the header has {names}", path=path,
                                line=1)
    elif named:
        raise DataError(f"columns {src_col!r}, {tgt_col!r} are names but the file is read "
                        "without a header; give 0-based column numbers", path=path)
    else:
        cols = [int(src_col), int(tgt_col)]
    need = max(cols) + 1
    pairs = []
    for i, row in enumerate(rows[start:], start=start + 1):
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        if len(row) < need:
            raise DataError(f"expected at least {need} columns (source column {cols[0]}, "
                            f"target column {cols[1]}), found {len(row)}", path=path, line=i)
        pairs.append(Pair(row[cols[0]].strip(), row[cols[1]].strip(), i))
    try:
        return _check_pairs(pairs, "", allow_empty)
    except DataError as e:
        raise DataError(e.problem, path=path, line=e.line) from None


class Seq2SeqVocab(TokenVocab):
    """A token vocabulary with the decoder's specials first: ``<unk>`` 0 (also padding),
    ``<bos>`` 1, ``<eos>`` 2 (matching :class:`~rnnkit.tasks.seq2seq.Seq2SeqConfig`'s ids), then
    tokens by frequency. The literal strings ``<unk>``, ``<bos>``, ``<eos>`` in text (possible
    with the whitespace tokeniser) read as unknown words, never as the specials."""

    kind = "seq2seq-tokens"

    def __init__(self, tokens: Iterable[str], tokenizer: str = "regex",
                 lowercase: bool = True) -> None:
        tokens = [t for t in tokens if t not in SPECIALS]
        super().__init__(["<bos>", "<eos>", *tokens], tokenizer)
        self.lowercase = lowercase

    bos_id, eos_id = 1, 2

    @classmethod
    def build_from(cls, texts: Iterable[str], tokenizer: str = "regex", lowercase: bool = True,
                   min_freq: int = 1, max_size: int = 0) -> Seq2SeqVocab:
        base = TokenVocab.build(([w for w in tokenize(t.lower() if lowercase else t, tokenizer)
                                  if w not in SPECIALS] for t in texts),
                                min_freq, max_size - 2 if max_size else None, tokenizer)
        return cls(base.itos[1:], tokenizer, lowercase)

    def tokens(self, text: str) -> list[str]:
        """The text's tokens as the vocabulary sees them (specials' names read as ``<unk>``)."""
        return [UNK if w in SPECIALS else w
                for w in tokenize(text.lower() if self.lowercase else text, self.tokenizer)]

    def encode(self, text: str) -> list[int]:
        return self.encode_tokens(self.tokens(text))

    def decode_tokens(self, ids: Sequence[int]) -> list[str]:
        """Tokens of ``ids``, stopping at ``<eos>`` and skipping ``<bos>``."""
        out = []
        for i in ids:
            if i == self.eos_id:
                break
            if i != self.bos_id:
                out.append(self.itos[int(i)])
        return out

    def to_dict(self):
        d = super().to_dict()
        d["lowercase"] = self.lowercase
        return d

    @classmethod
    def _from_dict(cls, d, path):
        tok = d.get("tokenizer")
        if tok not in ("whitespace", "regex", "char"):
            raise DataError(f"unknown tokenizer {tok!r} in a seq2seq vocabulary", path=path)
        tokens = _token_list(d, path, [UNK, "<bos>", "<eos>"])[3:]
        return cls(tokens, tok, bool(d.get("lowercase", True)))
