"""UD English EWT (v2.16) UPOS tagging: synchronous many-to-many quality and training time.

Trains on the official train file, keeps the checkpoint with the best validation loss on the
official dev file, and reports UPOS accuracy on the official test file (gold tokenisation),
through the public library calls the CLI uses (``rnnkit.fit("tag", ...)``,
``rnnkit.load(run).evaluate``).

    python benchmarks/tag_ewt.py                      # BiLSTM + char BiLSTM word features
    python benchmarks/tag_ewt.py --char-embed 0       # words only
    python benchmarks/tag_ewt.py --crf                # CRF output layer
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

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "ud-english-ewt"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default=str(DATA))
    p.add_argument("--column", default="upos")
    p.add_argument("--cell", default="lstm")
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--layers", type=int, default=1)
    p.add_argument("--embed", type=int, default=100)
    p.add_argument("--embed-init", type=float, default=0.05)
    p.add_argument("--char-embed", type=int, default=50)
    p.add_argument("--char-hidden", type=int, default=50)
    p.add_argument("--crf", action="store_true")
    p.add_argument("--lowercase", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--word-dropout", type=float, default=0.1)
    p.add_argument("--embed-dropout", type=float, default=0.3)
    p.add_argument("--out-dropout", type=float, default=0.3)
    p.add_argument("--epochs", type=float, default=6)
    p.add_argument("--minutes", type=float, default=None)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--backend", default="auto")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="keep the run folder here (default: temporary)")
    args = p.parse_args(argv)
    root = Path(args.data)
    if not root.is_dir():
        print(f"skipped: {root} not found", file=sys.stderr)
        return 0
    torch.set_num_threads(args.threads)
    data = {"data": str(root / "en_ewt-ud-train.conllu.gz"),
            "dev": str(root / "en_ewt-ud-dev.conllu.gz"), "column": args.column,
            "lowercase": args.lowercase, "batch_size": args.batch_size,
            "word_dropout": args.word_dropout}
    enc = {"cell": args.cell, "hidden": args.hidden, "layers": args.layers,
           "bidirectional": True, "backend": args.backend}
    model = {"embed": args.embed, "embed_init": args.embed_init, "encoder": enc,
             "char_embed": args.char_embed, "char_hidden": args.char_hidden, "crf": args.crf,
             "embed_dropout": args.embed_dropout, "out_dropout": args.out_dropout}
    budget = {"minutes": args.minutes} if args.minutes else {"epochs": args.epochs}
    train = {"lr": args.lr, "warmup_steps": 100, "eval_every": 200, "log_every": 50,
             "seed": args.seed, **budget}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(args.out) if args.out else Path(tmp)
        t0 = time.perf_counter()
        run = rnnkit.fit("tag", data=data, model=model, train=train, out=out, device="cpu")
        wall = time.perf_counter() - t0
        test = rnnkit.load(run, device="cpu").evaluate(root / "en_ewt-ud-test.conllu.gz")
        dev = json.loads((run / "dev_report.json").read_text())
        summary = json.loads((run / "summary.json").read_text())
    row = {"test_upos_acc": round(test["accuracy"], 4), "dev_upos_acc": round(dev["accuracy"], 4),
           "test_words": test["n"], "steps": summary["step"],
           "epochs": round(summary["epoch"], 2), "train_s": summary["elapsed"],
           "wall_s": round(wall, 1)}
    print(json.dumps(row))
    print(f"EWT {args.column} test accuracy {test['accuracy']:.4f}; "
          f"{platform.processor() or platform.machine()}, torch {torch.__version__}, "
          f"{args.threads} threads")
    return 0


if __name__ == "__main__":
    sys.exit(main())
