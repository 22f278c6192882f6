"""Reference-path cost: Recurrent over LayerNormLSTMCell / PeepholeLSTMCell against rnnkit.LSTM.

Forward + backward (a sum of the outputs) of one unidirectional layer at (B, T, I, H) =
(32, 100, 128, 256), float32, interleaved per repetition (the machines are shared: compare
the ratios); medians in ms. The user cells run on the reference path (autograd over
cell.step, T steps); rnnkit.LSTM runs its hand-written kernel, and again on the reference
path (what the path itself costs, apart from the cells' extra work).

    python benchmarks/user_cells.py --repeats 5      # 3 repeats (default) after one warm-up
    python benchmarks/user_cells.py --repeats 5 --threads 1
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

import rnnkit
from machine import cpu_flags
from rnnkit.cells.layer_norm import LayerNormLSTMCell
from rnnkit.cells.peephole import PeepholeLSTMCell


def fwd_bwd(model, x) -> float:
    t0 = time.perf_counter()
    model(x)[0].sum().backward()
    return 1e3 * (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    ap.add_argument("--cells", default="ln_lstm,peephole,lstm",
                    help="comma list of ln_lstm, peephole, lstm (LSTMCell on the reference path)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    B, T, I, H = 32, 100, 128, 256
    x = torch.randn(B, T, I)
    models = {"rnnkit.LSTM": rnnkit.LSTM(I, H)}
    makers = {"ln_lstm": LayerNormLSTMCell, "peephole": PeepholeLSTMCell}
    for name in args.cells.split(","):
        if name == "lstm":
            models["LSTM(backend='reference')"] = rnnkit.LSTM(I, H, backend="reference")
        else:
            models[f"Recurrent({makers[name].__name__})"] = rnnkit.Recurrent(makers[name](I, H))
    times: dict[str, list[float]] = {k: [] for k in models}
    for rep in range(args.repeats + 1):  # the first round warms up
        for k, m in models.items():
            ms = fwd_bwd(m, x)
            if rep:
                times[k].append(ms)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {cpu_flags()}")
    base = statistics.median(times["rnnkit.LSTM"])
    for k, ts in times.items():
        med = statistics.median(ts)
        print(f"{k:34s} {med:8.1f} ms  {med / base:5.2f}x")


if __name__ == "__main__":
    main()
