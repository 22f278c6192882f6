"""Sentence polarity (rt-polarity / MR, Pang & Lee 2005): many-to-one classification quality.

No pretrained vectors (compare with Kim 2014's CNN-rand, 76.1% 10-fold accuracy). The split is
the fixed fold rule of ../shared/data/rt-polarity/SOURCE.md: within each file, line i (0-based)
is in fold i % 10; fold k is the test set, fold (k+1) % 10 the validation set (for the best
checkpoint), the other 8 folds the training set. ``--folds 0,1,...`` runs several folds.

The data are written as TSV files and trained through the public library calls the CLI uses
(``rnnkit.fit("classify", ...)``, ``rnnkit.load(run).evaluate(...)``), so this measures what
``rnnkit train classify`` gives.

The classifier has the n-gram branch by default (``--ngram-weight -1``: an NB logistic
regression on uni- and bigrams whose probabilities are averaged with the BiLSTM's, the weight
chosen on the validation fold); each fold's row then also gives the BiLSTM alone and the n-gram
model alone on the test and validation folds. ``--ngram-weight 0``: the BiLSTM alone.

    python benchmarks/classify_rt.py --folds 0
    python benchmarks/classify_rt.py --folds 0 --ngram-weight 0                 # BiLSTM alone
    python benchmarks/classify_rt.py --folds 0,1,2,3,4,5,6,7,8,9 --epochs 4
    python benchmarks/classify_rt.py --folds 0 --char-embed 50 --char-hidden 50   # + char features
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

import rnnkit
from rnnkit.data.tables import read_examples
from rnnkit.tasks.classify.branch import combine
from rnnkit.tasks.classify.data import label_ids, read_labelled

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "rt-polarity"


def write_folds(data: Path, fold: int, folder: Path) -> dict[str, Path]:
    examples = read_examples(data, encoding="latin-1")
    parts: dict[str, list] = {"train": [], "dev": [], "test": []}
    for e in examples:
        k = (e.line - 1) % 10
        parts["test" if k == fold else "dev" if k == (fold + 1) % 10 else "train"].append(e)
    paths = {}
    for name, rows in parts.items():
        paths[name] = folder / f"{name}.tsv"
        with open(paths[name], "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f, delimiter="\t")
            w.writerow(["text", "label"])
            w.writerows([e.text, e.label] for e in rows)
    return paths


def components(run: Path, test: Path, dev: dict) -> dict:
    """The recurrent model alone, the n-gram model alone and fixed-weight combinations on the
    test fold (the validation fold's are in the dev report)."""
    clf = rnnkit.load(run, device="cpu")
    examples = read_labelled(clf.data, str(test))
    gold = torch.as_tensor(label_ids(clf.labels, examples))
    parts = clf.component_proba([e.text for e in examples])

    def acc(p):
        return round((p.argmax(1) == gold).double().mean().item(), 4)

    return {"ngram_weight": dev["ngram_weight"], "test_rnn": acc(parts["rnn"]),
            "test_ngram": acc(parts["ngram"]), "dev_rnn": round(dev["rnn_accuracy"], 4),
            "dev_ngram": round(dev["ngram_accuracy"], 4),
            "test_by_weight": {w: acc(combine(parts["rnn"], parts["ngram"], w))
                               for w in (0.25, 0.5, 0.75)}}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default=str(DATA))
    p.add_argument("--folds", default="0", help="comma-separated test folds (0-9)")
    p.add_argument("--cell", default="lstm")
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--embed", type=int, default=128)
    p.add_argument("--embed-init", type=float, default=0.05)
    p.add_argument("--pooling", default="max")
    p.add_argument("--char-embed", type=int, default=0, help="char features (0: off)")
    p.add_argument("--char-hidden", type=int, default=50)
    p.add_argument("--embed-dropout", type=float, default=0.3)
    p.add_argument("--out-dropout", type=float, default=0.5)
    p.add_argument("--word-dropout", type=float, default=0.0)
    p.add_argument("--lm-pretrain-epochs", type=float, default=0.0,
                   help="language-model pretraining of embedding + encoder (0: off)")
    p.add_argument("--lm-pretrain-lr", type=float, default=0.0, help="0: --lr")
    p.add_argument("--lm-pretrain-vocab", type=int, default=5000)
    p.add_argument("--lm-pretrain-dropout", type=float, default=0.1)
    p.add_argument("--ngram-weight", type=float, default=-1.0,
                   help="weight of the n-gram (NB logistic regression) branch's probabilities "
                   "(0: off, -1: chosen on the validation fold)")
    p.add_argument("--ngram-n", type=int, default=2)
    p.add_argument("--ngram-l2", type=float, default=1e-4)
    p.add_argument("--ngram-loss", default="logistic")
    p.add_argument("--ngram-beta", type=float, default=1.0)
    p.add_argument("--min-freq", type=int, default=1)
    p.add_argument("--tokenizer", default="whitespace", help="the files are already tokenised")
    p.add_argument("--bpe-size", type=int, default=4000)
    p.add_argument("--epochs", type=float, default=6)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--weight-decay", type=float, default=0.01)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--backend", default="auto")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="keep the run folders here (default: temporary)")
    args = p.parse_args(argv)
    if not Path(args.data).is_dir():
        print(f"skipped: {args.data} not found", file=sys.stderr)
        return 0
    torch.set_num_threads(args.threads)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(args.out) if args.out else Path(tmp) / "runs"
        for fold in [int(k) for k in args.folds.split(",")]:
            folder = Path(tmp) / f"fold{fold}"
            folder.mkdir()
            paths = write_folds(Path(args.data), fold, folder)
            data = {"data": str(paths["train"]), "dev": str(paths["dev"]),
                    "tokenizer": args.tokenizer, "min_freq": args.min_freq,
                    "bpe_size": args.bpe_size, "batch_size": args.batch_size,
                    "word_dropout": args.word_dropout}
            enc = {"cell": args.cell, "hidden": args.hidden, "bidirectional": True,
                   "backend": args.backend}
            ngram = {"weight": args.ngram_weight, "n": args.ngram_n, "l2": args.ngram_l2,
                     "loss": args.ngram_loss, "beta": args.ngram_beta}
            model = {"embed": args.embed, "embed_init": args.embed_init, "encoder": enc,
                     "pooling": args.pooling, "char_embed": args.char_embed,
                     "char_hidden": args.char_hidden, "embed_dropout": args.embed_dropout,
                     "out_dropout": args.out_dropout,
                     "lm_pretrain_epochs": args.lm_pretrain_epochs,
                     "lm_pretrain_lr": args.lm_pretrain_lr,
                     "lm_pretrain_vocab": args.lm_pretrain_vocab,
                     "lm_pretrain_dropout": args.lm_pretrain_dropout, "ngram": ngram}
            n_train = sum(1 for _ in open(paths["train"])) - 1
            steps_per_epoch = -(-n_train // args.batch_size)
            train = {"lr": args.lr, "epochs": args.epochs, "weight_decay": args.weight_decay,
                     "warmup_steps": 50, "eval_every": max(1, steps_per_epoch // 2),
                     "log_every": 50, "seed": args.seed}
            t0 = time.perf_counter()
            run = rnnkit.fit("classify", data=data, model=model, train=train, out=out,
                             device="cpu")
            wall = time.perf_counter() - t0
            test = rnnkit.load(run, device="cpu").evaluate(paths["test"])
            dev = json.loads((run / "dev_report.json").read_text())
            summary = json.loads((run / "summary.json").read_text())
            row = {"fold": fold, "test_acc": test["accuracy"], "test_macro_f1": test["macro_f1"],
                   "dev_acc": dev["accuracy"], "n_test": test["n"], "steps": summary["step"],
                   "train_s": summary["elapsed"], "wall_s": round(wall, 1)}
            if "components" in dev:
                row |= components(run, paths["test"], dev["components"])
            pre = run / "lm_pretrain" / "summary.json"
            if pre.is_file():
                pre = json.loads(pre.read_text())
                row |= {"lm_pretrain_s": pre["elapsed"], "lm_val_ppl": round(pre["final_ppl"], 1)}
            results.append(row)
            print(json.dumps(row), flush=True)
    accs = [r["test_acc"] for r in results]
    devs = [r["dev_acc"] for r in results]
    if all("test_rnn" in r for r in results):
        print("components, mean test / dev accuracy: recurrent "
              f"{statistics.mean(r['test_rnn'] for r in results):.4f} / "
              f"{statistics.mean(r['dev_rnn'] for r in results):.4f}, n-gram "
              f"{statistics.mean(r['test_ngram'] for r in results):.4f} / "
              f"{statistics.mean(r['dev_ngram'] for r in results):.4f}")
    print(f"rt-polarity folds {args.folds}: test accuracy mean {statistics.mean(accs):.4f}"
          + (f" (std {statistics.stdev(accs):.4f})" if len(accs) > 1 else "")
          + f"; {platform.processor() or platform.machine()}, torch {torch.__version__}, "
          f"{args.threads} threads; dev accuracy mean {statistics.mean(devs):.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
