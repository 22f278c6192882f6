"""Processes and precision on one machine: the same `rnnkit train lm` command on tiny-shakespeare

* on 1 process and on N processes (torchrun, gloo), one thread each: training characters/s
  and the scaling efficiency (N-process speed / (N x 1-process speed)), with the final
  validation loss of each (the same global batch: they should agree);
* in fp32 and in bf16 autocast on one process: characters/s and the validation loss after the
  same steps.

    python benchmarks/scaling.py                       # 150 steps, rnnkit's default model
    python benchmarks/scaling.py --steps 100 --processes 2 --hidden 256

Runs one after the other (never at once), so the figures are comparable; every row also
prints the machine's AVX-512 flags. The data are read from ../shared/data (skipped when
absent); the first 90% trains, the last 10% validates.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "shared" / "data" / "tinyshakespeare" / "input.txt"


def cpu_flags() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return "unknown"
    flags = sorted({f for f in text.split() if f.startswith("avx512")})
    return " ".join(flags) or "no AVX-512"


def run(args: list[str], processes: int, out: Path, threads: int = 1) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    base = [sys.executable, "-m", "rnnkit", *args]
    if processes > 1:
        base = [sys.executable, "-m", "torch.distributed.run", "--standalone",
                f"--nproc-per-node={processes}", "-m", "rnnkit", *args]
    proc = subprocess.run([*base, "--out", str(out), "--threads", str(threads)], env=env,
                          capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(proc.stderr[-3000:])
    (folder,) = list(out.iterdir())
    summary = json.loads((folder / "summary.json").read_text())
    cfg = json.loads((folder / "config.json").read_text())
    chars = cfg["sizes"]["train_tokens"] * summary["epoch"]
    return {"processes": processes, "precision": cfg["train"]["precision"],
            "steps": summary["step"], "train_s": summary["elapsed"],
            "chars_per_s": round(chars / summary["elapsed"]),
            "val_loss": round(summary["final_loss"], 4)}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--steps", type=int, default=150)
    p.add_argument("--processes", type=int, default=2)
    p.add_argument("--data", default=str(DATA))
    args, rest = p.parse_known_args(argv)
    if not Path(args.data).is_file():
        print(f"skipped: {args.data} not found", file=sys.stderr)
        return 0
    text = Path(args.data).read_text(encoding="utf-8")
    cut = int(len(text) * 0.9)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "train.txt").write_text(text[:cut], encoding="utf-8")
        (tmp / "val.txt").write_text(text[cut:], encoding="utf-8")
        cmd = ["train", "lm", "--data", str(tmp / "train.txt"), "--val-data",
               str(tmp / "val.txt"), "--steps", str(args.steps), "--sample-length", "0",
               "--device", "cpu", "--eval-every", str(args.steps), *rest]
        rows = [run(cmd, 1, tmp / "one"), run(cmd, args.processes, tmp / "many")]
        rows.append(run([*cmd, "--precision", "bf16"], 1, tmp / "bf16"))
        rows.append(run(cmd, 1, tmp / "fp32-again", threads=args.processes))
        rows.append(run([*cmd, "--precision", "bf16"], 1, tmp / "bf16-again",
                        threads=args.processes))
    print(f"machine: {os.cpu_count()} cores; {cpu_flags()}")
    print(f"{'processes':>9} {'threads':>7} {'precision':>9} {'steps':>5} {'train s':>8} "
          f"{'chars/s':>8} {'val loss':>8}")
    threads = [1, 1, 1, args.processes, args.processes]
    for r, t in zip(rows, threads):
        print(f"{r['processes']:>9} {t:>7} {r['precision']:>9} {r['steps']:>5} "
              f"{r['train_s']:>8.1f} {r['chars_per_s']:>8} {r['val_loss']:>8.4f}")
    one, many = rows[0]["chars_per_s"], rows[1]["chars_per_s"]
    print(f"scaling efficiency ({args.processes} processes, 1 thread each): "
          f"{many / (args.processes * one):.2f}")
    print(f"bf16 / fp32 speed, 1 thread: {rows[2]['chars_per_s'] / one:.2f}; "
          f"{args.processes} threads: {rows[4]['chars_per_s'] / rows[3]['chars_per_s']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
