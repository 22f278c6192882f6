"""The adding problem and the copy task: generator statistics, baselines, training, the CLI."""

import json
import math

import pytest
import torch
import torch.nn.functional as F

from rnnkit.cli.main import main
from rnnkit.tasks.common.encoder import EncoderConfig
from rnnkit.tasks.longlag.model import (
    BLANK,
    DELIM,
    LongLagConfig,
    LongLagModel,
    LongLagTask,
    adding_baseline,
    adding_problem,
    copy_baseline,
    copy_task,
)
from rnnkit.tasks.longlag.task import default_train_config, train_longlag


def test_adding_problem_layout_and_baseline():
    g = torch.Generator().manual_seed(3)
    x, y = adding_problem(200_000, 10, g)
    assert x.shape == (200_000, 10, 2) and y.shape == (200_000,)
    values, marker = x[..., 0], x[..., 1]
    assert values.min() >= 0 and values.max() < 1
    assert set(marker.unique().tolist()) == {0.0, 1.0}
    assert bool((marker[:, :5].sum(1) == 1).all()) and bool((marker[:, 5:].sum(1) == 1).all())
    torch.testing.assert_close(y, (values * marker).sum(1))
    mse = ((y - 1.0) ** 2).mean().item()  # the trivial predictor
    assert mse == pytest.approx(adding_baseline(), abs=0.01)
    assert adding_baseline() == pytest.approx(1 / 6)
    x2, _ = adding_problem(4, 10, torch.Generator().manual_seed(3))
    assert torch.equal(x2, adding_problem(4, 10, torch.Generator().manual_seed(3))[0])
    with pytest.raises(ValueError, match="T >= 2"):
        adding_problem(1, 1)


def test_copy_task_layout_and_baseline():
    T = 15
    x, y = copy_task(500, T, torch.Generator().manual_seed(0))
    assert x.shape == y.shape == (500, T + 20) and x.dtype == torch.long
    assert bool(((x[:, :10] >= 1) & (x[:, :10] <= 8)).all())
    assert bool((x[:, 10 : T + 9] == BLANK).all()) and bool((x[:, T + 9] == DELIM).all())
    assert bool((x[:, T + 10 :] == BLANK).all())
    assert bool((y[:, : T + 10] == BLANK).all()) and torch.equal(y[:, T + 10 :], x[:, :10])
    # the memoryless strategy: blank with certainty, then uniform over the 8 symbols
    logp = torch.full((T + 20, 10), -math.inf)
    logp[: T + 10, BLANK] = 0.0
    logp[T + 10 :, 1:9] = -math.log(8)
    ce = F.nll_loss(logp.expand(500, -1, -1).reshape(-1, 10), y.reshape(-1)).item()
    assert ce == pytest.approx(copy_baseline(T), rel=1e-6)
    assert copy_baseline(100) == pytest.approx(10 * math.log(8) / 120)


def test_task_resumes_its_data_stream_and_model_shapes():
    cfg = LongLagConfig(task="copy", T=5, batch_size=4, eval_size=10,
                        encoder=EncoderConfig(cell="gru", hidden=8))
    a, b = LongLagTask(cfg, seed=1), LongLagTask(cfg, seed=1)
    model = LongLagModel("copy", cfg.encoder)
    a.train_step(model)
    b.load_state_dict(a.state_dict())
    torch.manual_seed(0)
    la = a.train_step(model).loss
    torch.manual_seed(0)
    assert b.train_step(model).loss.item() == la.item()
    assert model(a.test[0]).shape == (10, 25, 10)
    m = a.evaluate(model)
    assert set(m) == {"loss", "baseline", "acc"} and 0 <= m["acc"] <= 1
    with pytest.raises(ValueError, match="bidirectional"):
        LongLagTask(LongLagConfig(encoder=EncoderConfig(bidirectional=True)))


def test_lstm_learns_a_short_adding_problem():
    cfg = LongLagConfig(task="adding", T=10, batch_size=32, eval_size=256,
                        encoder=EncoderConfig(cell="lstm", hidden=24))
    train = default_train_config(steps=400, lr=1e-2, log_every=100, schedule="constant")
    res = train_longlag(cfg, train)
    assert res.summary["final_loss"] < 0.1 * adding_baseline()  # measured: 0.003
    assert res.flow_final.grad_h.shape == (1, 10)


def test_bench_cli_end_to_end(tmp_path, capsys):
    out = tmp_path / "bench"
    args = ["bench", "longlag", "--task", "adding", "--T", "6,9", "--cells", "rnn,lstm",
            "--steps", "12", "--hidden", "8", "--batch-size", "8", "--eval-size", "40",
            "--log-every", "6", "--out", str(out)]
    assert main(args) == 0
    stdout = capsys.readouterr().out
    lines = stdout.splitlines()
    assert lines[0].split()[:5] == ["cell", "T", "steps", "train", "s"]
    rows = [ln.split() for ln in lines[1:5]]
    assert [(r[0], r[1], r[2]) for r in rows] == [("rnn", "6", "12"), ("lstm", "6", "12"),
                                                  ("rnn", "9", "12"), ("lstm", "9", "12")]
    assert all(float(r[5]) == pytest.approx(adding_baseline(), abs=1e-4) for r in rows)
    results = json.loads((out / "results.json").read_text())
    assert len(results["rows"]) == 4 and all(r["loss"] > 0 for r in results["rows"])
    png = out / "longlag-adding-gradients.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000
    assert (out / "adding-lstm-T9" / "log.csv").is_file()
    assert main(["bench", "longlag", "--cells", "rnn,xyz", "--steps", "1"]) == 2
    assert "xyz" in capsys.readouterr().err
