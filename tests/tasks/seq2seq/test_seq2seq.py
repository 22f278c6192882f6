"""The attentional encoder-decoder: attention, decoding through rnnkit.decode, learning."""

import random

import pytest
import torch

from rnnkit.data.parallel import Seq2SeqVocab
from rnnkit.decode import beam_search, generate
from rnnkit.tasks.common.encoder import EncoderConfig
from rnnkit.tasks.seq2seq.data import Seq2SeqTask
from rnnkit.tasks.seq2seq.model import (
    Attention,
    Seq2Seq,
    Seq2SeqConfig,
    sequence_loss,
    translate_batch,
)
from tests.helpers import train_task


def small(attention="additive", feed=False, cell="gru", layers=1, bidir=True, **kw):
    enc = EncoderConfig(cell=cell if cell != "rnn" else "rnn", hidden=8, bidirectional=bidir)
    return Seq2SeqConfig(src_vocab=11, tgt_vocab=9, embed=6, encoder=enc,
                         decoder_hidden=16 if attention == "dot" and bidir else 8,
                         decoder_cell=cell, decoder_layers=layers, attention=attention,
                         attention_size=5, input_feeding=feed, dropout=0.0, **kw)


def batch():
    src = torch.tensor([[3, 4, 5, 6, 7], [8, 9, 3, 0, 0], [5, 0, 0, 0, 0]])
    lengths = torch.tensor([5, 3, 1])
    return src, lengths


@pytest.mark.parametrize("kind", ["additive", "dot", "general"])
def test_attention_sums_to_one_and_ignores_padding(kind):
    torch.manual_seed(0)
    att = Attention(kind, 4, 4 if kind == "dot" else 6, 5)
    M = 4 if kind == "dot" else 6
    memory = torch.randn(3, 5, M)
    mask = torch.arange(5).unsqueeze(0) < torch.tensor([5, 2, 1]).unsqueeze(1)
    q = torch.randn(3, 4)
    context, w = att(q, att.keys(memory), memory, mask)
    torch.testing.assert_close(w.sum(1), torch.ones(3))
    assert (w[~mask] == 0).all() and (w[mask] > 0).all()
    torch.testing.assert_close(w[2], torch.tensor([1.0, 0, 0, 0, 0]))
    torch.testing.assert_close(context[2], memory[2, 0])
    # changing a padded memory step changes nothing
    memory2 = memory.clone()
    memory2[1, 3:] = 100.0
    c2, w2 = att(q, att.keys(memory2), memory2, mask)
    torch.testing.assert_close(c2, context)


@pytest.mark.parametrize("attention,feed,cell,layers,bidir", [
    ("additive", False, "gru", 1, True), ("dot", True, "lstm", 2, True),
    ("general", True, "gru", 1, False), ("none", False, "rnn", 2, False),
    ("additive", True, "lstm", 1, True)])
