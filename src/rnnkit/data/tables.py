"""Labelled texts for classification: CSV, TSV, JSON lines, or a folder with one file per label.

Every example keeps the file and line it came from, so a later problem (a label never seen in
training, say) can still be reported where it is. Columns are chosen by name (a header field,
a JSON key) or by 0-based index (headerless files, JSON arrays); negative indices count from the
end.

Formats (``fmt``):

* ``csv``, ``tsv``: one example per row; quoted fields may span lines. ``header=None`` means
  "the first row is a header when a column is given by name".
* ``jsonl``: one JSON object (or array) per line; numbers as labels become strings.
* ``folder``: every file directly inside the folder holds the examples of one label, one per
  line (hidden files, ``*.md`` and ``README*``/``LICENSE*``/``SOURCE*`` files are skipped).
  The label is the file's suffix when all files share one stem (``rt-polarity.pos``/
  ``rt-polarity.neg`` -> ``pos``, ``neg``), else its stem (``pos.txt``/``neg.txt`` -> ``pos``,
  ``neg``).
* ``lines``: one text per line, no labels (for prediction).
* ``auto``: a folder is ``folder``; files by suffix (``.csv``, ``.tsv``/``.tab``,
  ``.jsonl``/``.ndjson``, anything else ``lines``), a trailing ``.gz`` ignored.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from rnnkit.data.errors import DataError
from rnnkit.data.lines import read_lines, read_text_file

__all__ = ["FORMATS", "TextExample", "detect_format", "read_examples", "read_label_folder",
           "read_table"]

log = logging.getLogger(__name__)

FORMATS = ("auto", "csv", "tsv", "jsonl", "folder", "lines")
_SUFFIX = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
_PLAIN_SUFFIXES = {"", ".txt", ".text"}


@dataclass(frozen=True)
class TextExample:
    text: str
    label: str | None  # None when the source has no labels
    path: str  # where it was read, for error messages
    line: int


def detect_format(path: str | os.PathLike[str], fmt: str = "auto") -> str:
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, got {fmt!r}")
    if fmt != "auto":
        return fmt
    p = Path(path)
    if p.is_dir():
        return "folder"
    suffix = Path(p.name[:-3]).suffix if p.name.endswith(".gz") else p.suffix
    return _SUFFIX.get(suffix.lower(), "lines")


def read_examples(path: str | os.PathLike[str], fmt: str = "auto", text_col: str | int = "text",
                  label_col: str | int | None = "label", header: bool | None = None,
                  encoding: str = "utf-8") -> list[TextExample]:
    """Examples from a file or folder in any of the formats above (``label_col=None``: texts
    only). Raises :class:`DataError` naming the file and line of any problem."""
    fmt = detect_format(path, fmt)
    if fmt == "folder":
        if not Path(path).is_dir():
            raise DataError("format 'folder' needs a folder", path=path)
        return read_label_folder(path, encoding)
    if Path(path).is_dir():
        raise DataError(f"a folder, but format {fmt!r} reads a file", path=path)
    if fmt == "lines":
        return _read_plain(path, encoding)
    return read_table(path, text_col, label_col, fmt, header, encoding)


def _read_plain(path, encoding: str, label: str | None = None) -> list[TextExample]:
    path = os.fspath(path)
    return [TextExample(ln, label, path, i) for i, ln in enumerate(read_lines(path, encoding), 1)
            if ln.strip()]


def read_label_folder(folder: str | os.PathLike[str], encoding: str = "utf-8"
                      ) -> list[TextExample]:
    """One file per label, one example per non-blank line (see the module docstring)."""
    root = Path(folder)
    files = sorted(p for p in root.iterdir() if p.is_file() and not p.name.startswith("."))
    docs = [p for p in files if _is_doc(p)]
    if docs:
        log.info("%s: skipping documentation files %s", root, [p.name for p in docs])
        files = [p for p in files if p not in docs]
    if not files:
        raise DataError("folder holds no files; expected one file of examples per label",
                        path=root)
    labels = folder_labels(files)
    out: list[TextExample] = []
    for f, label in zip(files, labels):
        examples = _read_plain(f, encoding, label)
        log.info("%s: %d examples of label %r", f, len(examples), label)
        out += examples
    return out


def _is_doc(p: Path) -> bool:
    name = p.name.upper()
    return p.suffix.lower() == ".md" or name.startswith(("README", "LICENSE", "SOURCE"))


def folder_labels(files: list[Path]) -> list[str]:
    """The label each file of a label folder stands for."""
    stems = {f.stem for f in files}
    suffixes = [f.suffix[1:] for f in files]
    use_suffix = len(stems) == 1 and all(suffixes) and (
        len(files) > 1 or files[0].suffix.lower() not in _PLAIN_SUFFIXES)
    labels = suffixes if use_suffix else [f.stem for f in files]
    seen: dict[str, Path] = {}
    for f, label in zip(files, labels):
        if label in seen:
            raise DataError(f"files {seen[label].name!r} and {f.name!r} both give label "
                            f"{label!r}; use one file per label", path=f.parent)
        seen[label] = f
    return labels


def _is_index(spec: str | int) -> bool:
    return isinstance(spec, int) or spec.lstrip("-").isdigit()


def _column(spec: str | int, names: list[str] | None, path: str, what: str) -> int:
    """Resolve a column given by name or index to an index."""
    if _is_index(spec):
        return int(spec)
    if names is None:
        raise DataError(f"{what} column {spec!r} is a name, but the file is read without a "
                        "header; give a 0-based index, or --header", path=path, line=1)
    if spec not in names:
        raise DataError(f"no {what} column named {spec!r}; the header has {names}",
                        path=path, line=1)
    return names.index(spec)


def read_table(path: str | os.PathLike[str], text_col: str | int = "text",
               label_col: str | int | None = "label", fmt: str = "auto",
               header: bool | None = None, encoding: str = "utf-8") -> list[TextExample]:
    """Examples from a CSV, TSV or JSON-lines file (see the module docstring)."""
    fmt = detect_format(path, fmt)
    path = os.fspath(path)
    if fmt == "jsonl":
        return _read_jsonl(path, text_col, label_col, encoding)
    if fmt not in ("csv", "tsv"):
        raise ValueError(f"read_table reads csv, tsv or jsonl, not {fmt!r}")
    text = read_text_file(path, encoding)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter="," if fmt == "csv" else "\t")
    if header is None:
        header = not _is_index(text_col) or (label_col is not None and not _is_index(label_col))
    names = None
    out: list[TextExample] = []
    end = 0
    try:
        for row in reader:
            line, end = end + 1, reader.line_num
            if not any(f.strip() for f in row):
                continue
            if header and names is None:
                names = [f.strip() for f in row]
                continue
            out.append(_example(row, names, text_col, label_col, path, line))
    except csv.Error as exc:
        raise DataError(f"malformed {fmt.upper()}: {exc}", path=path, line=end + 1) from None
    if not out:
        raise DataError("no examples (only a header or blank rows)", path=path)
    return out


def _example(row: list, names, text_col, label_col, path: str, line: int) -> TextExample:
    values = []
    for spec, what in ((text_col, "text"), (label_col, "label")):
        if spec is None:
            values.append(None)
            continue
        k = _column(spec, names, path, what)
        if not -len(row) <= k < len(row):
            raise DataError(f"missing {what} column {spec!r} (index {k}): the row has "
                            f"{len(row)} field{'s' if len(row) != 1 else ''}",
                            path=path, line=line)
        v = row[k]
        values.append(v)
    return _checked(values[0], values[1], label_col is not None, path, line)


def _checked(text, label, want_label: bool, path: str, line: int) -> TextExample:
    if not isinstance(text, str):
        raise DataError(f"text must be a string, found {type(text).__name__} {text!r}",
                        path=path, line=line)
    if not text.strip():
        raise DataError("empty text", path=path, line=line)
    if want_label:
        if isinstance(label, bool) or not isinstance(label, (str, int)):
            raise DataError(f"label must be a string or an integer, found {label!r}",
                            path=path, line=line)
        label = str(label).strip()
        if not label:
            raise DataError("empty label", path=path, line=line)
    return TextExample(text, label if want_label else None, path, line)


def _read_jsonl(path: str, text_col, label_col, encoding: str) -> list[TextExample]:
    out: list[TextExample] = []
    for i, ln in enumerate(read_lines(path, encoding), 1):
        if not ln.strip():
            continue
        try:
            obj = json.loads(ln)
        except json.JSONDecodeError as exc:
            raise DataError(f"not valid JSON ({exc.msg}, column {exc.colno})",
                            path=path, line=i) from None
        values = []
        for spec, what in ((text_col, "text"), (label_col, "label")):
            if spec is None:
                values.append(None)
            elif isinstance(obj, dict):
                key = str(spec)
                if key not in obj:
                    raise DataError(f"missing {what} key {key!r}; the object has keys "
                                    f"{sorted(obj)}", path=path, line=i)
                values.append(obj[key])
            elif isinstance(obj, list):
                if not _is_index(spec) or not -len(obj) <= int(spec) < len(obj):
                    raise DataError(f"missing {what} column {spec!r}: the array has "
                                    f"{len(obj)} items", path=path, line=i)
                values.append(obj[int(spec)])
            else:
                raise DataError(f"expected a JSON object or array, found {type(obj).__name__}",
                                path=path, line=i)
        out.append(_checked(values[0], values[1], label_col is not None, path, i))
    return out
