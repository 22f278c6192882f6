"""Language-model pretraining of a classifier's embedding and encoder
(rnnkit.tasks.classify.pretrain): targets, no peeking at the predicted token, the weights it
changes, and the classifier run that starts from them."""

import csv
import json
import math
import random
import signal

import pytest
import torch

from rnnkit.data.batching import pad
from rnnkit.tasks.classify.data import ClassifyDataConfig
from rnnkit.tasks.classify.model import Classifier, ClassifierConfig
from rnnkit.tasks.classify.pretrain import (
    EncoderLM,
    SentenceLMTask,
    lm_targets,
    pretrain_in_run,
    target_classes,
)
from rnnkit.tasks.common.encoder import EncoderConfig
from rnnkit.tasks.common.words import WordBatch
from rnnkit.train.checkpoint import load_checkpoint
from rnnkit.train.loop import TrainConfig
from tests.helpers import train_task


def _classifier(V=12, bidirectional=True, layers=1, **kw):
    enc = EncoderConfig(hidden=16, layers=layers, bidirectional=bidirectional)
    return Classifier(ClassifierConfig(vocab_size=V, num_classes=2, embed=8, encoder=enc,
                                       embed_dropout=0.0, out_dropout=0.0, **kw))


def _cyclic(n, seed):
    """Runs of consecutive ids 1..9 (wrapping): each token fixes its neighbours."""
    g = random.Random(seed)
    out = []
    for _ in range(n):
        a, k = g.randrange(9), g.randint(3, 8)
        out.append([(a + i) % 9 + 1 for i in range(k)])
    return out


def test_target_classes_by_frequency():
    seqs = [[3, 3, 3, 2, 2, 5]]
    assert target_classes(seqs, 7).tolist() == [3, 3, 1, 0, 3, 2, 3]
    assert target_classes(seqs, 7, keep=2).tolist() == [2, 2, 1, 0, 2, 2, 2]


def test_lm_targets_next_and_previous_with_boundaries():
    classes = target_classes([[3, 3, 3, 2, 2, 5]], 7)  # boundary class 4
    words, lengths = pad([[3, 2, 5], [2, 3]])
    fwd, bwd = lm_targets(words, lengths, classes, 2)
    assert fwd.tolist() == [1, 2, 4, 0, 4]
    assert bwd.tolist() == [4, 0, 1, 4, 1]
    (only,) = lm_targets(words, lengths, classes, 1)
    assert only.tolist() == fwd.tolist()


def test_each_direction_predicts_a_token_it_has_not_read():
    torch.manual_seed(0)
    lm = EncoderLM(_classifier(), num_targets=6).eval()
    x = torch.tensor([[1, 2, 3, 4, 5, 6]])
    y = x.clone()
    y[0, 4] = 9
    lengths = torch.tensor([6])
    fa, ba = lm(WordBatch(x, lengths))
    fb, bb = lm(WordBatch(y, lengths))
    # forward at t has read 0..t: steps before 4 are unchanged, step 4 is not
    torch.testing.assert_close(fa[:4], fb[:4], atol=0, rtol=0)
    assert (fa[4] - fb[4]).abs().max() > 1e-4
    # backward at t has read t..5: step 5 is unchanged, step 4 is not
    torch.testing.assert_close(ba[5], bb[5], atol=0, rtol=0)
    assert (ba[4] - bb[4]).abs().max() > 1e-4


def test_pretraining_trains_embedding_and_encoder_only(tmp_path):
    torch.manual_seed(0)
    head = _classifier()
    before = {k: v.clone() for k, v in head.state_dict().items()}
    train, dev = _cyclic(200, 0), _cyclic(40, 1)
    classes = target_classes(train, 12)
    K = int(classes.max()) + 2  # 9 tokens, "other" (unused), boundary
    assert K == 11
    task = SentenceLMTask(train, dev, classes, batch_size=16, seed=0)
    untrained = task.evaluate(EncoderLM(head, K))["loss"]
    cfg = TrainConfig(lr=0.02, steps=80, warmup_steps=5, log_every=20)
    summary = pretrain_in_run(head, task, cfg, tmp_path / "pre", K, dropout=0.0)
    assert summary["stopped"] == "budget" and summary["step"] == 80
    assert untrained > 0.9 * math.log(K)
    # the next token is known from the current one, the previous too, except at boundaries
    assert summary["final_loss"] < 0.45 * untrained and summary["final_ppl"] < 3.0
    after = head.state_dict()
    for name in ("words.embedding.weight", "encoder.weight_hh_l0", "encoder.weight_ih_l0",
                 "encoder.weight_hh_l0_reverse"):
        assert (after[name] - before[name]).abs().max() > 0.05, name
    for name in ("output.weight", "output.bias"):  # the classifier's own layer is not touched
        torch.testing.assert_close(after[name], before[name], atol=0, rtol=0)
    best = load_checkpoint(tmp_path / "pre" / "checkpoints" / "best.safetensors")["model"]
    for name, v in after.items():  # the head ends with the best checkpoint's weights
        torch.testing.assert_close(v, best[f"head.{name}"], atol=0, rtol=0)
    assert (tmp_path / "pre" / "log.csv").is_file() and (tmp_path / "pre" / "loss.png").is_file()


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="lm_pretrain_epochs must be >= 0, got -1"):
        _classifier(lm_pretrain_epochs=-1)
    with pytest.raises(ValueError, match="lm_pretrain_vocab must be >= 0"):
        _classifier(lm_pretrain_epochs=1, lm_pretrain_vocab=-5)
    with pytest.raises(ValueError, match=r"lm_pretrain_dropout must be in \[0, 1\)"):
        _classifier(lm_pretrain_epochs=1, lm_pretrain_dropout=1.0)
    with pytest.raises(ValueError, match="one-layer bidirectional one .got 2 bidirectional"):
        _classifier(layers=2, lm_pretrain_epochs=1)
    _classifier(layers=2)  # no pretraining: any encoder
    _classifier(layers=2, bidirectional=False, lm_pretrain_epochs=1)


