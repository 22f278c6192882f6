"""Tokenisers, the token vocabulary, label vocabularies, pretrained vectors."""

import pytest
import torch

from rnnkit.data import BPEVocab, DataError, Vocab
from rnnkit.data.tokens import LabelVocab, TokenVocab, build_text_vocab, tokenize
from rnnkit.data.vectors import load_vectors, vector_dim


def test_tokenizers():
    t = "Don't stop-me now, well-known 3.14!"
    assert tokenize(t, "whitespace") == ["Don't", "stop-me", "now,", "well-known", "3.14!"]
    assert tokenize(t, "regex") == ["Don't", "stop-me", "now", ",", "well-known", "3", ".",
                                    "14", "!"]
    assert tokenize("a b\tc", "char") == ["a", "b", "c"]
    with pytest.raises(ValueError, match="unknown tokenizer"):
        tokenize("x", "spacy")


def test_token_vocab_min_freq_unk_and_round_trip(tmp_path):
    v = build_text_vocab(["a b a", "b a c", "d"], "whitespace", min_freq=2)
    assert v.itos == ["<unk>", "a", "b"]
    assert v.encode("a c b z") == [1, 0, 2, 0] and v.unk_count == 2
    v.save(tmp_path / "v.json")
    w = Vocab.load(tmp_path / "v.json")
    assert isinstance(w, TokenVocab) and w.tokenizer == "whitespace" and w.itos == v.itos
    assert build_text_vocab(["a b c d"], "regex", max_size=3).itos == ["<unk>", "a", "b"]
    with pytest.raises(ValueError, match="no token occurs 5 times"):
        build_text_vocab(["a"], min_freq=5)


def test_bpe_text_vocab():
    v = build_text_vocab(["lower lowest newer"] * 20, "bpe", bpe_size=270)
    assert isinstance(v, BPEVocab) and v.decode(v.encode("slower")) == "slower"


def test_label_vocab_unknown_label_names_file_and_line(tmp_path):
    labels = LabelVocab.build(["pos", "neg", "pos"])
    assert labels.itos == ["neg", "pos"] and labels.index("pos") == 1
    with pytest.raises(DataError, match=r"dev\.csv:7: label 'meh' was not seen in training "
                                        r"\(known: neg, pos\)"):
        labels.index("meh", "dev.csv", 7)
    labels.save(tmp_path / "l.json")
    assert LabelVocab.load(tmp_path / "l.json").itos == ["neg", "pos"]


GLOVE = "the 1 2 3\nCat 4 5 6\ncat 7 8 9\nnew york 1 1 1\n"


def test_vectors_glove_word2vec_and_fallback(tmp_path):
    p = tmp_path / "g.txt"
    p.write_text(GLOVE)
    stoi = {"the": 1, "cat": 2, "Dog": 3, "New": 4, "new york": 5, "CAT": 6}
    w = torch.zeros(7, 3)
    assert vector_dim(p) == 3
    assert load_vectors(p, stoi, w) == 4
    assert w[1].tolist() == [1, 2, 3] and w[2].tolist() == [7, 8, 9]
    assert w[5].tolist() == [1, 1, 1] and w[6].tolist() == [7, 8, 9]  # CAT <- cat
    assert w[3].abs().sum() == 0 and w[4].abs().sum() == 0
    q = tmp_path / "w2v.txt"
    q.write_text("2 3\nthe 1 2 3\ncat 7 8 9\n")
    w = torch.zeros(7, 3)
    assert load_vectors(q, stoi, w) == 3 and w[2].tolist() == [7, 8, 9]  # the, cat, CAT


@pytest.mark.parametrize("content,pattern", [
    ("the 1 2 3\ncat 4 5\n", r"g\.txt:2: expected a word and 3 numbers, found 3 fields"),
    ("the 1 2 3\ncat 4 x 6\n", r"g\.txt:2: 'x' is not a number"),
    ("the 1 2\n", r"g\.txt:1: vectors have 2 dimensions but the embedding has 3"),
])
def test_vectors_malformed(tmp_path, content, pattern):
    p = tmp_path / "g.txt"
    p.write_text(content)
    with pytest.raises(DataError, match=pattern):
        load_vectors(p, {"the": 0, "cat": 1}, torch.zeros(2, 3))
