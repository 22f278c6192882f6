"""Parallel-text readers and the seq2seq vocabulary."""

import gzip

import pytest

from rnnkit.data import DataError
from rnnkit.data.parallel import Seq2SeqVocab, read_parallel, read_parallel_table
from rnnkit.data.vocab import Vocab


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_two_aligned_files_and_gzip(tmp_path):
    src = write(tmp_path / "a.de", "Ein Hund läuft.\n\nZwei Katzen\n")
    tgt = tmp_path / "a.en.gz"
    tgt.write_bytes(gzip.compress(b"A dog runs.\n\nTwo cats\n"))
    pairs = read_parallel(src, tgt)
    assert [(p.src, p.tgt, p.line) for p in pairs] == [
        ("Ein Hund läuft.", "A dog runs.", 1), ("Zwei Katzen", "Two cats", 3)]


def test_mismatched_line_counts_name_both_files(tmp_path):
    src = write(tmp_path / "train.de", "a\nb\nc\n")
    tgt = write(tmp_path / "train.en", "x\ny\n")
    with pytest.raises(DataError, match=r"3 lines in .*train\.de but 2 lines in .*train\.en"):
        read_parallel(src, tgt)


def test_one_sided_empty_line_is_an_error_with_its_line(tmp_path):
    src = write(tmp_path / "s", "a\n\nc\n")
    tgt = write(tmp_path / "t", "x\ny\nz\n")
    with pytest.raises(DataError, match=r"s:2: the source side of pair 2 is empty"):
        read_parallel(src, tgt)
    assert len(read_parallel(src, tgt, allow_empty=True)) == 3


def test_bad_encoding_names_file_and_line(tmp_path):
    src = write(tmp_path / "s", "a\nb\n")
    tgt = tmp_path / "t"
    tgt.write_bytes(b"x\n\xe9t\xe9\n")
    with pytest.raises(DataError, match=r"t:2: byte 0xe9"):
        read_parallel(src, tgt)
    assert read_parallel(src, tgt, encoding="latin-1")[1].tgt == "été"


def test_tsv_by_index_and_csv_by_name(tmp_path):
    tsv = write(tmp_path / "p.tsv", "hallo\thello\nwelt\tworld\n")
    assert [(p.src, p.tgt) for p in read_parallel_table(tsv)] == [("hallo", "hello"),
                                                                  ("welt", "world")]
    csv = write(tmp_path / "p.csv", 'id,en,de\n1,"a, b",x\n2,c,y\n')
    pairs = read_parallel_table(csv, "de", "en")
    assert [(p.src, p.tgt, p.line) for p in pairs] == [("x", "a, b", 2), ("y", "c", 3)]


def test_table_errors(tmp_path):
    short = write(tmp_path / "p.tsv", "a\tb\nonly-one\n")
    with pytest.raises(DataError, match=r"p.tsv:2: expected at least 2 columns"):
        read_parallel_table(short)
    csv = write(tmp_path / "q.csv", "en,de\nx,y\n")
    with pytest.raises(DataError, match=r"q.csv:1: no column named 'fr'"):
        read_parallel_table(csv, "fr", "en")
    with pytest.raises(DataError, match=r"e.tsv:1: the target side of pair 1 is empty"):
        read_parallel_table(write(tmp_path / "e.tsv", "x\t\n\t\n"))
    with pytest.raises(DataError, match=r"f.tsv: no sentence pairs"):
        read_parallel_table(write(tmp_path / "f.tsv", "src\ttgt\n"), "src", "tgt")


def test_seq2seq_vocab_specials_and_round_trip(tmp_path):
    v = Seq2SeqVocab.build_from(["A dog runs .", "a cat runs"], min_freq=2)
    assert v.itos == ["<unk>", "<bos>", "<eos>", "a", "runs"]
    assert v.encode("A Dog runs") == [3, 0, 4]
    assert v.encode("<bos> <eos>") == [0] * 6  # text cannot produce the specials
    assert v.decode_tokens([1, 3, 4, 2, 3]) == ["a", "runs"]
    v.save(tmp_path / "v.json")
    w = Vocab.load(tmp_path / "v.json")
    assert isinstance(w, Seq2SeqVocab) and w.itos == v.itos and w.lowercase
    cased = Seq2SeqVocab.build_from(["A a"], lowercase=False)
    assert cased.encode("A a") == [cased.stoi["A"], cased.stoi["a"]]


def test_special_names_in_text_read_as_unknown(tmp_path):
    v = Seq2SeqVocab.build_from(["a <eos> b <bos> <unk> <unk> a"], tokenizer="whitespace",
                                max_size=5)
    assert v.itos == ["<unk>", "<bos>", "<eos>", "a", "b"]
    assert v.encode("a <eos> b <bos>") == [3, 0, 4, 0]
    v.save(tmp_path / "v.json")
    assert Vocab.load(tmp_path / "v.json").itos == v.itos
