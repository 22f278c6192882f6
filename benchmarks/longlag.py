"""Long time-lag benchmark: which cells learn the adding problem (or the copy task)?

Each cell trains for the same wall-clock budget on freshly drawn batches; the final test loss
(1000 held-out sequences) is compared with the memoryless baseline (adding: MSE 0.167 for
always predicting 1; copy: 10 log 8 / (T + 20)). The gradient-decay plot shows ||dL/dh_t||
against the distance from the last step, before (dashed) and after (solid) training.

    python benchmarks/longlag.py                         # adding, T=100, rnn/lstm/gru, 4 min each
    python benchmarks/longlag.py --minutes 2 --T 50,100  # any `rnnkit bench longlag` option
    python benchmarks/longlag.py --task copy --T 50 --lr 1e-3

Prints the table of `rnnkit bench longlag`, then one JSON line per run with the loss as a ratio
of the baseline (our loss / baseline: below 0.06 means the lag was learned).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

DEFAULTS = ["--task", "adding", "--T", "100", "--cells", "rnn,lstm,gru", "--minutes", "4",
            "--hidden", "128", "--batch-size", "64", "--lr", "3e-3", "--clip-norm", "1.0"]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--out", default="runs/bench-longlag")
    args, rest = p.parse_known_args(argv)
    given = {a.split("=")[0] for a in rest if a.startswith("--")}
    if "--steps" in given:
        given.add("--minutes")
    merged = []
    for i in range(0, len(DEFAULTS), 2):
        if DEFAULTS[i] not in given:
            merged += DEFAULTS[i : i + 2]
    from rnnkit.cli.main import main as cli

    t0 = time.time()
    code = cli(["bench", "longlag", *merged, *rest, "--out", args.out])
    if code:
        return code
    results = json.loads((Path(args.out) / "results.json").read_text())
    for r in results["rows"]:
        print(json.dumps({"cell": r["cell"], "T": r["T"], "steps": r["steps"],
                          "test_loss": round(r["loss"], 5), "baseline": round(r["baseline"], 5),
                          "ratio_to_baseline": round(r["loss"] / r["baseline"], 4),
                          "grad_ratio_first_step": r["grad_ratio"], "wall_s": r["wall_s"]}))
    print(f"total wall time {time.time() - t0:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
