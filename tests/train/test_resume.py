"""Exact resume: a stopped (or killed) run resumed from its checkpoint ends bitwise equal to a
run that never stopped; non-finite steps roll back; memory stays flat under truncated BPTT."""

import os
import resource
import signal
import subprocess
import sys
import time

import torch

from rnnkit.tasks.common.encoder import EncoderConfig
from rnnkit.tasks.lm import LanguageModel, LMConfig, LMTask
from rnnkit.train.checkpoint import load_checkpoint
from rnnkit.train.loop import TrainConfig, Trainer
from rnnkit.train.task import StepOutput

TEXT = ("the cat sat on the mat and the dog ran far away from home. " * 60)


def lm_setup(seed=0):
    torch.manual_seed(seed)
    ids = torch.tensor([ord(c) % 64 for c in TEXT])
    model = LanguageModel(LMConfig(vocab_size=64, embed=8, out_dropout=0.3,
                                   encoder=EncoderConfig(cell="lstm", hidden=24, layers=2,
                                                         rnn_dropout=0.2)))
    task = LMTask(ids, ids[:500], batch_size=4, chunk_len=20, stride=12, random_len=False,
                  eval_batch_size=4)
    return model, task


CFG = dict(steps=40, lr=5e-3, checkpoint_every=5, eval_every=15, log_every=5)


def test_stop_and_resume_is_bitwise_exact(tmp_path):
    model, task = lm_setup()
    Trainer(model, task, TrainConfig(**CFG), run_dir=tmp_path / "ref").fit()

    model2, task2 = lm_setup()
    t = Trainer(model2, task2, TrainConfig(**CFG), run_dir=tmp_path / "cut")

    def stop_at_17(event, row):
        if event == "log" and row["step"] >= 17:
            t.request_stop()  # what Ctrl-C does: stop at the next step boundary and save

    t.callbacks.append(stop_at_17)
    s = t.fit()
    assert s["stopped"] == "interrupted" and s["step"] == 20

    model3, task3 = lm_setup(seed=123)  # different init: everything must come from the checkpoint
    t3 = Trainer(model3, task3, TrainConfig(**CFG), run_dir=tmp_path / "cut")
    t3.resume(tmp_path / "cut" / "checkpoints" / "last.safetensors")
    t3.fit()
    for (k, a), b in zip(model.state_dict().items(), model3.state_dict().values()):
        assert torch.equal(a, b), k
    ref_log = (tmp_path / "ref" / "log.csv").read_text().splitlines()
    cut_log = (tmp_path / "cut" / "log.csv").read_text().splitlines()
    col = ref_log[0].split(",").index("train_loss")
    assert [r.split(",")[col] for r in ref_log] == [r.split(",")[col] for r in cut_log]


