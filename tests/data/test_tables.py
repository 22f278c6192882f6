"""CSV / TSV / JSONL / label-folder readers: columns by name or index, located errors."""

import gzip
from pathlib import Path

import pytest

from rnnkit.data import DataError
from rnnkit.data.tables import detect_format, read_examples, read_table

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"


def _write(p: Path, text: str, encoding="utf-8") -> Path:
    p.write_bytes(text.encode(encoding))
    return p


def test_csv_by_name_keeps_file_and_line(tmp_path):
    p = _write(tmp_path / "a.csv", 'id,text,label\n1,"good, very",pos\n\n2,bad,neg\n')
    ex = read_table(p)
    assert [(e.text, e.label, e.line) for e in ex] == [("good, very", "pos", 2), ("bad", "neg", 4)]
    assert ex[0].path == str(p)


def test_headerless_by_index_and_negative_index(tmp_path):
    p = _write(tmp_path / "a.tsv", "pos\tfine film\nneg\tdull\n")
    ex = read_examples(p, text_col="1", label_col="0")
    assert [(e.text, e.label) for e in ex] == [("fine film", "pos"), ("dull", "neg")]
    ex = read_examples(p, text_col=-1, label_col=0)
    assert ex[1].text == "dull"


def test_quoted_multiline_field_line_numbers(tmp_path):
    p = _write(tmp_path / "a.csv", 'text,label\n"two\nlines",x\nok,\n')
    with pytest.raises(DataError, match=r"a\.csv:4: empty label"):
        read_table(p)
    assert read_table(_write(tmp_path / "b.csv", 'text,label\n"two\nlines",x\n'))[0].line == 2


@pytest.mark.parametrize("content,pattern", [
    ("text,label\nhello\n", r"a\.csv:2: missing label column 'label' \(index 1\): the row has "
                            r"1 field"),
    ("text,label\nhello,\n", r"a\.csv:2: empty label"),
    ("text,label\n ,pos\n", r"a\.csv:2: empty text"),
    ("txt,label\nhello,pos\n", r"a\.csv:1: no text column named 'text'; the header has "
                               r"\['txt', 'label'\]"),
    ("text,label\n", r"a\.csv: no examples"),
    ("", r"a\.csv: file is empty"),
])
def test_malformed_csv(tmp_path, content, pattern):
    with pytest.raises(DataError, match=pattern):
        read_table(_write(tmp_path / "a.csv", content))


def test_name_without_header_is_an_error(tmp_path):
    p = _write(tmp_path / "a.csv", "hello,pos\n")
    with pytest.raises(DataError, match=r"a\.csv:1: text column 'text' is a name.*index"):
        read_table(p, header=False)


def test_jsonl_objects_arrays_and_integer_labels(tmp_path):
    p = _write(tmp_path / "a.jsonl", '{"t": "nice", "y": 1}\n\n["meh", 0]\n')
    with pytest.raises(DataError, match=r"a\.jsonl:3: expected|a\.jsonl:3: missing"):
        read_table(p, "t", "y")
    p = _write(tmp_path / "b.jsonl", '{"t": "nice", "y": 1}\n{"t": "bad", "y": "0"}\n')
    assert [(e.text, e.label) for e in read_table(p, "t", "y")] == [("nice", "1"), ("bad", "0")]
    p = _write(tmp_path / "c.jsonl", '["nice", 1]\n["bad", 0]\n')
    assert [e.label for e in read_table(p, 0, 1)] == ["1", "0"]


@pytest.mark.parametrize("content,pattern", [
    ('{"t": "x", "y": 1}\n{"t": "x"\n', r"b\.jsonl:2: not valid JSON"),
    ('{"t": "x", "y": 1}\n{"t": "x"}\n', r"b\.jsonl:2: missing label key 'y'"),
    ('{"t": "x", "y": ""}\n', r"b\.jsonl:1: empty label"),
    ('{"t": 3, "y": "a"}\n', r"b\.jsonl:1: text must be a string"),
])
def test_malformed_jsonl(tmp_path, content, pattern):
    with pytest.raises(DataError, match=pattern):
        read_table(_write(tmp_path / "b.jsonl", content), "t", "y")


def test_gzip_and_format_detection(tmp_path):
    p = tmp_path / "a.tsv.gz"
    p.write_bytes(gzip.compress(b"text\tlabel\nhi\tx\n"))
    assert detect_format(p) == "tsv" and read_examples(p)[0].label == "x"
    assert detect_format(tmp_path) == "folder"
    assert detect_format(tmp_path / "notes.txt") == "lines"


def test_label_folder_suffix_labels_latin1(tmp_path):
    d = tmp_path / "rt"
    d.mkdir()
    _write(d / "rt-polarity.pos", "un film ravissant\n\ngood\n", "latin-1")
    _write(d / "rt-polarity.neg", "caf\xe9 bad\n", "latin-1")
    _write(d / ".hidden", "ignored\n")
    with pytest.raises(DataError, match=r"rt-polarity\.neg:1: byte 0xe9 at byte offset 3 is "
                                        r"not valid utf-8.*--encoding latin-1"):
        read_examples(d)
    ex = read_examples(d, encoding="latin-1")
    assert [(e.label, e.text, e.line) for e in ex] == [
        ("neg", "caf\xe9 bad", 1), ("pos", "un film ravissant", 1), ("pos", "good", 3)]


def test_label_folder_stem_labels(tmp_path):
    d = tmp_path / "f"
    d.mkdir()
    _write(d / "spam.txt", "buy now\n")
    _write(d / "ham.txt", "see you\n")
    assert sorted({e.label for e in read_examples(d)}) == ["ham", "spam"]
    (d / "spam.csv").write_text("x\n")
    with pytest.raises(DataError, match="both give label 'spam'"):
        read_examples(d)


@pytest.mark.skipif(not (SHARED / "rt-polarity").is_dir(), reason="../shared/data absent")
def test_rt_polarity_reads_with_latin1():
    ex = read_examples(SHARED / "rt-polarity", encoding="latin-1")
    assert len(ex) == 10662
    assert sum(e.label == "pos" for e in ex) == 5331
