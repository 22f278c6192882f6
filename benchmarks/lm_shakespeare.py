"""Character language model on tiny-shakespeare with a wall-clock budget.

First 90% of ../shared/data/tinyshakespeare/input.txt trains, the last 10% validates (the
nanoGPT shakespeare_char split). Prints the validation loss in nats/char over the whole
validation split, bits/char, and training characters/s.

    python benchmarks/lm_shakespeare.py --minutes 3
    python benchmarks/lm_shakespeare.py --minutes 15
    python benchmarks/lm_shakespeare.py --minutes 3 --cell gru --hidden 768   # any train-lm option

Options not given here take rnnkit's defaults (those of a plain `rnnkit train lm`).
The time budget covers training (interval validations included); the final validation over the
whole split runs after it and is reported separately.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "shared" / "data" / "tinyshakespeare" / "input.txt"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--minutes", type=float, default=3.0)
    p.add_argument("--data", default=str(DATA))
    p.add_argument("--out", default="runs/bench")
    args, rest = p.parse_known_args(argv)
    if not Path(args.data).is_file():
        print(f"skipped: {args.data} not found", file=sys.stderr)
        return 0
    from rnnkit.cli.main import main as cli

    t0 = time.time()
    code = cli(["train", "lm", "--data", args.data, "--minutes", str(args.minutes),
                "--out", args.out, "--sample-length", "300", *rest])
    if code:
        return code
    run = max(Path(args.out).iterdir(), key=lambda d: d.stat().st_mtime)
    summary = json.loads((run / "summary.json").read_text())
    cfg = json.loads((run / "config.json").read_text())
    chars_per_s = cfg["sizes"]["train_tokens"] * summary["epoch"] / summary["elapsed"]
    result = {
        "run": str(run), "minutes": args.minutes, "args": rest,
        "val_loss_nats_per_char": round(summary["final_loss"], 4),
        "val_bpc": round(summary["final_bpc"], 4),
        "best_val_loss": round(summary["best_val_loss"], 4),
        "train_chars_per_s": round(chars_per_s),
        "steps": summary["step"], "epochs": round(summary["epoch"], 3),
        "wall_s_total": round(time.time() - t0, 1),
    }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
