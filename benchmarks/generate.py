"""One-to-many generation: names given a language, and captions of handwritten-digit images.

Both train through the library call behind ``rnnkit train generate``
(``rnnkit.fit("generate", ...)``) with the CLI's defaults, so this measures what

    rnnkit train generate --data ../shared/data/names-18lang/names --threads 1
    rnnkit train generate --data digits --threads 1

give. Names: (name, language) pairs deduplicated, then a seeded 10% of each language held out;
per-character validation perplexity (end token included) per language, against the same
model's perplexity with the language unknown (mixture over languages), and samples.
Digits: 1-4 digits of scikit-learn's 8x8 set side by side; the test composites only use the
20% of source images held out; exact match and token accuracy, greedy and beam 5.

    OMP_NUM_THREADS=1 python benchmarks/generate.py [--json results.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

import torch

import rnnkit
from rnnkit.tasks.generate.cli import format_report
from rnnkit.tasks.generate.task import DEFAULT_EPOCHS

NAMES = Path(__file__).resolve().parents[2] / "shared" / "data" / "names-18lang" / "names"


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def one(data: str, epochs: float, seed: int, out: str) -> dict:
    t0 = time.perf_counter()
    run = rnnkit.fit("generate", data={"data": data}, train={"epochs": epochs, "seed": seed},
                     out=out, device="cpu")
    wall = time.perf_counter() - t0
    summary = json.loads((run / "summary.json").read_text())
    report = json.loads((run / "report.json").read_text())
    cfg = json.loads((run / "config.json").read_text())
    print(f"\n== {data}: {summary['step']} steps, {summary['epoch']:.1f} epochs, "
          f"{summary['elapsed']:.0f} s training, {wall:.0f} s with data and reports; "
          f"{cfg['sizes']['parameters']:,} parameters")
    print(format_report(report), flush=True)
    return {"data": data, "epochs": epochs, "seed": seed, "steps": summary["step"],
            "train_seconds": summary["elapsed"], "wall_seconds": round(wall, 1),
            "best_val_loss": summary["best_val_loss"], "sizes": cfg["sizes"],
            "model": cfg["model"], "report": report}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--names", default=str(NAMES), help="folder of one names file per language")
    p.add_argument("--names-epochs", type=float, default=DEFAULT_EPOCHS["texts"])
    p.add_argument("--digits-epochs", type=float, default=DEFAULT_EPOCHS["digits"])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--only", choices=["names", "digits"], default=None)
    p.add_argument("--json", help="write the results here")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    machine = (f"{cpu_name()}, {args.threads} thread(s), torch {torch.__version__}, "
               f"python {platform.python_version()}")
    print(f"machine: {machine}", file=sys.stderr)
    results = {"machine": machine}
    with tempfile.TemporaryDirectory() as out:
        if args.only in (None, "digits"):
            results["digits"] = one("digits", args.digits_epochs, args.seed, out)
        if args.only in (None, "names"):
            results["names"] = one(args.names, args.names_epochs, args.seed, out)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n",
                                   encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
