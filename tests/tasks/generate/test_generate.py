"""The conditioned generator (one-to-many): teacher forcing agrees with step-by-step decoding,
it overfits a tiny batch, decoding goes through rnnkit.decode (beam 1 == greedy, seeded
sampling), the condition matters; and the run-level library calls on tiny data."""

import math

import pytest
import torch

import rnnkit
from rnnkit.cells import LSTMState
from rnnkit.decode import beam_search, generate
from rnnkit.tasks.common.encoder import EncoderConfig
from rnnkit.tasks.generate.data import GenerateDataConfig
from rnnkit.tasks.generate.model import (
    GenerateTask,
    Generator,
    GeneratorConfig,
    beam_ids,
    caption_scores,
    generate_ids,
    sequence_nll,
    teacher_batch,
)
from rnnkit.tasks.generate.report import label_unknown_perplexity, per_label_perplexity
from rnnkit.tasks.generate.sampling import resolve_condition, sample
from rnnkit.train.loop import TrainConfig, Trainer
from tests.helpers import train_task

BOS = EOS = 1
SEQS = [[2, 3, 4, 5], [6, 7], [8, 2, 8, 3, 9], [4, 4]]


def _model(cond="class", cell="gru", layers=1, feed=True, V=10, hidden=32, dropout=0.0):
    enc = EncoderConfig(cell=cell, hidden=hidden, layers=layers)
    cfg = GeneratorConfig(vocab_size=V, condition=cond, num_classes=4, image_height=8,
                          image_width=16, condition_dim=16, cnn_channels=4, embed=8,
                          feed_condition=feed, encoder=enc, out_dropout=dropout)
    return Generator(cfg)


def _images(n=4):
    g = torch.Generator().manual_seed(1)
    return torch.rand(n, 1, 8, 16, generator=g)


def _conds(kind):
    return torch.arange(4) if kind == "class" else _images()


@pytest.mark.parametrize("cell,layers,feed", [("gru", 1, True), ("lstm", 2, True),
                                              ("rnn", 1, False), ("lstm", 1, False)])
