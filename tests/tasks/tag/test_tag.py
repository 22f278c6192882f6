"""The tagger head: padding-independent emissions, char features, overfitting with and without
a CRF, evaluation with chunk F1."""

import pytest
import torch

from rnnkit.tasks.common.encoder import EncoderConfig
from rnnkit.tasks.tag.model import Tagger, TaggerConfig, TagTask, make_batch, predict_tags


def _tagger(crf=False, chars=True, K=5, dropout=0.3):
    return Tagger(TaggerConfig(vocab_size=30, num_tags=K, char_vocab_size=12, embed=8,
                               encoder=EncoderConfig(hidden=10, bidirectional=True),
                               char_embed=6 if chars else 0, char_hidden=4, crf=crf,
                               embed_dropout=dropout, out_dropout=dropout))


def _sentences(n, K=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(n):
        L = int(torch.randint(2, 8, (), generator=g))
        words = torch.randint(1, 30, (L,), generator=g).tolist()
        chars = [torch.randint(1, 12, (int(torch.randint(1, 6, (), generator=g)),),
                               generator=g).tolist() for _ in words]
        tags = torch.randint(0, K, (L,), generator=g).tolist()
        out.append((words, chars, tags))
    return out


def test_emissions_do_not_depend_on_padding_or_batch_mates():
    torch.manual_seed(0)
    m = _tagger(crf=True).eval()
    sents = _sentences(4)
    b = TagTask.batch(sents)
    em = m(b)
    for i, s in enumerate(sents):
        alone = m(TagTask.batch([s]))
        torch.testing.assert_close(em[i, : len(s[0])], alone[0], atol=1e-6, rtol=1e-5)
    best = predict_tags(m, [s[0] for s in sents], [s[1] for s in sents])
    assert [len(t) for t in best] == [len(s[0]) for s in sents]


@pytest.mark.parametrize("crf,chars", [(False, True), (True, True), (True, False)])
def test_tagger_overfits_a_small_batch(crf, chars):
    torch.manual_seed(0)
    m = _tagger(crf=crf, chars=chars, dropout=0.0)
    sents = _sentences(12)
    b = TagTask.batch(sents)
    opt = torch.optim.Adam(m.parameters(), lr=0.03)
    for _ in range(100):
        loss = m.loss(b)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.1
    pred = m.decode(b)
    assert all(pred[i, : len(s[2])].tolist() == s[2] for i, s in enumerate(sents))


def test_tag_task_reports_accuracy_and_chunk_f1():
    torch.manual_seed(0)
    names = ["B-X", "I-X", "O"]
    sents = [([1, 2, 3], None, [0, 1, 2]), ([4, 5], None, [2, 0])]
    task = TagTask(sents, sents, names, batch_size=2)
    assert task.chunked
    m = _tagger(chars=False, K=3, dropout=0.0)
    opt = torch.optim.Adam(m.parameters(), lr=0.05)
    for _ in range(60):
        out = task.train_step(m)
        opt.zero_grad()
        out.loss.backward()
        opt.step()
    assert out.items == 5
    r = task.evaluate(m)
    assert r["acc"] == 1.0 and r["chunk_f1"] == 1.0 and r["loss"] < 0.2


def test_make_batch_reads_each_distinct_word_once():
    b = make_batch([[1, 2], [3, 1]], [[[1], [2, 3]], [[4, 5, 6], [1]]], [[0, 1], [1, 2]])
    assert b.chars.tolist() == [[1, 0, 0], [2, 3, 0], [4, 5, 6]]
    assert b.char_lengths.tolist() == [1, 2, 3] and b.word_index.tolist() == [0, 1, 2, 0]
    assert b.tags.tolist() == [[0, 1], [1, 2]]


def test_tag_encoders_lowercase_words_keep_case_in_chars_and_clip_long_words():
    from rnnkit.data import CharVocab
    from rnnkit.data.tokens import TokenVocab
    from rnnkit.tasks.tag.task import TagEncoders

    chars = CharVocab.build("abcdefghijXY")
    enc = TagEncoders(TokenVocab(["x", "ab"]), chars, lowercase=True, max_chars=4)
    ids, ch = enc.encode(["X", "abcdefghij", "Y"])
    assert ids == [1, 0, 0]
    assert [chars.decode(c) for c in ch] == ["X", "abij", "Y"]


@pytest.mark.parametrize("task", ["tag", "classify"])
def test_pretrained_vectors_set_the_embedding_size_and_rows(tmp_path, task):
    import json

    import rnnkit

    (tmp_path / "v.txt").write_text("the 1 2 3\ncat 4 5 6\nsat 7 8 9\n")
    if task == "tag":
        rows = "\n\n".join("the DET\ncat NOUN\nsat VERB" for _ in range(12))
        (tmp_path / "d.txt").write_text(rows + "\n")
        data = {"data": str(tmp_path / "d.txt"), "format": "columns", "lowercase": False}
    else:
        (tmp_path / "d.csv").write_text("text,label\n" + "the cat sat,a\nsat the,b\n" * 10)
        data = {"data": str(tmp_path / "d.csv")}
    data |= {"vectors": str(tmp_path / "v.txt")}
    run = rnnkit.fit(task, data=data, model={"encoder": {"hidden": 4}, "char_embed": 0},
                     train={"steps": 1, "lr": 1e-12, "warmup_steps": 0},
                     out=tmp_path / "runs", device="cpu")
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["model"]["embed"] == 3 and cfg["sizes"]["vectors_found"] == 3
    m = rnnkit.load(run, device="cpu")
    vocab = m.vocab if task == "classify" else m.encoders.words
    emb = m.model.words.embedding.weight
    assert emb[vocab.stoi["cat"]].tolist() == pytest.approx([4.0, 5.0, 6.0], abs=1e-6)