def test_forward_attention_respects_lengths(attention, feed, cell, layers, bidir):
    torch.manual_seed(0)
    model = Seq2Seq(small(attention, feed, cell, layers, bidir)).eval()
    src, lengths = batch()
    y_in = torch.tensor([[1, 3, 4], [1, 5, 6], [1, 7, 8]])
    logits, attn = model(src, lengths, y_in, return_attention=True)
    assert logits.shape == (3, 3, 9)
    if attention == "none":
        assert attn is None
    else:
        assert attn.shape == (3, 3, 5)
        torch.testing.assert_close(attn.sum(-1), torch.ones(3, 3))
        assert (attn[1, :, 3:] == 0).all() and (attn[2, :, 1:] == 0).all()
    # Padding content does not matter: other ids in padded source positions, same output.
    src2 = src.clone()
    src2[1, 3:] = 10
    src2[2, 1:] = 4
    torch.testing.assert_close(model(src2, lengths, y_in), logits)
    # Each row is independent of the batch it is in.
    alone = model(src[1:2, :3], lengths[1:2], y_in[1:2])
    torch.testing.assert_close(alone, logits[1:2], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("attention,feed,cell", [("additive", False, "gru"),
                                                 ("general", True, "lstm")])
def test_gradcheck_float64(attention, feed, cell):
    """Autograd through encoder, bridge, attention and decoder equals finite differences."""
    from torch.func import functional_call

    torch.manual_seed(0)
    model = Seq2Seq(small(attention, feed, cell)).double()
    src, lengths = batch()
    y_in = torch.tensor([[1, 3], [1, 5], [1, 7]])
    params = dict(model.named_parameters())
    names = ["bridge.bias", "cells.0.bias_hh", "output.bias", "encoder.cells.0.bias_ih"]
    names = [n for n in names if n in params]
    names += [n for n in params if n.startswith("attention.")][:1]
    inputs = tuple(params[n].detach().clone().requires_grad_() for n in names)

    def f(*ws):
        return functional_call(model, dict(zip(names, ws)), (src, lengths, y_in)).sum()

    assert torch.autograd.gradcheck(f, inputs, eps=1e-6, atol=1e-6)


def test_teacher_forcing_ratio_is_seeded():
    torch.manual_seed(0)
    model = Seq2Seq(small()).eval()
    src, lengths = batch()
    y_in = torch.tensor([[1, 3, 4, 5], [1, 5, 6, 7], [1, 7, 8, 3]])
    a = model(src, lengths, y_in, 0.5, torch.Generator().manual_seed(3))
    b = model(src, lengths, y_in, 0.5, torch.Generator().manual_seed(3))
    torch.testing.assert_close(a, b)
    full = model(src, lengths, y_in, 1.0)
    never = model(src, lengths, y_in, 0.0)
    torch.testing.assert_close(full[:, 0], never[:, 0])  # step 0 always reads <bos>
    own = full[:, 0].argmax(1)
    if not torch.equal(own, y_in[:, 1]):
        assert not torch.allclose(full[:, 1], never[:, 1])


def test_greedy_decode_matches_forward_and_beam1_equals_greedy():
    torch.manual_seed(1)
    model = Seq2Seq(small("general", True, "gru")).eval()
    src, lengths = batch()
    step, state = model.start(src, lengths)
    first = torch.full((3,), 1, dtype=torch.long)
    tokens, _ = generate(step, state, first, 6, greedy=True)
    # teacher-forcing the greedy output reproduces it step by step
    y_in = torch.cat([first.unsqueeze(1), tokens[:, :-1]], 1)
    assert torch.equal(model(src, lengths, y_in).argmax(-1), tokens)
    step, state = model.start(src, lengths)
    beams = beam_search(step, state, first, 6, beam_size=1)
    assert [b[0][0] for b in beams] == tokens.tolist()


def test_beam_returns_sorted_n_best_scored_by_their_log_probability():
    torch.manual_seed(2)
    model = Seq2Seq(small("additive", False, "lstm")).eval()
    src, lengths = batch()
    rows = translate_batch(model, src, lengths, beam=4, n_best=3, length_penalty=0.0,
                           max_len=8)

    def logprob(i, ids):  # the hypothesis re-scored by teacher forcing, <eos> included
        full = ids + [model.cfg.eos_id] if len(ids) < 8 else ids
        y_in = torch.tensor([[1, *full[:-1]]])
        lp = model(src[i:i + 1, :lengths[i]], lengths[i:i + 1], y_in).log_softmax(-1)
        return lp[0, torch.arange(len(full)), torch.tensor(full)].sum().item()

    for i, row in enumerate(rows):
        assert len(row) == 3
        scores = [s for _, s in row]
        assert scores == sorted(scores, reverse=True)
        assert len({tuple(ids) for ids, _ in row}) == 3
        for ids, score in row:  # beam reorders the decoder state correctly
            assert logprob(i, ids) == pytest.approx(score, abs=1e-4)


def _reverse_data(n, seed):
    r = random.Random(seed)
    src, tgt = [], []
    for _ in range(n):
        s = [r.randint(3, 8) for _ in range(r.randint(2, 5))]
        src.append(s)
        tgt.append([x - 3 + 3 for x in reversed(s)])
    return src, tgt


def test_learns_to_reverse_through_the_task():
    torch.manual_seed(0)
    vocab = Seq2SeqVocab([str(i) for i in range(3, 9)], "whitespace", False)
    cfg = Seq2SeqConfig(src_vocab=len(vocab), tgt_vocab=len(vocab), embed=16,
                        encoder=EncoderConfig(cell="gru", hidden=24, bidirectional=True),
                        decoder_hidden=32, attention="additive", attention_size=16,
                        dropout=0.0)
    model = Seq2Seq(cfg)
    src, tgt = _reverse_data(600, 0)
    dsrc, dtgt = _reverse_data(40, 1)
    task = Seq2SeqTask(src, tgt, dsrc, dtgt, vocab, batch_size=32, seed=0,
                       bleu_sentences=40)
    opt = torch.optim.Adam(model.parameters(), 1e-2)
    for _ in range(250):
        out = task.train_step(model)
        opt.zero_grad()
        out.loss.backward()
        opt.step()
    m = task.evaluate(model.eval())
    assert m["loss"] < 0.1 and m["bleu"] > 90
    x = torch.tensor([[3, 5, 7, 8]])
    (row,) = translate_batch(model, x, torch.tensor([4]), beam=3)
    assert row[0][0] == [8, 7, 5, 3]


def test_sequence_loss_ignores_padding():
    logits = torch.randn(2, 3, 5)
    target = torch.tensor([[1, 2, 3], [4, 0, 0]])
    lengths = torch.tensor([3, 1])
    full = torch.nn.functional.cross_entropy(
        torch.cat([logits[0], logits[1, :1]]), torch.tensor([1, 2, 3, 4]))
    torch.testing.assert_close(sequence_loss(logits, target, lengths), full)


@pytest.mark.parametrize("bad,match", [
    (dict(attention="luong"), "attention must be"),
    (dict(decoder_cell="tcn"), "decoder_cell"),
    (dict(attention="none", input_feeding=True), "input feeding"),
    (dict(attention="dot", decoder_hidden=7), "dot attention"),
    (dict(tie_embeddings=True), "shared vocabulary"),
    (dict(dropout=1.0), "dropout"),
])
def test_bad_configs(bad, match):
    cfg = small()
    for k, v in bad.items():
        setattr(cfg, k, v)
    with pytest.raises(ValueError, match=match):
        Seq2Seq(cfg)


def test_length_limit_is_per_sentence_not_per_batch():
    torch.manual_seed(0)
    model = Seq2Seq(small("general", True, "gru")).eval()
    with torch.no_grad():
        model.output.bias[model.cfg.eos_id] = -100.0  # never ends on its own
    short, long_ = torch.tensor([[3, 4]]), torch.tensor([[5, 6, 7, 8, 9, 10, 3]])
    alone = translate_batch(model, short, torch.tensor([2]))[0][0][0]
    assert len(alone) == 2 * 2 + 10
    both = torch.tensor([[3, 4, 0, 0, 0, 0, 0], [5, 6, 7, 8, 9, 10, 3]])
    for beam in (1, 3):
        rows = translate_batch(model, both, torch.tensor([2, 7]), beam=beam)
        assert len(rows[0][0][0]) == 14 and len(rows[1][0][0]) == 2 * 7 + 10
    assert translate_batch(model, both, torch.tensor([2, 7]))[0][0][0] == alone
    assert len(translate_batch(model, long_, torch.tensor([7]), max_len=5)[0][0][0]) == 5


def test_tied_embeddings_need_a_shared_vocabulary(tmp_path):
    from rnnkit.tasks.seq2seq.data import Seq2SeqDataConfig
    from rnnkit.train.loop import TrainConfig

    (tmp_path / "s").write_text("a b\nc d\n")
    (tmp_path / "t").write_text("x y\nz w\n")
    data = Seq2SeqDataConfig(src=str(tmp_path / "s"), tgt=str(tmp_path / "t"), min_freq=1,
                             max_vocab=6)
    cfg = small(tie_embeddings=True)
    with pytest.raises(ValueError, match="--shared-vocab"):
        train_task("seq2seq", data, cfg, TrainConfig(steps=1), out=tmp_path / "runs")
    assert not (tmp_path / "runs").exists()
