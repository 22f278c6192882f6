"""Kill training with SIGKILL at random moments, resume, and compare with an uninterrupted run.

A small character model trains for a step budget with a checkpoint every few steps. The
reference run trains uninterrupted. The other run is started, killed with SIGKILL after a random
delay (some kills land during a checkpoint write), resumed with `rnnkit train lm --resume`, killed
again, ... until it finishes. Then:

* corrupted checkpoints: after every kill, `last.safetensors` must load (must be 0);
* mismatches: final weights must be bitwise equal to the reference, and the logged training
  losses identical (must be 0).

    python benchmarks/kill_resume.py --kills 20
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from rnnkit.train.checkpoint import CheckpointError, load_checkpoint


def make_corpus(path: Path, n_chars: int = 200_000) -> None:
    g = random.Random(0)
    words = ["the", "cat", "sat", "on", "a", "mat", "and", "dog", "ran", "far", "away", "from",
             "home", "to", "see", "sea", "by", "night"]
    lines, size = [], 0
    while size < n_chars:
        line = " ".join(g.choice(words) for _ in range(g.randint(3, 12))) + "."
        lines.append(line)
        size += len(line) + 1
    path.write_text("\n".join(lines) + "\n")


def command(data: Path, out: Path, steps: int) -> list[str]:
    return [sys.executable, "-m", "rnnkit", "train", "lm", "--data", str(data), "--out", str(out),
            "--steps", str(steps), "--hidden", "128", "--embed", "32", "--batch-size", "16",
            "--chunk-len", "64", "--checkpoint-every", "3", "--log-every", "3", "--eval-every",
            "30", "--sample-length", "0", "--threads", "1", "--out-dropout", "0.2"]


def run_dir(out: Path) -> Path | None:
    runs = list(out.iterdir()) if out.exists() else []
    return runs[0] if runs else None


def losses(run: Path) -> list[tuple[str, str]]:
    with open(run / "log.csv", newline="") as f:
        return [(r["step"], r["train_loss"]) for r in csv.DictReader(f) if r.get("train_loss")]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--kills", type=int, default=20, help="kill at least this many times")
    p.add_argument("--steps", type=int, default=240)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-delay", type=float, default=5.0, help="seconds before a kill, at most")
    args = p.parse_args(argv)
    rng = random.Random(args.seed)
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        data = tmp / "corpus.txt"
        make_corpus(data)
        t0 = time.time()
        subprocess.run(command(data, tmp / "ref", args.steps), env=env, check=True,
                       capture_output=True)
        ref_seconds = time.time() - t0
        kills = resumes = corrupted = during_save = 0
        out = tmp / "killed"
        while True:
            run = run_dir(out)
            cmd = command(data, out, args.steps)
            if run is not None:
                cmd = [sys.executable, "-m", "rnnkit", "train", "lm", "--resume", str(run),
                       "--sample-length", "0", "--threads", "1"]
                resumes += 1
            proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.PIPE)
            delay = rng.uniform(0.5, args.max_delay) if kills < args.kills else 1e9
            try:
                proc.wait(timeout=delay)
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                kills += 1
                run = run_dir(out)
                if run is not None and list((run / "checkpoints").glob(".*.tmp-*")):
                    during_save += 1  # a temporary checkpoint file was being written
                last = run / "checkpoints" / "last.safetensors" if run else None
                if last is not None and last.exists():
                    try:
                        load_checkpoint(last)
                    except CheckpointError:
                        corrupted += 1
                continue
            if proc.returncode != 0:
                print(proc.stderr.read().decode(), file=sys.stderr)
                return 1
            break
        run, ref = run_dir(out), run_dir(tmp / "ref")
        a = load_checkpoint(run / "checkpoints" / "last.safetensors")["model"]
        b = load_checkpoint(ref / "checkpoints" / "last.safetensors")["model"]
        mismatched = [k for k in b if not torch.equal(a[k], b[k])]
        loss_mismatch = losses(run) != losses(ref)
    print(f"steps {args.steps}, uninterrupted run {ref_seconds:.1f}s")
    print(f"kills {kills} ({during_save} during a checkpoint write), resumes {resumes}, "
          f"corrupted checkpoints {corrupted}, "
          f"weight mismatches {len(mismatched)}, loss-curve mismatch {int(loss_mismatch)}")
    return 0 if not (corrupted or mismatched or loss_mismatch) else 1


if __name__ == "__main__":
    sys.exit(main())
