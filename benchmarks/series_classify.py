"""Numeric-series classification: rnnkit's recurrent classifier next to 1-NN DTW (numpy, this
file) and MiniRocket (aeon, when installed) on the official UCR/UEA train/test splits.

Our classifier picks its best checkpoint on a seeded 10% of TRAIN (never on TEST), then is
scored once on TEST.

    OMP_NUM_THREADS=1 python benchmarks/series_classify.py --data ../shared/data/timeseries \
        [--sets GunPoint,ArrowHead,JapaneseVowels,BasicMotions] [--seeds 0,1,2] [--minutes 2]
        [--no-peers]
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

import rnnkit
from rnnkit.data.series import read_series
from rnnkit.tasks.common.mixing import accuracy, combine


def znorm(x: np.ndarray) -> np.ndarray:
    s = x.std(0)
    return (x - x.mean(0)) / np.where(s > 1e-8, s, 1.0)


def dtw_to_all(q: np.ndarray, X: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Dependent DTW (squared Euclidean over all dimensions, no window) from q (Tq, F) to
    each of X (N, T, F) with its own length; vectorised over N."""
    N, T, _ = X.shape
    cost = ((q[None, :, None, :] - X[:, None, :, :]) ** 2).sum(-1)  # (N, Tq, T)
    D = np.full((N, len(q) + 1, T + 1), np.inf)
    D[:, 0, 0] = 0.0
    for i in range(1, len(q) + 1):
        for j in range(1, T + 1):
            D[:, i, j] = cost[:, i - 1, j - 1] + np.minimum(
                np.minimum(D[:, i - 1, j], D[:, i, j - 1]), D[:, i - 1, j - 1])
    return D[np.arange(N), len(q), lengths]


def one_nn_dtw(train, y_train, test, z: bool = False) -> list:
    T = max(len(x) for x in train)
    X = np.zeros((len(train), T, train[0].shape[1]))
    for n, x in enumerate(train):
        X[n, : len(x)] = znorm(x) if z else x
    lengths = np.array([len(x) for x in train])
    return [y_train[int(np.argmin(dtw_to_all(znorm(q) if z else q, X, lengths)))] for q in test]


def minirocket(train, y_train, test) -> list | None:
    try:
        from aeon.classification.convolution_based import MiniRocketClassifier
    except ImportError:
        return None
    T = max(len(x) for x in train + test)

    def arr(xs):  # aeon wants (N, F, T); pad unequal lengths by repeating the last value
        out = np.zeros((len(xs), xs[0].shape[1], T))
        for n, x in enumerate(xs):
            out[n, :, : len(x)] = x.T
            out[n, :, len(x):] = x[-1][:, None]
        return out

    clf = MiniRocketClassifier(random_state=0)
    clf.fit(arr(train), np.array(y_train))
    return list(clf.predict(arr(test)))


def ours(train_path: str, test_path: str, seed: int, budget: dict, extra: dict) -> dict:
    """rnnkit's defaults (as `rnnkit train classify --data TRAIN --minutes M` runs them):
    test accuracy of the combined prediction and of each of its two parts."""
    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        run = rnnkit.fit("series-classify", data={"data": train_path, **extra.get("data", {})},
                         model=extra.get("model", {}), train={**budget, "seed": seed},
                         out=out, device="cpu")
        took = time.perf_counter() - t0
        m = rnnkit.load(run, device="cpu")
        d = m.read(test_path)
        gold = [m.labels.index(lab) for lab in d.labels]
        parts = m.component_proba(d)
        res = {"acc": accuracy(m.predict_proba(d), gold), "s": took,
               "rnn": accuracy(parts["rnn"], gold), "weight": 0.0, "rocket": float("nan")}
        if m.rocket is not None:
            res |= {"rocket": accuracy(parts["rocket"], gold), "weight": m.rocket.mix_weight}
            for w in (0.5, 0.8):  # what other weights would have scored (reported)
                res[f"w{w}"] = accuracy(combine(parts["rnn"], parts["rocket"], w), gold)
        return res


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="../shared/data/timeseries")
    p.add_argument("--sets", default="GunPoint,ArrowHead,JapaneseVowels,BasicMotions")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--no-peers", action="store_true")
    p.add_argument("--minutes", type=float, default=2.0,
                   help="rnnkit's budget per seed, as `rnnkit train classify --minutes`")
    p.add_argument("--epochs", type=float, default=0.0, help="a budget in epochs instead")
    p.add_argument("--rocket-weight", type=float, default=None,
                   help="rnnkit's --rocket-weight (default: its own, chosen on validation)")
    p.add_argument("--dtw-znorm", action=argparse.BooleanOptionalAction, default=False,
                   help="z-normalise each series per dimension before DTW")
    args = p.parse_args()
    logging.basicConfig(level=logging.WARNING)
    torch.set_num_threads(1)
    budget = {"epochs": args.epochs} if args.epochs else {"minutes": args.minutes}
    extra = {} if args.rocket_weight is None else {"model": {"rocket": {
        "weight": args.rocket_weight}}}
    print("| data set | rnnkit defaults (mean +- sd over seeds) | recurrent part | rocket part "
          "| rocket weight | weight 0.5, 0.8 | 1-NN DTW_D | MiniRocket (aeon) | rnnkit s/seed "
          "| DTW s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name in args.sets.split(","):
        tr = str(Path(args.data) / name / f"{name}_TRAIN.ts")
        te = str(Path(args.data) / name / f"{name}_TEST.ts")
        res = [ours(tr, te, int(s), budget, extra) for s in args.seeds.split(",")]
        dtw = mr = "-"
        t_dtw = 0.0
        if not args.no_peers:
            a, b = read_series(tr), read_series(te)
            t0 = time.perf_counter()
            pred = one_nn_dtw(a.series, a.labels, b.series, args.dtw_znorm)
            t_dtw = time.perf_counter() - t0
            dtw = f"{np.mean([x == y for x, y in zip(pred, b.labels)]):.4f}"
            pred = minirocket(a.series, a.labels, b.series)
            mr = ("not installed" if pred is None
                  else f"{np.mean([x == y for x, y in zip(pred, b.labels)]):.4f}")

        def col(k, res=res):
            return f"{np.mean([r[k] for r in res]):.4f}"

        accs = [r["acc"] for r in res]
        weights = ", ".join(f"{r['weight']:g}" for r in res)
        print(f"| {name} | {np.mean(accs):.4f} +- {np.std(accs):.4f} "
              f"({', '.join(f'{x:.4f}' for x in accs)}) | {col('rnn')} | {col('rocket')} | "
              f"{weights} | {col('w0.5')}, {col('w0.8')} | {dtw} | {mr} | "
              f"{np.mean([r['s'] for r in res]):.1f} | {t_dtw:.1f} |", flush=True)


if __name__ == "__main__":
    main()
