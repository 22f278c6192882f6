"""Known-bad files and random bytes: every reader fails with a clear, located error."""

import string
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rnnkit.data import DataError, Vocab, read_text
from rnnkit.train.checkpoint import CheckpointError, load_checkpoint

BAD = Path(__file__).parent / "bad_files"


@pytest.mark.parametrize("name,pattern", [
    ("empty.txt", r"empty\.txt.*empty"),
    ("whitespace_only.txt", r"whitespace_only\.txt: file is only whitespace"),
    ("latin1.txt", r"latin1\.txt:1: byte 0xe9 at byte offset 3 is not valid utf-8"),
    ("broken_utf8.txt", r"broken_utf8\.txt:2: byte 0xc3"),
])
def test_bad_text_files(name, pattern):
    with pytest.raises(DataError, match=pattern):
        read_text(BAD / name)


def test_latin1_reads_with_its_encoding():
    assert read_text(BAD / "latin1.txt", encoding="latin-1") == "café au lait\n"


@pytest.mark.parametrize("name,pattern", [
    ("vocab_truncated.json", r"vocab_truncated\.json:1"),
    ("vocab_unknown_kind.json", r"vocab_unknown_kind\.json.*klingon"),
])
def test_bad_vocab_files(name, pattern):
    with pytest.raises(DataError, match=pattern):
        Vocab.load(BAD / name)


def test_garbage_checkpoint():
    with pytest.raises(CheckpointError, match="checkpoint_garbage.safetensors"):
        load_checkpoint(BAD / "checkpoint_garbage.safetensors")


SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


@SETTINGS
@given(data=st.binary(max_size=300), encoding=st.sampled_from(["utf-8", "latin-1", "utf-16",
                                                                "ascii", "cp1252"]))
def test_read_text_random_bytes(tmp_path, data, encoding):
    p = tmp_path / "random.txt"
    p.write_bytes(data)
    try:
        text = read_text(p, encoding)
    except DataError as e:
        assert "random.txt" in str(e)
    else:
        assert isinstance(text, str) and text.strip() and "\r\n" not in text


@SETTINGS
@given(st.one_of(st.binary(max_size=200), st.text(alphabet=string.printable, max_size=200)))
def test_vocab_load_random_content(tmp_path, content):
    p = tmp_path / "vocab.json"
    p.write_bytes(content if isinstance(content, bytes) else content.encode())
    try:
        v = Vocab.load(p)
    except DataError as e:
        assert "vocab.json" in str(e)
    else:
        assert len(v) >= 1


@SETTINGS
@given(st.binary(max_size=400))
def test_checkpoint_random_bytes(tmp_path, data):
    p = tmp_path / "ck.safetensors"
    p.write_bytes(data)
    with pytest.raises(CheckpointError, match="ck.safetensors"):
        load_checkpoint(p)