def _tsv(path, seqs, seed):
    g = random.Random(seed)
    with open(path, "w", newline="") as f:
        w = csv.writer(f, delimiter="\t")
        w.writerow(["text", "label"])
        for s in seqs:
            w.writerow([" ".join(f"w{i}" for i in s), g.choice(["a", "b"])])
    return str(path)


def test_classifier_starts_from_the_pretrained_weights(tmp_path):
    data = ClassifyDataConfig(data=_tsv(tmp_path / "train.tsv", _cyclic(120, 0), 0),
                              dev=_tsv(tmp_path / "dev.tsv", _cyclic(30, 1), 1),
                              tokenizer="whitespace", batch_size=16)
    # One classifier step at a negligible learning rate: the weights stay where they started.
    train = TrainConfig(lr=1e-9, steps=1, warmup_steps=0, log_every=1)

    def run(**kw):
        model = ClassifierConfig(embed=8, encoder=EncoderConfig(hidden=16, bidirectional=True),
                                 lm_pretrain_lr=0.02, **kw)
        out = train_task("classify", data, model, train, out=tmp_path / "runs")
        return out, load_checkpoint(out / "checkpoints" / "last.safetensors")["model"]

    plain_run, plain = run()
    assert not (plain_run / "lm_pretrain").exists()
    pre_run, pre = run(lm_pretrain_epochs=3)
    lm = load_checkpoint(pre_run / "lm_pretrain" / "checkpoints" / "best.safetensors")["model"]
    for name in ("words.embedding.weight", "encoder.weight_ih_l0", "encoder.weight_hh_l0",
                 "encoder.weight_ih_l0_reverse", "encoder.bias_hh_l0_reverse"):
        torch.testing.assert_close(pre[name], lm[f"head.{name}"], atol=1e-6, rtol=0)
        assert (pre[name] - plain[name]).abs().max() > 0.05, name
    summary = json.loads((pre_run / "lm_pretrain" / "summary.json").read_text())
    assert summary["step"] == 24  # 3 epochs of 8 batches
    cfg = json.loads((pre_run / "config.json").read_text())
    assert cfg["model"]["lm_pretrain_epochs"] == 3


def test_an_interrupted_pretraining_continues_on_resume(tmp_path):
    data = ClassifyDataConfig(data=_tsv(tmp_path / "train.tsv", _cyclic(120, 0), 0),
                              dev=_tsv(tmp_path / "dev.tsv", _cyclic(30, 1), 1),
                              tokenizer="whitespace", batch_size=16)
    model = ClassifierConfig(embed=8, encoder=EncoderConfig(hidden=16, bidirectional=True),
                             lm_pretrain_epochs=3, lm_pretrain_lr=0.02)
    train = TrainConfig(lr=0.02, steps=5, warmup_steps=0, log_every=2)

    def ctrl_c(event, row):  # Ctrl-C during the pretraining's step 10
        if event == "log" and row.get("phase") == "lm_pretrain" and row["step"] == 10:
            signal.raise_signal(signal.SIGINT)

    run = train_task("classify", data, model, train, out=tmp_path / "runs", callbacks=[ctrl_c])
    assert json.loads((run / "summary.json").read_text())["stopped"] == "interrupted"
    pre = json.loads((run / "lm_pretrain" / "summary.json").read_text())
    assert pre["stopped"] == "interrupted" and pre["step"] == 10
    assert not (run / "checkpoints" / "last.safetensors").exists()

    run = train_task("classify", ClassifyDataConfig(), ClassifierConfig(), TrainConfig(),
                     resume=run)
    pre = json.loads((run / "lm_pretrain" / "summary.json").read_text())
    assert pre["stopped"] == "budget" and pre["step"] == 24  # went on from step 10
    summary = json.loads((run / "summary.json").read_text())
    assert summary["stopped"] == "budget" and summary["step"] == 5
