"""Numeric-series classification: rnnkit's recurrent classifier next to 1-NN DTW (numpy, this
file) and MiniRocket (aeon, when installed) on the official UCR/UEA train/test splits.

Our classifier picks its best checkpoint on a seeded 10% of TRAIN (never on TEST), then is
scored once on TEST.

    OMP_NUM_THREADS=1 python benchmarks/series_classify.py --data ../shared/data/timeseries \
        [--sets JapaneseVowels,BasicMotions] [--seeds 0,1,2] [--no-peers]
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

EPOCHS = {"JapaneseVowels": 60.0, "BasicMotions": 150.0}


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


def ours(train_path: str, test_path: str, epochs: float, seed: int, pooling: str = "max",
         normalize: str = "feature") -> float:
    data = {"data": train_path, "dev_fraction": 0.1, "normalize": normalize}
    model = {"encoder": {"hidden": 64, "bidirectional": True}, "pooling": pooling}
    with tempfile.TemporaryDirectory() as out:
        run = rnnkit.fit("series-classify", data=data, model=model,
                         train={"epochs": epochs, "seed": seed}, out=out, device="cpu")
        return rnnkit.load(run, device="cpu").evaluate(test_path)["accuracy"]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="../shared/data/timeseries")
    p.add_argument("--sets", default="JapaneseVowels,BasicMotions")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--no-peers", action="store_true")
    p.add_argument("--pooling", default="max", help="last | mean | max | attention")
    p.add_argument("--normalize", default="feature", help="feature | series | none")
    p.add_argument("--dtw-znorm", action=argparse.BooleanOptionalAction, default=False,
                   help="z-normalise each series per dimension before DTW")
    args = p.parse_args()
    logging.basicConfig(level=logging.WARNING)
    torch.set_num_threads(1)
    print("| data set | rnnkit BiLSTM (mean +- sd over seeds) | 1-NN DTW_D | MiniRocket | "
          "rnnkit s/seed | DTW s | MiniRocket s |")
    print("|---|---|---|---|---|---|---|")
    for name in args.sets.split(","):
        tr = str(Path(args.data) / name / f"{name}_TRAIN.ts")
        te = str(Path(args.data) / name / f"{name}_TEST.ts")
        t0 = time.perf_counter()
        accs = [ours(tr, te, EPOCHS.get(name, 60.0), int(s), args.pooling, args.normalize)
                for s in args.seeds.split(",")]
        t_ours = (time.perf_counter() - t0) / len(accs)
        dtw = mr = "-"
        t_dtw = t_mr = 0.0
        if not args.no_peers:
            a, b = read_series(tr), read_series(te)
            t0 = time.perf_counter()
            pred = one_nn_dtw(a.series, a.labels, b.series, args.dtw_znorm)
            t_dtw = time.perf_counter() - t0
            dtw = f"{np.mean([x == y for x, y in zip(pred, b.labels)]):.4f}"
            t0 = time.perf_counter()
            pred = minirocket(a.series, a.labels, b.series)
            t_mr = time.perf_counter() - t0
            mr = ("not installed" if pred is None
                  else f"{np.mean([x == y for x, y in zip(pred, b.labels)]):.4f}")
        print(f"| {name} | {np.mean(accs):.4f} +- {np.std(accs):.4f} "
              f"({', '.join(f'{x:.4f}' for x in accs)}) | {dtw} | {mr} | {t_ours:.1f} | "
              f"{t_dtw:.1f} | {t_mr:.1f} |", flush=True)


if __name__ == "__main__":
    main()
