"""Many processes through torchrun (gloo on this CPU): the same command trains the same model on
1 and 2 processes, a run of 2 resumes on 1, a dead process stops the job with the last
checkpoint intact, and resuming on as many processes replays the same steps bitwise."""

import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from rnnkit.train.checkpoint import load_checkpoint

WORKER = Path(__file__).with_name("dist_worker.py")
pytestmark = pytest.mark.skipif(shutil.which("torchrun") is None and
                                not (Path(sys.executable).parent / "torchrun").exists(),
                                reason="torchrun is not installed")


def _env(**extra):
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    env.pop("WORLD_SIZE", None)
    return env | extra


def _run(args, nproc, cwd, **env):
    if nproc == 1:
        cmd = [sys.executable, str(WORKER), *args]
    else:
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               f"--nproc-per-node={nproc}", str(WORKER), *args]
    return subprocess.run(cmd, cwd=cwd, env=_env(**env), capture_output=True, text=True,
                          timeout=240)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("dist")
    rng = random.Random(0)
    words = "the quick brown fox jumps over the lazy dog and runs to the river bank".split()
    (d / "t.txt").write_text("\n".join(" ".join(rng.choice(words) for _ in range(12))
                                       for _ in range(400)))
    rows = ["text,label"]
    for i in range(96):
        good = i % 2
        w = rng.sample(["good", "great", "fine", "nice"] if good else ["bad", "awful", "dull"], 2)
        rows.append(f"the film was {w[0]} and {w[1]},{'pos' if good else 'neg'}")
    (d / "c.csv").write_text("\n".join(rows) + "\n")
    return d


LM = ["train", "lm", "--data", "t.txt", "--batch-size", "16", "--steps", "40", "--hidden",
      "32", "--embed", "16", "--chunk-len", "32", "--sample-length", "0", "--log-every",
      "10", "--device", "cpu"]


def _only(folder: Path) -> Path:
    (run,) = [p for p in folder.iterdir() if p.is_dir()]
    return run


def _summary(run: Path) -> dict:
    return json.loads((run / "summary.json").read_text())


def test_lm_on_two_processes_trains_what_one_trains(data):
    for n in (1, 2):
        p = _run([*LM, "--out-dropout", "0", "--out", f"lm{n}"], n, data)
        assert p.returncode == 0, p.stderr[-3000:]
    one, two = _only(data / "lm1"), _only(data / "lm2")
    cfg = json.loads((two / "config.json").read_text())
    assert cfg["world_size"] == 2 and cfg["data"]["batch_size"] == 16  # the global batch
    assert _summary(two)["step"] == 40
    a, b = _summary(one)["final_loss"], _summary(two)["final_loss"]
    assert b == pytest.approx(a, rel=1e-4)  # no dropout: the same model up to rounding
    wa = load_checkpoint(one / "checkpoints" / "last.safetensors")["model"]
    wb = load_checkpoint(two / "checkpoints" / "last.safetensors")["model"]
    for k in wa:
        torch.testing.assert_close(wa[k], wb[k], rtol=1e-3, atol=1e-4)
    assert not list((data / "lm2").glob("*/checkpoints/*.tmp*"))  # one writer, whole files


def test_two_process_run_resumes_on_one(data):
    run = _only(data / "lm2")
    cfg = json.loads((run / "config.json").read_text())
    cfg["train"]["steps"] = 50
    (run / "config.json").write_text(json.dumps(cfg))
    p = _run(["train", "lm", "--resume", str(run), "--sample-length", "0"], 1, data)
    assert p.returncode == 0, p.stderr[-3000:]
    assert _summary(run)["step"] == 50


def test_classifier_on_two_processes(data):
    base = ["train", "classify", "--data", "c.csv", "--steps", "24", "--hidden", "8",
            "--embed", "8", "--batch-size", "8", "--embed-dropout", "0", "--out-dropout", "0",
            "--ngram-weight", "0", "--lr", "0.01", "--device", "cpu"]
    for n in (1, 2):
        p = _run([*base, "--out", f"c{n}"], n, data)
        assert p.returncode == 0, p.stderr[-3000:]
    a = _summary(_only(data / "c1"))["final_loss"]
    b = _summary(_only(data / "c2"))["final_loss"]
    assert b == pytest.approx(a, rel=1e-4)


def test_a_dead_process_stops_the_job_and_resuming_is_exact(data):
    args = [*LM, "--checkpoint-every", "10", "--eval-every", "100"]
    full = _run([*args, "--out", "full"], 2, data)
    assert full.returncode == 0, full.stderr[-3000:]
    died = _run([*args, "--out", "cut"], 2, data, CRASH_AT_STEP="20", CRASH_RANK="1")
    assert died.returncode != 0
    assert "another process of this run stopped" in died.stderr
    run = _only(data / "cut")
    ck = load_checkpoint(run / "checkpoints" / "last.safetensors")
    assert ck["trainer"]["step"] == 20 and ck["world_size"] == 2  # intact, readable
    again = _run(["train", "lm", "--resume", str(run), "--sample-length", "0"], 2, data)
    assert again.returncode == 0, again.stderr[-3000:]
    wa = load_checkpoint(_only(data / "full") / "checkpoints" / "last.safetensors")["model"]
    wb = load_checkpoint(run / "checkpoints" / "last.safetensors")["model"]
    assert wa.keys() == wb.keys()
    for k in wa:
        assert torch.equal(wa[k], wb[k]), k  # the same steps, the same dropout masks


def test_a_process_ended_by_sigterm_says_so_and_where_to_continue(data):
    """torchrun SIGTERMs the others when one process stops; one that is not inside a
    collective then must still say why it stopped (it used to vanish without a word)."""
    args = [*LM, "--checkpoint-every", "10", "--eval-every", "100", "--out", "term"]
    p = _run(args, 2, data, CRASH_AT_STEP="20", CRASH_RANK="0", CRASH_SIGNAL="TERM")
    assert p.returncode != 0
    run = _only(data / "term")
    assert "process 0: ended by SIGTERM" in p.stderr, p.stderr[-3000:]
    assert f"continue it with `rnnkit train lm --resume term/{run.name}`" in p.stderr
    assert load_checkpoint(run / "checkpoints" / "last.safetensors")["trainer"]["step"] == 20


def test_settings_that_cannot_be_shared_stop_every_process_with_a_clear_error(data):
    bad = [a if a != "16" else "15" for a in LM]  # 15 streams on 2 processes
    p = _run([*bad, "--out", "bad"], 2, data)
    assert p.returncode != 0
    assert "--batch-size 15 streams cannot be shared by 2 processes" in p.stderr
    # the other process (when torchrun has not stopped it first) points at no run to resume
    assert "--resume" not in p.stderr
