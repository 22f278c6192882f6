"""Multi30k German -> English translation (delayed many-to-many) quality and training time.

The published reference (../shared/data/multi30k/SOURCE.md, bentrevett/pytorch-seq2seq notebook
3): a bidirectional GRU encoder with a Bahdanau-attention GRU decoder, emb 256, hidden 512,
dropout 0.5, batch 128, Adam 1e-3, clip 1, 10 epochs, lowercased spaCy tokens, min_freq 2,
greedy decoding: 28.30 BLEU (tokenised, lowercased, one reference) on test_2016_flickr.

This trains the same architecture through the public library call the CLI uses
(``rnnkit.fit("seq2seq")``; rnnkit's regex tokeniser instead of spaCy) on train, picks the
checkpoint with the best validation loss on val, and scores test_2016_flickr with greedy and
beam search: the tokenised lowercase BLEU of that protocol and sacreBLEU (13a,
case-insensitive) of the detokenised output against the raw references.

    python benchmarks/multi30k.py                      # the published recipe, 10 epochs
    python benchmarks/multi30k.py --epochs 1 --hidden 128   # a quick look
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import torch

import rnnkit
from rnnkit.data.lines import read_lines

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "multi30k" / "raw"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=DATA)
    p.add_argument("--src-lang", default="de")
    p.add_argument("--tgt-lang", default="en")
    p.add_argument("--epochs", type=float, default=10.0)
    p.add_argument("--minutes", type=float, default=None, help="wall-clock cap on training")
    p.add_argument("--hidden", type=int, default=512)
    p.add_argument("--embed", type=int, default=256)
    p.add_argument("--attention", default="additive")
    p.add_argument("--teacher-forcing", type=float, default=1.0)
    p.add_argument("--label-smoothing", type=float, default=0.0)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--dropout", type=float, default=0.5)
    p.add_argument("--beam", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", default="runs/bench-multi30k")
    p.add_argument("--resume", default=None, help="continue this run folder")
    p.add_argument("--score-only", default=None, metavar="RUN", help="only score this run")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    d, s, t = args.data, args.src_lang, args.tgt_lang
    t0 = time.time()
    if args.score_only:
        run = Path(args.score_only)
    else:
        data = {"src": str(d / f"train.{s}.gz"), "tgt": str(d / f"train.{t}.gz"),
                "dev_src": str(d / f"val.{s}.gz"), "dev_tgt": str(d / f"val.{t}.gz"),
                "min_freq": 2, "lowercase": True, "batch_size": 128,
                "teacher_forcing": args.teacher_forcing,
                "label_smoothing": args.label_smoothing, "report_beam": args.beam}
        model = {"embed": args.embed,
                 "encoder": {"cell": "gru", "hidden": args.hidden, "bidirectional": True},
                 "decoder_hidden": args.hidden, "attention": args.attention,
                 "attention_size": args.hidden, "dropout": args.dropout}
        train = {"lr": args.lr, "epochs": args.epochs, "minutes": args.minutes,
                 "clip_norm": 1.0, "warmup_steps": 100, "log_every": 50}

        def show(event: str, row: dict) -> None:
            if event == "eval":
                print(json.dumps({k: round(v, 4) if isinstance(v, float) else v
                                  for k, v in row.items()}), flush=True)

        run = rnnkit.fit("seq2seq", data=data, model=model, train=train, out=args.out,
                         resume=args.resume, callbacks=[show], device="cpu")
    train_s = time.time() - t0
    tr = rnnkit.load(run, device="cpu")
    src = read_lines(d / f"test_2016_flickr.{s}.gz")
    ref = read_lines(d / f"test_2016_flickr.{t}.gz")
    result = {"run": str(run), "train_and_dev_scoring_s": round(train_s, 1),
              "machine": f"{platform.processor() or platform.machine()}, "
                         f"{torch.get_num_threads()} threads, torch {torch.__version__}",
              "summary": json.loads((run / "summary.json").read_text())}
    for beam in (1, args.beam):
        t1 = time.time()
        rep = tr.score_translations(src, ref, beam=beam)
        result[f"test2016_beam{beam}"] = {
            "bleu_tok": round(rep["bleu_tok"]["bleu"], 2),
            "bp": round(rep["bleu_tok"]["bp"], 3),
            "sacrebleu": round(rep["sacrebleu"]["bleu"], 2) if "sacrebleu" in rep else None,
            "signature": rep.get("sacrebleu", {}).get("signature"),
            "decode_s": round(time.time() - t1, 1)}
        (run / f"test2016_beam{beam}.txt").write_text("\n".join(rep["hypotheses"]) + "\n")
    (run / "benchmark.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
