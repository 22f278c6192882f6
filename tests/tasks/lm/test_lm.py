import math

import pytest
import torch

from rnnkit.data import CharVocab
from rnnkit.tasks.common.encoder import EncoderConfig
from rnnkit.tasks.hello import hello
from rnnkit.tasks.lm import LanguageModel, LMConfig, LMTask, evaluate_lm, sample_text
from rnnkit.train.loop import TrainConfig, Trainer

TEXT = "the quick brown fox jumps over the lazy dog. " * 8


def small_model(V, cell="lstm", embed=16, hidden=32, layers=1, **kw):
    return LanguageModel(LMConfig(vocab_size=V, embed=embed, out_dropout=0.0,
                                  encoder=EncoderConfig(cell=cell, hidden=hidden, layers=layers),
                                  **kw))


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_tiny_corpus_is_memorised(cell):
    vocab = CharVocab.build(TEXT)
    ids = torch.tensor(vocab.encode(TEXT))
    model = small_model(len(vocab), cell, hidden=64)
    task = LMTask(ids, ids, batch_size=4, chunk_len=16, eval_batch_size=4)
    before = evaluate_lm(model, ids, batch_size=1)["loss"]
    Trainer(model, task, TrainConfig(steps=150, lr=1e-2, warmup_steps=5, log_every=50,
                                     eval_every=1000)).fit()
    after = evaluate_lm(model, ids, batch_size=1)
    assert before > 2.5
    assert after["loss"] < 0.25, after
    assert after["bpc"] == pytest.approx(after["loss"] / math.log(2), rel=1e-6)  # chars = tokens
    # The memorised model continues the text when primed with its start.
    out = sample_text(model, vocab, "the quick brown", 20, greedy=True)
    assert out == " fox jumps over the "


def test_one_hot_inputs_and_weight_tying():
    m = small_model(10, embed=0)
    assert m.embedding is None and m.encoder.input_size == 10
    logits, _ = m(torch.randint(0, 10, (2, 5)))
    assert logits.shape == (2, 5, 10)
    t = small_model(10, embed=32, hidden=32, tie_weights=True)
    assert t.decoder.weight is t.embedding.weight
    with pytest.raises(ValueError, match="embed == hidden"):
        small_model(10, embed=16, hidden=32, tie_weights=True)
    with pytest.raises(ValueError, match="bidirectional"):
        LanguageModel(LMConfig(vocab_size=5, encoder=EncoderConfig(bidirectional=True)))


def test_step_equals_forward_and_state_is_carried():
    m = small_model(12, layers=2).eval()
    x = torch.randint(0, 12, (3, 9))
    full, _ = m(x)
    state, outs = None, []
    for t in range(9):
        logits, state = m.step(x[:, t], state)
        outs.append(logits)
    torch.testing.assert_close(torch.stack(outs, 1), full, rtol=1e-5, atol=1e-5)


def test_sampling_is_reproducible_under_a_seed():
    vocab = CharVocab.build(TEXT)
    m = small_model(len(vocab))
    a = sample_text(m, vocab, "the", 40, temperature=1.0, seed=7)
    b = sample_text(m, vocab, "the", 40, temperature=1.0, seed=7)
    c = sample_text(m, vocab, "the", 40, temperature=1.0, seed=8)
    assert a == b and a != c and len(a) == 40
    streamed = []
    d = sample_text(m, vocab, "the", 40, seed=7, on_text=streamed.append)
    assert "".join(streamed) == d == a


@pytest.mark.parametrize("kind", ["word", "bpe"])
def test_streamed_pieces_join_to_the_sample_for_words_and_bpe(kind):
    from rnnkit.data import build_vocab

    vocab = build_vocab(kind, TEXT * 4, **({"vocab_size": 300} if kind == "bpe" else {}))
    m = small_model(len(vocab))
    streamed = []
    text = sample_text(m, vocab, "the", 30, seed=3, on_text=streamed.append)
    assert "".join(streamed) == text and len(streamed) > 1
    if kind == "word":
        assert " " in text  # the words keep the spaces between them


def test_evaluation_scores_every_target_exactly_once():
    """Batch size must not change the loss (full context, every target once)."""
    vocab = CharVocab.build(TEXT)
    ids = torch.tensor(vocab.encode(TEXT))[:157]
    m = small_model(len(vocab)).eval()
    ref = evaluate_lm(m, ids, batch_size=1, chunk_len=1000)
    for B, chunk in [(1, 7), (5, 13), (16, 4)]:
        got = evaluate_lm(m, ids, batch_size=B, chunk_len=chunk)
        assert got["tokens"] == 156
        if B == 1:
            assert got["loss"] == pytest.approx(ref["loss"], rel=1e-5)
    # With B streams the first token of each stream has no left context: close, not equal.
    assert abs(evaluate_lm(m, ids, batch_size=5)["loss"] - ref["loss"]) < 0.2


def test_hello_learns_the_word():
    r = hello()
    assert r.generated == "hello"
    assert r.losses[-1] < 0.05 < r.losses[0]
    for _inp, target, probs in r.table:
        assert max(probs, key=probs.get) == target


def test_validation_is_spread_over_an_ordered_file(tmp_path):
    """A file ordered by part (plays, chapters): the default split holds out a piece of every
    part, so training sees the last part too; ``val_split="tail"`` holds out the end."""
    from rnnkit.tasks.lm import LMDataConfig, load_texts

    parts = [f"{name}:\n" + f"{name.lower()} speaks.\n" * 8000 for name in
             ("ANNE", "BORIS", "CLARA", "DMITRI", "ERIKA")]
    text, path = "".join(parts), tmp_path / "plays.txt"
    path.write_text(text, encoding="utf-8")
    train, val, _ = load_texts(LMDataConfig(data=str(path)))
    assert len(val) == pytest.approx(LMDataConfig().val_fraction * len(text), abs=10)
    for name in ("anne", "boris", "clara", "dmitri", "erika"):  # every part in both
        assert name in train and name in val
    train, val, _ = load_texts(LMDataConfig(data=str(path), val_split="tail"))
    assert "erika" in val and "anne" not in val
    assert train + val == text


def test_a_run_saved_before_val_split_keeps_its_tail_split():
    from rnnkit.tasks import lm

    settings = lm.TASK.upgrade({"data": {"val_fraction": 0.2}, "model": {}})
    assert settings["data"] == {"val_fraction": 0.2, "val_split": "tail"}
    assert lm.TASK.upgrade({"data": {"val_split": "spread"}})["data"]["val_split"] == "spread"
