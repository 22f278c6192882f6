"""User cells on the traced fast path against rnnkit.LSTM's hand-written kernel.

Forward + backward (a sum of the outputs, the input gradient included) of one unidirectional
layer, float32, at the issue's shapes (B, T, I, H) = (32, 100, 128, 256), (64, 100, 256, 512)
and (1, 1000, 64, 128). Cells: an LSTM written by a user (two nn.Linear and chunk: the same
products as rnnkit.LSTM), the layer-normalised LSTM, the peephole LSTM and IndRNN, each on the
traced path ("auto") and on the reference path (autograd over step). The models of a shape run
interleaved per repetition (the machines are shared: compare the ratios); medians in ms, and
the ratio to rnnkit.LSTM. The traced path's analysis and compile time is printed once per cell.

    python benchmarks/user_cells.py                 # 5 repeats after one warm-up
    python benchmarks/user_cells.py --repeats 9 --shapes 32,100,128,256 --no-reference
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch import nn

import rnnkit
from machine import cpu_flags
from rnnkit.cells.base import RecurrentCell
from rnnkit.cells.indrnn import IndRNNCell
from rnnkit.cells.layer_norm import LayerNormLSTMCell
from rnnkit.cells.peephole import PeepholeLSTMCell
from rnnkit.cells.states import LSTMState
from rnnkit.kernels.traced import kernel_for

SHAPES = [(32, 100, 128, 256), (64, 100, 256, 512), (1, 1000, 64, 128)]


class UserLSTM(RecurrentCell):
    def __init__(self, input_size, hidden_size):
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        self.wi = nn.Linear(input_size, 4 * hidden_size)
        self.wh = nn.Linear(hidden_size, 4 * hidden_size)

    def initial_state(self, batch, device=None, dtype=None):
        return LSTMState.zeros(batch, self.hidden_size, device, dtype)

    def step(self, x_t, state):
        h, c = state
        i, f, g, o = (self.wi(x_t) + self.wh(h)).chunk(4, 1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        return h, LSTMState(h, c)


CELLS = {"user_lstm": UserLSTM, "ln_lstm": LayerNormLSTMCell, "peephole": PeepholeLSTMCell,
         "indrnn": IndRNNCell}


def fwd_bwd(model, x) -> float:
    t0 = time.perf_counter()
    model(x)[0].sum().backward()
    return 1e3 * (time.perf_counter() - t0)


def run_shape(shape, cells, repeats: int, reference: bool) -> None:
    B, T, I, H = shape
    torch.manual_seed(0)
    x = torch.randn(B, T, I, requires_grad=True)
    models = {"rnnkit.LSTM (kernel)": rnnkit.LSTM(I, H)}
    for name in cells:
        cell = CELLS[name](I, H)
        k = kernel_for(cell, x.transpose(0, 1), cell.initial_state(B))
        how = k if isinstance(k, str) else (f"analysed {1e3 * k.analyse_s:.0f} ms, compiled "
                                             f"{k.compile_s:.1f} s (0: cached)")
        print(f"  {name}: traced path {how}")
        models[f"{name} traced"] = rnnkit.Recurrent(cell)
        if reference:
            models[f"{name} reference"] = rnnkit.Recurrent(CELLS[name](I, H), backend="reference")
    times: dict[str, list[float]] = {k: [] for k in models}
    for rep in range(repeats + 1):  # the first round warms up (and compiles)
        for k, m in models.items():
            ms = fwd_bwd(m, x)
            if rep:
                times[k].append(ms)
    base = statistics.median(times["rnnkit.LSTM (kernel)"])
    for k, ts in times.items():
        med = statistics.median(ts)
        print(f"  {k:28s} {med:8.1f} ms  {med / base:5.2f}x")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    ap.add_argument("--cells", default=",".join(CELLS), help=f"comma list of {', '.join(CELLS)}")
    ap.add_argument("--shapes", nargs="*", help="B,T,I,H (default: the three of the issue)")
    ap.add_argument("--no-reference", action="store_true", help="skip the reference path")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    shapes = [tuple(int(v) for v in s.split(",")) for s in args.shapes] if args.shapes else SHAPES
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {cpu_flags()}")
    for shape in shapes:
        print(f"(B, T, I, H) = {shape}")
        run_shape(shape, args.cells.split(","), args.repeats, not args.no_reference)


if __name__ == "__main__":
    main()
