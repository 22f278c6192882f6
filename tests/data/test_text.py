"""Tests for rnnkit.data.text: readers, splitting and the built-in corpus."""

import pytest

from rnnkit.data import text as text_mod
from rnnkit.data.errors import DataError
from rnnkit.data.text import default_corpus, read_text, split_text


def test_read_file(tmp_path):
    p = tmp_path / "a.txt"
    p.write_text("héllo\nwörld\n", encoding="utf-8")
    assert read_text(p) == "héllo\nwörld\n"
    assert read_text(str(p)) == "héllo\nwörld\n"


def test_read_file_other_encoding(tmp_path):
    p = tmp_path / "a.txt"
    p.write_bytes("café".encode("latin-1"))
    assert read_text(p, encoding="latin-1") == "café"


def test_crlf_normalised_and_bom_dropped(tmp_path):
    p = tmp_path / "a.txt"
    p.write_bytes(b"\xef\xbb\xbfone\r\ntwo\r\n")
    assert read_text(p) == "one\ntwo\n"


def test_read_folder_sorted_recursive_hidden_skipped(tmp_path):
    (tmp_path / "b.txt").write_text("B")
    (tmp_path / "a.txt").write_text("A")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "c.txt").write_text("C\r\n")
    (tmp_path / ".hidden.txt").write_text("H")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "config").write_text("G")
    assert read_text(tmp_path) == "A\n\nB\n\nC\n"


def test_missing_path(tmp_path):
    with pytest.raises(DataError, match="no such file or folder") as info:
        read_text(tmp_path / "nope.txt")
    assert "nope.txt" in str(info.value)


def test_folder_without_files(tmp_path):
    (tmp_path / ".only_hidden").write_text("x")
    with pytest.raises(DataError, match="no readable files"):
        read_text(tmp_path)


@pytest.mark.parametrize("content", ["", " \n\t\r\n  "])
def test_empty_or_whitespace_file(tmp_path, content):
    p = tmp_path / "empty.txt"
    p.write_text(content)
    with pytest.raises(DataError) as info:
        read_text(p)
    msg = str(info.value)
    assert str(p) in msg and ("empty" in msg or "whitespace" in msg)
    assert info.value.path == str(p)


def test_empty_file_inside_folder_is_named(tmp_path):
    (tmp_path / "good.txt").write_text("fine")
    (tmp_path / "zz_empty.txt").write_text("")
    with pytest.raises(DataError, match="zz_empty.txt"):
        read_text(tmp_path)


def test_undecodable_bytes_give_file_line_and_offset(tmp_path):
    p = tmp_path / "bad.txt"
    data = b"line one\nline two\nbad \xff here\n"
    p.write_bytes(data)
    with pytest.raises(DataError) as info:
        read_text(p)
    err = info.value
    assert err.line == 3
    assert err.path == str(p)
    msg = str(err)
    assert msg.startswith(f"{p}:3: ")
    offset = data.index(b"\xff")
    assert f"byte offset {offset}" in msg
    assert "0xff" in msg and "--encoding" in msg


def test_unknown_encoding(tmp_path):
    p = tmp_path / "a.txt"
    p.write_text("x")
    with pytest.raises(ValueError, match="unknown text encoding"):
        read_text(p, encoding="no-such-codec")


def test_data_error_message_parts():
    assert str(DataError("bad", path="f.txt", line=7)) == "f.txt:7: bad"
    assert str(DataError("bad", path="f.txt")) == "f.txt: bad"
    assert str(DataError("bad")) == "bad"
    assert isinstance(DataError("bad"), ValueError)


@pytest.mark.parametrize(
    ("fraction", "train", "val"),
    [(0.0, "abcdefghij", ""), (0.1, "abcdefghi", "j"), (0.5, "abcde", "fghij")],
)
def test_split_text(fraction, train, val):
    assert split_text("abcdefghij", fraction) == (train, val)


@pytest.mark.parametrize("fraction", [-0.1, 1.0, 1.5, float("nan")])
def test_split_text_rejects_bad_fraction(fraction):
    with pytest.raises(ValueError, match="val_fraction"):
        split_text("abc", fraction)


def test_default_corpus_deterministic_and_bounded(monkeypatch):
    monkeypatch.setattr(text_mod, "_CORPUS_CACHE", {})
    first = default_corpus(20_000)
    text_mod._CORPUS_CACHE.clear()  # recompute from the files, not from the cache
    assert default_corpus(20_000) == first
    assert 0 < len(first) <= 20_000
    assert len(first) > 15_000  # cut at a document boundary, not long before the limit
    assert default_corpus(20_000) is default_corpus(20_000)  # cached


def test_default_corpus_is_large_and_prefix_consistent():
    big = default_corpus(150_000)
    assert 100_000 < len(big) <= 150_000
    small = default_corpus(10_000)
    assert big.startswith(small)  # both cut whole documents from the same ordered stream
    assert "\n\n" in big and big == big.strip()


def test_default_corpus_rejects_bad_max_chars():
    with pytest.raises(ValueError, match="max_chars"):
        default_corpus(0)
