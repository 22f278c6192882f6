import math

import pytest
import torch

from rnnkit.train.checkpoint import load_checkpoint
from rnnkit.train.loop import TrainConfig, Trainer, TrainingError
from rnnkit.train.schedule import lr_factor
from rnnkit.train.task import StepOutput, Task


class Regression(Task):
    """y = X w on a fixed batch: a tiny deterministic task for the loop itself."""

    def __init__(self, poison_at=(), inf_at=()):
        g = torch.Generator().manual_seed(0)
        self.x = torch.randn(64, 5, generator=g)
        self.y = self.x @ torch.tensor([1.0, -2.0, 0.5, 3.0, 0.0])
        self.calls, self.poison_at, self.inf_at = 0, set(poison_at), set(inf_at)

    def train_step(self, model):
        self.calls += 1
        loss = ((model(self.x).squeeze(1) - self.y) ** 2).mean()
        if self.calls in self.poison_at:
            loss = loss * float("nan")
        if self.calls in self.inf_at:
            loss = loss * float("inf")
        return StepOutput(loss, 64, epoch=self.calls / 10)

    def evaluate(self, model, max_items=None):
        return {"loss": ((model(self.x).squeeze(1) - self.y) ** 2).mean().item()}

    def state_dict(self):
        return {"calls": self.calls}

    def load_state_dict(self, d):
        self.calls = d["calls"]


def test_loop_trains_and_writes_checkpoints(tmp_path):
    torch.manual_seed(0)
    model = torch.nn.Linear(5, 1)
    rows = []
    t = Trainer(model, Regression(), TrainConfig(steps=200, lr=0.05, log_every=50),
                run_dir=tmp_path, callbacks=[lambda e, r: rows.append((e, r))])
    summary = t.fit()
    assert summary["final_loss"] < 1e-3 and summary["step"] == 200
    assert (tmp_path / "checkpoints" / "best.safetensors").is_file()
    assert (tmp_path / "checkpoints" / "last.safetensors").is_file()
    header = (tmp_path / "log.csv").read_text().splitlines()[0]
    assert "train_loss" in header and "val_loss" in header
    assert [e for e, _ in rows].count("eval") >= 6  # ~6 interval evaluations and a final one
    ck = load_checkpoint(tmp_path / "checkpoints" / "last.safetensors")
    assert ck["trainer"]["step"] == 200 and ck["task"]["calls"] == 200


def test_resume_continues_where_it_stopped(tmp_path):
    torch.manual_seed(0)
    a = torch.nn.Linear(5, 1)
    b = torch.nn.Linear(5, 1)
    b.load_state_dict(a.state_dict())
    Trainer(a, Regression(), TrainConfig(steps=60, lr=0.02, schedule="constant"),
            run_dir=tmp_path / "a").fit()
    first = Trainer(b, Regression(), TrainConfig(steps=30, lr=0.02, schedule="constant"),
                    run_dir=tmp_path / "b")
    first.fit()
    c = torch.nn.Linear(5, 1)
    second = Trainer(c, Regression(), TrainConfig(steps=60, lr=0.02, schedule="constant"),
                     run_dir=tmp_path / "b")
    second.resume(tmp_path / "b" / "checkpoints" / "last.safetensors")
    assert second.step == 30 and second.task.calls == 30
    second.fit()
    torch.testing.assert_close(c.weight, a.weight)  # same as never stopping


def test_non_finite_losses_are_skipped_and_never_saved(tmp_path, caplog):
    torch.manual_seed(0)
    model = torch.nn.Linear(5, 1)
    t = Trainer(model, Regression(poison_at={3, 4}, inf_at={9}), TrainConfig(steps=20, lr=0.05),
                run_dir=tmp_path)
    summary = t.fit()
    assert summary["skipped_steps"] == 3
    assert all(torch.isfinite(p).all() for p in model.parameters())
    assert "non-finite loss" in caplog.text


def test_persistent_nan_stops_with_a_clear_error():
    model = torch.nn.Linear(5, 1)
    with pytest.raises(TrainingError, match="non-finite"):
        Trainer(model, Regression(poison_at=set(range(1, 100))),
                TrainConfig(steps=50, max_bad_steps=5)).fit()


def test_early_stopping_and_budget_validation():
    model = torch.nn.Linear(5, 1)
    # lr so small nothing improves measurably after the first evaluation -> stop early
    t = Trainer(model, Regression(), TrainConfig(steps=10000, lr=1e-12, eval_every=5,
                                                 early_stop=2, warmup_steps=0))
    s = t.fit()
    assert s["stopped"] == "early_stop" and s["step"] < 100
    with pytest.raises(ValueError, match="budget"):
        TrainConfig().validate()


@pytest.mark.parametrize("clip,expect", [(1e-3, 1.0), (0.0, 0.0)])
def test_clipping_is_applied_and_logged(clip, expect):
    model = torch.nn.Linear(5, 1)
    with torch.no_grad():
        model.weight.fill_(100.0)
    rows = []
    Trainer(model, Regression(), TrainConfig(steps=4, lr=1e-3, clip_norm=clip, log_every=4),
            callbacks=[lambda e, r: rows.append(r) if e == "log" else None]).fit()
    assert rows[0]["clip_frac"] == expect and rows[0]["grad_norm"] > 100


def test_cosine_schedule_shape():
    assert lr_factor("cosine", 0, 0.0, 10, 0.1) == pytest.approx(0.1)
    assert lr_factor("cosine", 100, 0.0, 10, 0.1) == pytest.approx(1.0)
    assert lr_factor("cosine", 100, 0.5, 10, 0.1) == pytest.approx(0.55)
    assert lr_factor("cosine", 100, 1.0, 10, 0.1) == pytest.approx(0.1)
    assert math.isclose(lr_factor("constant", 100, 0.7, 10, 0.1), 1.0)
    with pytest.raises(ValueError):
        lr_factor("linear", 0, 0, 0, 0)
