"""Read a text file as lines, with decoding errors located by file and line.

Shared by the table, CoNLL and vector readers. ``.gz`` files are decompressed transparently.
"""

from __future__ import annotations

import codecs
import gzip
import os
from pathlib import Path

from rnnkit.data.errors import DataError

__all__ = ["check_encoding", "read_bytes", "read_lines", "read_text_file", "split_lines"]


def check_encoding(encoding: str) -> None:
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise ValueError(
            f"unknown text encoding {encoding!r}; expected a Python codec name such as "
            "'utf-8' or 'latin-1'"
        ) from None


def read_bytes(path: str | os.PathLike[str]) -> bytes:
    """The file's bytes, gunzipped when the name ends in ``.gz``."""
    path = Path(path)
    if not path.exists():
        raise DataError("no such file", path=path)
    if not path.is_file():
        raise DataError("not a regular file", path=path)
    try:
        raw = path.read_bytes()
        if path.suffix == ".gz":
            raw = gzip.decompress(raw)
    except (OSError, EOFError) as exc:
        raise DataError(f"cannot read file: {exc}", path=path) from None
    return raw


def read_text_file(path: str | os.PathLike[str], encoding: str = "utf-8",
                   allow_empty: bool = False) -> str:
    """The decoded text of one file (a leading byte-order mark dropped).

    Raises:
        DataError: missing file; undecodable bytes (file, 1-based line and byte offset of the
            first bad byte, and a hint to pass the encoding); an empty or whitespace-only file
            unless ``allow_empty``.
    """
    check_encoding(encoding)
    raw = read_bytes(path)
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise DataError(
            f"byte 0x{raw[exc.start]:02x} at byte offset {exc.start} is not valid {encoding} "
            f"({exc.reason}); pass the file's encoding (for example --encoding latin-1)",
            path=path,
            line=line,
        ) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    if not allow_empty and not text.strip():
        raise DataError(f"file is {'empty' if not text else 'only whitespace'}; expected data",
                        path=path)
    return text


def read_lines(path: str | os.PathLike[str], encoding: str = "utf-8",
               allow_empty: bool = False) -> list[str]:
    """The lines of a text file without their line endings (``\\n`` or ``\\r\\n``); errors as
    :func:`read_text_file`."""
    return split_lines(read_text_file(path, encoding, allow_empty))


def split_lines(text: str) -> list[str]:
    """Lines of ``text`` split only at ``\n`` (not at other Unicode line breaks), a trailing
    ``\r`` dropped from each, no empty last line for a final newline."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [ln[:-1] if ln.endswith("\r") else ln for ln in lines]