def test_teacher_forcing_equals_step_by_step(cell, layers, feed):
    m = _model(cell=cell, layers=layers, feed=feed).eval()
    cond = torch.arange(4)
    x, y, lengths = teacher_batch(SEQS, BOS, EOS)
    assert x[:, 0].tolist() == [BOS] * 4 and y[1].tolist()[:3] == [6, 7, EOS]
    assert (y[1, 3:] == -100).all() and lengths.tolist() == [5, 3, 6, 3]
    full = m(cond, x, lengths)  # (B, T, V)
    state = m.start(cond)
    if cell == "lstm":
        assert isinstance(state[0], LSTMState) and state[0].h.shape == (layers, 4, 32)
    for t in range(x.shape[1]):
        logits, state = m.step(x[:, t], state)
        keep = lengths > t
        assert (logits[:, 0] == float("-inf")).all()  # <unk> (id 0) is never produced
        torch.testing.assert_close(logits[keep, 1:], full[keep, t, 1:], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("kind", ["class", "image"])
def test_overfits_a_tiny_batch_and_greedy_reproduces_it(kind):
    torch.manual_seed(0)
    m = _model(kind, hidden=48)
    cond = _conds(kind)
    task = GenerateTask(cond, SEQS, cond, SEQS, BOS, EOS, batch_size=4, seed=0,
                        decode_dev=True)
    cfg = TrainConfig(lr=1e-2, steps=150, warmup_steps=5, weight_decay=0.0, eval_every=1000,
                      log_every=50)
    summary = Trainer(m, task, cfg).fit()
    assert summary["final_loss"] < 0.02
    assert summary["final_exact_match"] == 1.0 and summary["final_token_acc"] == 1.0
    assert generate_ids(m, cond, BOS, EOS, 8, greedy=True) == SEQS
    assert [row[0][0] for row in beam_ids(m, cond, BOS, EOS, 8, beam_size=3)] == SEQS
    # the condition changes the output: every condition gives its own sequence
    swapped = generate_ids(m, cond.flip(0), BOS, EOS, 8, greedy=True)
    assert swapped == SEQS[::-1]


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_beam_1_equals_greedy_through_the_step(cell):
    torch.manual_seed(3)
    m = _model(cell=cell, layers=2).eval()
    cond = torch.tensor([0, 1, 2, 3, 1])
    first = torch.full((5,), BOS)
    greedy, _ = generate(m.step, m.start(cond), first, 12, greedy=True)
    beams = beam_search(m.step, m.start(cond), first, 12, beam_size=1)
    assert [b[0][0] for b in beams] == greedy.tolist()


def test_beam_rows_are_independent_of_the_batch():
    """The condition vector travels in the state: beam search reorders it with the rows."""
    torch.manual_seed(4)
    m = _model("image", cell="lstm").eval()
    images = _images(3)
    together = beam_ids(m, images, BOS, EOS, 6, beam_size=4, n_best=2)
    alone = [beam_ids(m, images[i:i + 1], BOS, EOS, 6, beam_size=4, n_best=2)[0]
             for i in range(3)]
    for a, b in zip(together, alone):
        assert [ids for ids, _ in a] == [ids for ids, _ in b]
        assert [s for _, s in a] == pytest.approx([s for _, s in b], abs=1e-5)


def test_sampling_is_reproducible_with_a_seed():
    torch.manual_seed(5)
    m = _model().eval()
    cond = torch.zeros(6, dtype=torch.long)

    def draw(seed):
        return generate_ids(m, cond, BOS, EOS, 10, temperature=1.5,
                            generator=torch.Generator().manual_seed(seed))

    assert draw(1) == draw(1)
    assert draw(1) != draw(2)
    assert all(len(s) <= 10 and EOS not in s for s in draw(1))


def test_the_condition_changes_the_next_token_distribution():
    torch.manual_seed(6)
    for kind, feed in [("class", True), ("class", False), ("image", True)]:
        m = _model(kind, feed=feed).eval()
        cond = _conds(kind)
        logits, _ = m.step(torch.full((4,), BOS), m.start(cond))
        assert (logits[0, 1:] - logits[1, 1:]).abs().max() > 1e-3


def test_config_and_input_errors():
    with pytest.raises(ValueError, match="bidirectional"):
        Generator(GeneratorConfig(vocab_size=5, num_classes=2,
                                  encoder=EncoderConfig(bidirectional=True)))
    with pytest.raises(ValueError, match="num_classes"):
        Generator(GeneratorConfig(vocab_size=5))
    with pytest.raises(ValueError, match="at least 4 x 4"):
        Generator(GeneratorConfig(vocab_size=5, condition="image", image_height=2,
                                  image_width=8))
    with pytest.raises(ValueError, match="condition must be one of"):
        Generator(GeneratorConfig(vocab_size=5, condition="audio"))
    m = _model("image")
    with pytest.raises(ValueError, match=r"image conditions must be \(B, 1, 8, 16\)"):
        m.start(torch.zeros(2, 1, 8, 8))
    with pytest.raises(ValueError, match="class conditions"):
        _model().start(torch.zeros(2))
    with pytest.raises(ValueError, match="one condition per target"):
        GenerateTask(torch.arange(3), SEQS, torch.arange(4), SEQS, BOS, EOS)


def test_caption_scores():
    s = caption_scores([[1, 2, 3], [4, 5], [6]], [[1, 2, 3], [4, 6], [6, 7]])
    assert s["exact_match"] == pytest.approx(1 / 3)
    assert s["token_acc"] == pytest.approx((3 + 1 + 1) / (3 + 2 + 2))
    assert s["n"] == 3


def test_evaluate_loss_is_mean_nll_per_token_with_the_end_token():
    torch.manual_seed(7)
    m = _model().eval()
    cond = torch.arange(4)
    task = GenerateTask(cond, SEQS, cond, SEQS, BOS, EOS)
    metrics = task.evaluate(m)
    nll = sequence_nll(m, cond, SEQS, BOS, EOS)
    tokens = sum(len(s) + 1 for s in SEQS)
    assert metrics["loss"] == pytest.approx(float(nll.sum()) / tokens, rel=1e-5)
    assert metrics["ppl"] == pytest.approx(math.exp(metrics["loss"]), rel=1e-6)
    # an untrained model over 10 tokens is near uniform
    assert 5 < metrics["ppl"] < 20
    per = per_label_perplexity(m, cond, SEQS, ["a", "b", "c", "d"], EOS)
    assert per["all"]["ppl"] == pytest.approx(metrics["ppl"], rel=1e-5)
    assert per["per_label"]["b"]["tokens"] == 3 and per["per_label"]["b"]["texts"] == 1
    mix = label_unknown_perplexity(m, SEQS, torch.full((4,), 0.25), EOS)
    assert math.isfinite(mix) and mix > 1


# Run level: tiny data through the library calls ----------------------------------------------

def _names(tmp_path):
    folder = tmp_path / "names"
    folder.mkdir()
    (folder / "Alpha.txt").write_text("\n".join(["Abab", "Abba", "Abaab", "Abbb"] * 3) + "\n")
    (folder / "Omega.txt").write_text("\n".join(["Zyzy", "Zyyz", "Zzy", "Zyzzy"]) + "\n")
    return folder


def test_train_sample_and_report_on_tiny_names(tmp_path):
    data = GenerateDataConfig(data=str(_names(tmp_path)), dev_fraction=0.25, batch_size=4)
    model_cfg = GeneratorConfig(embed=8, condition_dim=8,
                                encoder=EncoderConfig(cell="gru", hidden=24))
    train = TrainConfig(lr=2e-2, steps=60, warmup_steps=5, log_every=30)
    run = train_task("generate", data, model_cfg, train, out=tmp_path / "runs")
    import json

    cfg = json.loads((run / "config.json").read_text())
    assert cfg["task"] == "generate" and cfg["kind"] == "texts" and cfg["end_token"] == "\n"
    assert cfg["labels"] == ["Alpha", "Omega"]
    assert cfg["sizes"]["read"] == 16 and cfg["sizes"]["unique_pairs"] == 8
    assert cfg["sizes"]["train"] == 6 and cfg["sizes"]["dev"] == 2
    report = json.loads((run / "report.json").read_text())
    assert set(report["per_label"]) == {"Alpha", "Omega"}
    assert all(len(r["samples"]) == 5 for r in report["per_label"].values())
    assert report["all"]["ppl"] < report["label_unknown_ppl"] * 1.5
    assert (run / "samples.txt").read_text().startswith("Alpha\t")

    gen = rnnkit.load(run)
    out = sample(gen, ["Alpha", "omega"], num=3, seed=0)
    assert [g.condition.name for g in out] == ["Alpha", "Omega"]
    assert out[0].texts == sample(gen, ["Alpha"], num=3, seed=0)[0].texts
    # trained briefly, the labels' first letters already separate
    assert all(t.startswith("A") for t in out[0].texts)
    assert all(t.startswith("Z") for t in out[1].texts)
    (greedy,) = sample(gen, ["Omega"], num=4, greedy=True)
    assert len(greedy.texts) == 1
    (beam,) = sample(gen, ["Omega"], num=2, beam=3)
    assert len(beam.texts) == 2 and beam.scores[0] >= beam.scores[1]
    with pytest.raises(ValueError, match="unknown condition 'Beta'; known labels: Alpha, Omega"):
        resolve_condition(gen, "Beta")


def test_empty_folder_and_bad_data_are_clear_errors(tmp_path):
    from rnnkit.data import DataError

    empty = tmp_path / "empty"
    empty.mkdir()
    train = TrainConfig(steps=1)
    with pytest.raises(DataError, match="folder holds no files"):
        train_task("generate", GenerateDataConfig(data=str(empty)), GeneratorConfig(), train,
                        out=tmp_path / "r")
    with pytest.raises(ValueError, match="give the training data"):
        train_task("generate", GenerateDataConfig(), GeneratorConfig(), train, out=tmp_path / "r")
    with pytest.raises(ValueError, match="tokenizer must be one of"):
        train_task("generate", GenerateDataConfig(data="digits", tokenizer="bpe"),
                   GeneratorConfig(), train, out=tmp_path / "r")
    one = tmp_path / "one"
    one.mkdir()
    (one / "A.txt").write_text("Solo\n")
    with pytest.raises(DataError, match="too few examples"):
        train_task("generate", GenerateDataConfig(data=str(one)), GeneratorConfig(), train,
                        out=tmp_path / "r")
    assert not (tmp_path / "r").exists()  # nothing written before the data is known good