def test_sigkill_and_resume_from_the_command_line(tmp_path):
    data = tmp_path / "t.txt"
    data.write_text(TEXT * 4)
    base = [sys.executable, "-m", "rnnkit", "train", "lm", "--data", str(data), "--steps", "60",
            "--hidden", "32", "--embed", "8", "--batch-size", "4", "--chunk-len", "16",
            "--checkpoint-every", "2", "--log-every", "2", "--eval-every", "20",
            "--sample-length", "0", "--threads", "1"]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    subprocess.run(base + ["--out", str(tmp_path / "ref")], check=True, env=env,
                   capture_output=True)
    proc = subprocess.Popen(base + ["--out", str(tmp_path / "k")], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ck = None
    for _ in range(600):  # kill as soon as a first checkpoint exists
        runs = list((tmp_path / "k").glob("*/checkpoints/last.safetensors"))
        if runs:
            ck = runs[0]
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert ck is not None
    step_at_kill = load_checkpoint(ck)["trainer"]["step"]
    run = ck.parent.parent
    r = subprocess.run([sys.executable, "-m", "rnnkit", "train", "lm", "--resume", str(run),
                        "--sample-length", "0", "--threads", "1"], env=env, capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr
    (ref,) = (tmp_path / "ref").iterdir()
    a = load_checkpoint(ref / "checkpoints" / "last.safetensors")
    b = load_checkpoint(run / "checkpoints" / "last.safetensors")
    assert b["trainer"]["step"] == 60 and step_at_kill < 60
    for k in a["model"]:
        assert torch.equal(a["model"][k], b["model"][k]), k


def test_sigint_saves_and_exits_130(tmp_path):
    data = tmp_path / "t.txt"
    data.write_text(TEXT * 4)
    proc = subprocess.Popen(
        [sys.executable, "-m", "rnnkit", "train", "lm", "--data", str(data), "--steps", "100000",
         "--hidden", "16", "--embed", "8", "--batch-size", "4", "--chunk-len", "16",
         "--out", str(tmp_path / "runs"), "--threads", "1", "--log-every", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=dict(os.environ, OMP_NUM_THREADS="1"))
    for _ in range(600):
        if list((tmp_path / "runs").glob("*/log.csv")):
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "--resume" in err and "Traceback" not in err
    (run,) = (tmp_path / "runs").iterdir()
    assert load_checkpoint(run / "checkpoints" / "last.safetensors")["trainer"]["step"] > 0


class Poisoned(LMTask):
    """An LM task whose loss turns NaN (or Inf) at chosen calls."""

    def __init__(self, *a, bad=(), **kw):
        super().__init__(*a, **kw)
        self.calls, self.bad = 0, dict(bad)

    def train_step(self, model):
        out = super().train_step(model)
        self.calls += 1
        if self.calls in self.bad:
            return StepOutput(out.loss * self.bad[self.calls], out.items, out.lr_scale,
                              out.epoch)
        return out


def test_nonfinite_rolls_back_with_lower_lr(tmp_path, caplog):
    torch.manual_seed(0)
    ids = torch.tensor([ord(c) % 64 for c in TEXT])
    model, _ = lm_setup()
    task = Poisoned(ids, ids[:300], 4, 20, bad={12: float("nan"), 30: float("inf")})
    t = Trainer(model, task, TrainConfig(steps=30, lr=5e-3, checkpoint_every=5,
                                         on_nonfinite="rollback", rollback_lr_factor=0.5),
                run_dir=tmp_path)
    s = t.fit()
    assert s["rollbacks"] == 2 and s["skipped_steps"] == 2
    assert t.lr_scale == 0.25 and s["step"] == 30
    assert all(torch.isfinite(p).all() for p in model.parameters())
    assert "rolled back" in caplog.text
    for f in (tmp_path / "checkpoints").iterdir():
        ck = load_checkpoint(f)
        assert all(torch.isfinite(v).all() for v in ck["model"].values())


def current_rss_kib() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def test_memory_stays_flat_on_a_long_stream():
    """1,000,000 characters as one sequence: truncated BPTT keeps memory bounded."""
    torch.manual_seed(0)
    ids = torch.randint(0, 50, (1_000_000,))
    model = LanguageModel(LMConfig(vocab_size=50, embed=16,
                                   encoder=EncoderConfig(cell="gru", hidden=64)))
    task = LMTask(ids, ids[:1000], batch_size=8, chunk_len=64)
    peaks = {}

    def record(event, row):
        if event == "log":
            peaks[row["step"]] = current_rss_kib()

    Trainer(model, task, TrainConfig(steps=300, log_every=50, eval_every=10_000),
            callbacks=[record]).fit()
    assert task.batcher.pos > 0
    growth_kib = peaks[300] - peaks[100]
    assert growth_kib < 20 * 1024, peaks  # < 20 MiB over 200 steps after warm-up


def test_keeps_the_last_k_numbered_checkpoints(tmp_path):
    model, task = lm_setup()
    Trainer(model, task, TrainConfig(steps=30, checkpoint_every=5, keep_checkpoints=2,
                                     eval_every=100), run_dir=tmp_path).fit()
    names = sorted(p.name for p in (tmp_path / "checkpoints").iterdir())
    assert names == ["best.safetensors", "last.safetensors", "step-00000025.safetensors",
                     "step-00000030.safetensors"]
    assert load_checkpoint(tmp_path / "checkpoints" / names[2])["trainer"]["step"] == 25


def test_checkpoint_from_another_model_is_rejected(tmp_path):
    import pytest

    from rnnkit.train.checkpoint import CheckpointError

    model, task = lm_setup()
    Trainer(model, task, TrainConfig(steps=5), run_dir=tmp_path).fit()
    other = LanguageModel(LMConfig(vocab_size=64, embed=8,
                                   encoder=EncoderConfig(cell="gru", hidden=24)))
    t = Trainer(other, task, TrainConfig(steps=5))
    with pytest.raises(CheckpointError, match="another model"):
        t.resume(tmp_path / "checkpoints" / "last.safetensors")
