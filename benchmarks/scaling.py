"""Processes and precision on one machine: the same `rnnkit train lm` command on tiny-shakespeare

* on 1 process and on N processes (torchrun, gloo), one thread each: training characters/s
  and the scaling efficiency (N-process speed / (N x 1-process speed)), with the final
  validation loss of each (the same global batch: they should agree);
* in fp32 and in bf16 autocast on one process: characters/s and the validation loss after the
  same steps.

    python benchmarks/scaling.py                       # 150 steps, rnnkit's default model
    python benchmarks/scaling.py --steps 100 --processes 2 --hidden 256
    python benchmarks/scaling.py --steps 100 --only precision --isa avx2   # as without AVX-512

``--isa avx2`` runs every row as a machine without AVX-512 (and so without AVX-512-BF16)
would: oneDNN is capped with ``ONEDNN_MAX_CPU_ISA=AVX2`` and PyTorch's own kernels with
``ATEN_CPU_CAPABILITY=avx2``, so bf16 matrix products lose their native instructions.

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

from machine import cpu_flags

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "shared" / "data" / "tinyshakespeare" / "input.txt"


ISA_ENV = {"avx2": {"ONEDNN_MAX_CPU_ISA": "AVX2", "ATEN_CPU_CAPABILITY": "avx2"}}
ISA: dict[str, str] = {}  # the environment of --isa, for every row


def run(args: list[str], processes: int, out: Path, threads: int = 1) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), **ISA)
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
    p.add_argument("--only", choices=["processes", "precision"], default=None,
                   help="only the 1-vs-N-processes rows or only the fp32-vs-bf16 rows")
    p.add_argument("--isa", choices=sorted(ISA_ENV), default=None,
                   help="run as a CPU with at most this instruction set (see above)")
    args, rest = p.parse_known_args(argv)
    ISA.update(ISA_ENV.get(args.isa, {}))
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
        rows = [(1, run(cmd, 1, tmp / "one"))]
        if args.only != "precision":
            rows.append((1, run(cmd, args.processes, tmp / "many")))
        if args.only != "processes":
            rows.append((1, run([*cmd, "--precision", "bf16"], 1, tmp / "bf16")))
            rows.append((args.processes, run(cmd, 1, tmp / "fp32-2", threads=args.processes)))
            rows.append((args.processes, run([*cmd, "--precision", "bf16"], 1, tmp / "bf16-2",
                                             threads=args.processes)))
    print(f"machine: {os.cpu_count()} cores; {cpu_flags()}"
          + (f"; run as --isa {args.isa} ({' '.join(f'{k}={v}' for k, v in ISA.items())})"
             if args.isa else ""))
    print(f"{'processes':>9} {'threads':>7} {'precision':>9} {'steps':>5} {'train s':>8} "
          f"{'chars/s':>8} {'val loss':>8}")
    for t, r in rows:
        print(f"{r['processes']:>9} {t:>7} {r['precision']:>9} {r['steps']:>5} "
              f"{r['train_s']:>8.1f} {r['chars_per_s']:>8} {r['val_loss']:>8.4f}")
    speed = {(r["processes"], t, r["precision"]): r["chars_per_s"] for t, r in rows}
    one = speed[(1, 1, "fp32")]
    if (args.processes, 1, "fp32") in speed:
        print(f"scaling efficiency ({args.processes} processes, 1 thread each): "
              f"{speed[(args.processes, 1, 'fp32')] / (args.processes * one):.2f}")
    if (1, 1, "bf16") in speed:
        n = args.processes
        print(f"bf16 / fp32 speed, 1 thread: {speed[(1, 1, 'bf16')] / one:.2f}; {n} threads: "
              f"{speed[(1, n, 'bf16')] / speed[(1, n, 'fp32')]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
