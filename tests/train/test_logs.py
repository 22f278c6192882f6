"""Training logs: the TensorBoard writer is closed when training ends, and the PNGs are drawn
without touching matplotlib's global state (a notebook's backend and figures stay as they
were)."""

import subprocess
import sys
import types

import torch
from tests.train.test_loop import Regression

from rnnkit.train.logs import MetricsLog
from rnnkit.train.loop import TrainConfig, Trainer


class FakeWriter:
    opened: list = []

    def __init__(self, logdir):
        self.logdir, self.scalars, self.closed = logdir, [], False
        FakeWriter.opened.append(self)

    def add_scalar(self, k, v, step):
        assert not self.closed, "written after close"
        self.scalars.append((k, v, step))

    def close(self):
        self.closed = True


def _fake_tensorboard(monkeypatch):
    FakeWriter.opened = []
    mod = types.ModuleType("torch.utils.tensorboard")
    mod.SummaryWriter = FakeWriter
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", mod)


def test_the_writer_is_closed_when_fit_returns(tmp_path, monkeypatch):
    _fake_tensorboard(monkeypatch)
    torch.manual_seed(0)
    t = Trainer(torch.nn.Linear(5, 1), Regression(), TrainConfig(steps=30, log_every=10),
                run_dir=tmp_path)
    t.fit()
    assert FakeWriter.opened and all(w.closed for w in FakeWriter.opened)
    assert any(k == "val_loss" for w in FakeWriter.opened for k, _, _ in w.scalars)


def test_the_writer_is_closed_when_training_fails(tmp_path, monkeypatch):
    _fake_tensorboard(monkeypatch)
    torch.manual_seed(0)
    t = Trainer(torch.nn.Linear(5, 1), Regression(poison_at=range(5, 100)),
                TrainConfig(steps=50, log_every=1, max_bad_steps=3), run_dir=tmp_path)
    try:
        t.fit()
    except Exception:
        pass
    assert FakeWriter.opened and all(w.closed for w in FakeWriter.opened)


def test_metrics_log_is_a_context_manager(tmp_path, monkeypatch):
    _fake_tensorboard(monkeypatch)
    with MetricsLog(tmp_path / "log.csv") as log:
        log.write({"step": 1, "train_loss": 0.5})
    assert FakeWriter.opened[0].closed
    assert "train_loss" in (tmp_path / "log.csv").read_text()


def test_plots_leave_the_matplotlib_backend_alone(tmp_path):
    """A session that chose a backend keeps it, and rnnkit's PNGs never register pyplot
    figures (a notebook's ``plt.gcf()`` is not hijacked)."""
    code = f"""
import matplotlib
matplotlib.use("svg")
import matplotlib.pyplot as plt
from rnnkit.tasks.common.metrics import plot_confusion
from rnnkit.train.logs import plot_losses
from rnnkit.plotting import new_figure
csv = {str(tmp_path / 'log.csv')!r}
open(csv, "w").write("step,train_loss,val_loss\\n1,2.0,\\n2,1.5,1.6\\n")
before = plt.get_fignums()
p = plot_losses(csv, {str(tmp_path / 'loss.png')!r})
q = plot_confusion({{"labels": ["a", "b"], "confusion": [[3, 1], [0, 2]], "accuracy": 0.83}},
                   {str(tmp_path / 'cm.png')!r})
assert p is not None and q is not None
assert matplotlib.get_backend() == "svg", matplotlib.get_backend()
assert plt.get_fignums() == before
print("ok")
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "ok", out.stderr
    assert (tmp_path / "loss.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "cm.png").read_bytes()[:4] == b"\x89PNG"
