"""Tests for rnnkit.data.vocab: char, word and BPE vocabularies and their JSON form."""

import json

import pytest
import torch

from rnnkit.data import BPEVocab, CharVocab, DataError, Vocab, WordVocab, build_vocab

PROSE = (
    "First Citizen:\n"
    "Before we proceed any further, hear me speak.\n"
    "\n"
    'All:\nSpeak, speak. "We know\'t, we know\'t" (said they) -- 3.14 well-known!\n'
    "    indented  twice\tand tab\n"
)
UNICODE = "naïve café — 日本語 😀\n\ttabs  and  spaces\r\n"


def test_char_ids_and_round_trip():
    v = CharVocab.build("hello")
    assert v.itos == ["<unk>", "e", "h", "l", "o"]  # unk, then code-point order
    assert v.encode("hole") == [2, 4, 3, 1]
    assert v.decode([2, 1, 3, 3, 4]) == "hello"
    assert v.decode(torch.tensor([2, 1])) == "he"
    assert len(v) == 5
    assert v.kind == "char" and v.unk_id == 0


def test_char_ids_are_stable():
    text = "the quick brown fox\n"
    assert CharVocab.build(text).itos == CharVocab.build(text[::-1]).itos
    assert CharVocab.build(text).encode(text) == CharVocab.build(text).encode(text)


def test_char_unknown_counted_never_raises():
    v = CharVocab.build("ab")
    assert v.encode("abzq") == [1, 2, 0, 0]
    assert v.unk_count == 2
    assert v.decode(v.encode("azb")) == "a\ufffdb"
    assert v.token(0) == "<unk>"


def test_char_min_freq_and_display():
    v = CharVocab.build("aab \n", min_freq=2)
    assert v.itos == ["<unk>", "a"]
    v = CharVocab.build("a \n")
    assert [v.token(i) for i in range(len(v))] == ["<unk>", "\\n", "\u2423", "a"]


def test_decode_rejects_out_of_range():
    with pytest.raises(ValueError, match="out of range"):
        CharVocab.build("ab").decode([3])


def test_word_tokens():
    toks = WordVocab.tokenize("Hello, world.\nIt's well-known (sort of).")
    assert toks == [
        "Hello", ",", "world", ".", "\n",
        "It's", "well-known", "(", "sort", "of", ")", ".",
    ]
    # Spacing the prose rules do not predict is explicit: indentation, double space, glue.
    assert WordVocab.tokenize("  a  b 3.14") == ["  ", "a", "  ", "b", "3", ".", "<glue>", "14"]


def test_word_round_trip_and_order():
    v = WordVocab.build(PROSE)
    assert v.decode(v.encode(PROSE)) == PROSE
    assert v.itos[:2] == ["<unk>", "<glue>"]
    counts = [WordVocab.tokenize(PROSE).count(t) for t in v.itos[2:]]
    assert counts == sorted(counts, reverse=True)  # frequency descending
    assert v.itos[2] == "\n"  # the most frequent token of PROSE


def test_word_unknown_and_limits():
    v = WordVocab.build("a a a b b c", max_size=4)
    assert v.itos == ["<unk>", "<glue>", "a", "b"]
    assert v.encode("a c b") == [2, 0, 3]
    assert v.unk_count == 1
    assert v.decode([2, 0, 3]) == "a <unk> b"
    assert WordVocab.build("a a b", min_freq=2).itos == ["<unk>", "<glue>", "a"]


def test_bpe_round_trip_exact_on_unicode():
    text = (PROSE + UNICODE) * 3
    v = BPEVocab.build(text, vocab_size=300)
    assert 256 <= len(v) <= 300
    assert v.unk_id is None
    ids = v.encode(text)
    assert len(ids) < len(text.encode("utf-8"))  # merges were learned
    assert v.decode(ids) == text
    assert v.decode(v.encode("unseen: Ωμέγα 🚀")) == "unseen: Ωμέγα 🚀"
    assert all(isinstance(v.token(i), str) for i in range(len(v)))


def test_build_vocab_dispatch():
    assert isinstance(build_vocab("char", "abc"), CharVocab)
    assert isinstance(build_vocab("word", "a b", min_freq=1), WordVocab)
    assert isinstance(build_vocab("bpe", "abc abc", vocab_size=260), BPEVocab)
    with pytest.raises(ValueError, match="'bpe', 'char', 'word'"):
        build_vocab("sentencepiece", "abc")


@pytest.mark.parametrize(
    ("kind", "kw"), [("char", {}), ("word", {}), ("bpe", {"vocab_size": 300})]
)
def test_save_load_round_trip(tmp_path, kind, kw):
    text = PROSE + UNICODE
    v = build_vocab(kind, text, **kw)
    path = tmp_path / f"{kind}.json"
    v.save(path)
    assert json.loads(path.read_text(encoding="utf-8"))["kind"] == kind
    w = Vocab.load(path)
    assert type(w) is type(v) and len(w) == len(v)
    assert w.encode(text) == v.encode(text)
    assert w.decode(w.encode(text)) == v.decode(v.encode(text))
    assert w.to_dict() == v.to_dict()
    assert type(v).load(path).kind == kind
    assert [p.name for p in tmp_path.iterdir()] == [f"{kind}.json"]  # no temporary left behind


def test_load_malformed_json_names_file_and_line(tmp_path):
    path = tmp_path / "vocab.json"
    path.write_text('{"kind": "char",\n "tokens": [\n')
    with pytest.raises(DataError) as info:
        Vocab.load(path)
    assert str(path) in str(info.value) and "not valid JSON" in str(info.value)
    assert info.value.line is not None


@pytest.mark.parametrize(
    ("payload", "match"),
    [
        ({"kind": "sentencepiece"}, "unknown vocabulary kind 'sentencepiece'"),
        ({"tokens": ["<unk>"]}, "unknown vocabulary kind None"),
        ([1, 2], "expected a JSON object"),
        ({"kind": "char", "tokens": ["a", "b"]}, "must start with"),
        ({"kind": "char", "tokens": ["<unk>", "ab"]}, "single characters"),
        ({"kind": "word", "tokens": ["<unk>", "<glue>", "a", "a"]}, "more than once"),
        ({"kind": "bpe", "tokenizer": "{not json"}, "not a valid tokenizers JSON"),
    ],
)
def test_load_rejects_bad_content(tmp_path, payload, match):
    path = tmp_path / "vocab.json"
    path.write_text(json.dumps(payload))
    with pytest.raises(DataError, match=match) as info:
        Vocab.load(path)
    assert info.value.path == str(path)


def test_load_missing_file(tmp_path):
    with pytest.raises(DataError, match="no such vocabulary file"):
        Vocab.load(tmp_path / "absent.json")


def test_load_wrong_subclass(tmp_path):
    path = tmp_path / "v.json"
    CharVocab.build("abc").save(path)
    with pytest.raises(DataError, match="expected a 'word' vocabulary"):
        WordVocab.load(path)
