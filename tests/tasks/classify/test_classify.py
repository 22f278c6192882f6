"""The classifier head: pooling respects lengths, it overfits a batch, it trains through the
one loop and resumes exactly."""

import pytest
import torch
import torch.nn.functional as F

from rnnkit.data.batching import pad
from rnnkit.tasks.classify.model import (
    Classifier,
    ClassifierConfig,
    ClassifyTask,
    class_weights,
    predict_proba,
)
from rnnkit.tasks.common.encoder import EncoderConfig
from rnnkit.tasks.common.pooling import Pooling, last_outputs
from rnnkit.train.loop import TrainConfig, Trainer


def _model(pooling="max", cell="lstm", bidirectional=True, layers=1, V=30, C=3, dropout=0.3):
    enc = EncoderConfig(cell=cell, hidden=8, layers=layers, bidirectional=bidirectional)
    return Classifier(ClassifierConfig(vocab_size=V, num_classes=C, embed=6, encoder=enc,
                                       pooling=pooling, embed_dropout=dropout,
                                       out_dropout=dropout))


@pytest.mark.parametrize("pooling", ["last", "mean", "max", "attention"])
@pytest.mark.parametrize("cell,bidirectional", [("lstm", True), ("gru", True), ("rnn", False)])
def test_pooling_respects_lengths(pooling, cell, bidirectional):
    torch.manual_seed(0)
    m = _model(pooling, cell, bidirectional, layers=2).eval()
    seqs = [[3, 4, 5, 6, 7, 8, 9], [10, 11], [12, 13, 14, 15]]
    x, lengths = pad(seqs)
    batched = m(x, lengths)
    alone = torch.cat([m(torch.tensor([s]), torch.tensor([len(s)])) for s in seqs])
    torch.testing.assert_close(batched, alone, atol=1e-6, rtol=1e-5)
    junk = torch.cat([x, torch.randint(1, 30, (3, 5))], 1)  # more padding, with content
    junk[1, 2:] = torch.randint(1, 30, (junk.shape[1] - 2,))
    torch.testing.assert_close(m(junk, lengths), batched, atol=1e-6, rtol=1e-5)


def test_last_pooling_is_the_final_state_in_both_directions():
    torch.manual_seed(0)
    m = _model("last", "gru").eval()
    x, lengths = pad([[1, 2, 3, 4], [5, 6]])
    out, h = m.encoder(m.embedding(x), lengths=lengths)  # h (L*D, B, H)
    torch.testing.assert_close(last_outputs(out, lengths, 2), torch.cat([h[0], h[1]], 1))


def test_attention_weights_vanish_on_padding():
    pool = Pooling("attention", 4, 1, attention_size=3)
    out = torch.randn(2, 5, 4)
    a = pool.weights(out, torch.tensor([5, 2]))
    assert a[1, 2:].abs().sum() == 0
    torch.testing.assert_close(a.sum(1), torch.ones(2))


@pytest.mark.parametrize("pooling", ["last", "attention"])
def test_classifier_overfits_a_small_batch(pooling):
    torch.manual_seed(0)
    m = _model(pooling, V=40, C=4, dropout=0.0)
    seqs = [torch.randint(1, 40, (int(n),)).tolist() for n in torch.randint(2, 9, (16,))]
    y = torch.arange(16) % 4
    x, lengths = pad(seqs)
    opt = torch.optim.Adam(m.parameters(), lr=0.02)
    for _ in range(120):
        loss = F.cross_entropy(m(x, lengths), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.05
    assert (predict_proba(m, seqs).argmax(1) == y).all()


def test_class_weights():
    w = class_weights([0, 0, 0, 1], 2, "balanced")
    torch.testing.assert_close(w, torch.tensor([4 / 6, 2.0]))
    assert class_weights([0, 1], 2, "none") is None
    assert class_weights([0, 1], 2, "1,3").tolist() == [1.0, 3.0]
    with pytest.raises(ValueError, match="give 2 non-negative class weights"):
        class_weights([0, 1], 2, "1,2,3")
    with pytest.raises(ValueError, match="none, balanced or comma-separated"):
        class_weights([0, 1], 2, "heavy")


def _task_data():
    g = torch.Generator().manual_seed(0)
    seqs, labels = [], []
    for i in range(96):
        n = int(torch.randint(3, 10, (), generator=g))
        s = torch.randint(3, 20, (n,), generator=g).tolist()
        s[int(torch.randint(0, n, (), generator=g))] = 1 + i % 2  # the label's marker token
        seqs.append(s)
        labels.append(i % 2)
    return seqs, labels


def _trainer(run_dir=None, stop_at=None):
    seqs, labels = _task_data()
    torch.manual_seed(0)
    m = _model("max", V=20, C=2)
    task = ClassifyTask(seqs[:80], labels[:80], seqs[80:], labels[80:], ["a", "b"],
                        batch_size=16, seed=0, word_dropout=0.1)
    cfg = TrainConfig(lr=0.02, steps=60, warmup_steps=5, log_every=10, eval_every=20)
    t = Trainer(m, task, cfg, run_dir)
    if stop_at:
        t.callbacks.append(lambda ev, row: row.get("step") == stop_at and t.request_stop())
    return m, t


def test_classify_task_trains_and_resumes_exactly(tmp_path):
    m, t = _trainer()
    summary = t.fit()
    assert summary["final_acc"] == 1.0 and summary["final_loss"] < 0.3
    _, t1 = _trainer(tmp_path, stop_at=40)
    assert t1.fit()["stopped"] == "interrupted"
    m2, t2 = _trainer(tmp_path)
    t2.resume(tmp_path / "checkpoints" / "last.safetensors")
    assert t2.step == 40
    t2.fit()
    for p, q in zip(m.parameters(), m2.parameters()):
        torch.testing.assert_close(p, q, atol=0, rtol=0)
