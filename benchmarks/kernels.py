"""Kernel speed: rnnkit's hand-written BPTT kernels against torch.nn and a naive cell loop.

For each standard shape (B, T, I, H) of DESIGN.md and each cell (LSTM, GRU), times forward and
forward+backward of

* ``rnnkit``: rnnkit.LSTM / rnnkit.GRU with backend="kernel" (the native per-step loop when it
  is available, see rnnkit.kernels.native),
* ``rnnkit-py``: the same layer with the native loop disabled (the pure-PyTorch kernels),
* ``torch.nn``: torch.nn.LSTM / torch.nn.GRU (oneDNN for the LSTM on a CPU),
* ``naive``: a Python loop over torch.nn.LSTMCell / GRUCell with autograd,

interleaved in one process (the machines are shared and noisy, so only ratios are meaningful),
and prints medians, ratios and achieved GFLOP/s next to the measured matrix-multiply peak.

    python benchmarks/kernels.py                 # all shapes, LSTM and GRU
    python benchmarks/kernels.py --quick         # fewer repetitions
    python benchmarks/kernels.py --cells lstm --shapes 64,100,256,512
    python benchmarks/kernels.py --input-grad    # backward computes the input gradient too
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch import nn

import rnnkit
from rnnkit.kernels import native

SHAPES = [(32, 100, 128, 256), (64, 100, 256, 512), (16, 200, 512, 1024), (1, 1000, 64, 128)]
GATES = {"lstm": 4, "gru": 3, "rnn": 1}


def matmul_peak(n: int = 2048, reps: int = 5) -> float:
    """Best of ``reps`` timed n x n sgemms, in GFLOP/s."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    best = float("inf")
    for _ in range(reps + 1):
        t0 = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - t0)
    return 2 * n**3 / best / 1e9


class NaiveLoop(nn.Module):
    def __init__(self, kind, I, H):
        super().__init__()
        self.kind = kind
        self.cell = {"lstm": nn.LSTMCell, "gru": nn.GRUCell, "rnn": nn.RNNCell}[kind](I, H)

    def forward(self, x):  # x (B, T, I)
        B = x.shape[0]
        h = x.new_zeros(B, self.cell.hidden_size)
        state = (h, h) if self.kind == "lstm" else h
        outs = []
        for x_t in x.unbind(1):
            state = self.cell(x_t, state)
            outs.append(state[0] if self.kind == "lstm" else state)
        return torch.stack(outs, 1), state


def build(kind, I, H):
    torch_cls = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[kind]
    ours_cls = {"lstm": rnnkit.LSTM, "gru": rnnkit.GRU, "rnn": rnnkit.RNN}[kind]
    ref = torch_cls(I, H, batch_first=True)
    ours = ours_cls(I, H, backend="kernel")
    ours.load_state_dict(ref.state_dict())
    return {"rnnkit": ours, "rnnkit-py": PythonKernels(ours), "torch.nn": ref,
            "naive": NaiveLoop(kind, I, H)}


class PythonKernels(nn.Module):
    def __init__(self, layer):
        super().__init__()
        self.layer = layer

    def forward(self, x):
        with native.disabled():
            return self.layer(x)


def run_once(model, x, backward: bool) -> float:
    t0 = time.perf_counter()
    if backward:
        out, _ = model(x)
        out.sum().backward()
    else:
        with torch.no_grad():
            model(x)
    return time.perf_counter() - t0


def bench(kind, shape, reps, input_grad=False):
    B, T, I, H = shape
    models = build(kind, I, H)
    x = torch.randn(B, T, I, requires_grad=input_grad)
    # Without input_grad x does not require grad (as for a first layer), so backward computes no
    # input gradient: forward 2TBGH(I+H) multiply-adds x2; backward dW_ih, dW_hh and dh_{t-1}:
    # 2TBGH(I+2H); the input gradient dx adds 2TBGHI (as for every layer above the first).
    flops_fwd = 2 * T * B * GATES[kind] * H * (I + H)
    flops_bwd = 2 * T * B * GATES[kind] * H * (2 * I + 2 * H if input_grad else I + 2 * H)
    rows = []
    for backward in (False, True):
        names = list(models)
        times = {n: [] for n in names}
        for n in names:  # warm up
            run_once(models[n], x, backward)
        for _ in range(reps):
            for n in names:  # interleaved
                times[n].append(run_once(models[n], x, backward))
        med = {n: statistics.median(v) for n, v in times.items()}
        flops = flops_fwd + (flops_bwd if backward else 0)
        rows.append((backward, med, flops))
    return rows


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--cells", default="lstm,gru")
    p.add_argument("--shapes", nargs="*", default=None, help="B,T,I,H ...")
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--quick", action="store_true", help="3 repetitions")
    p.add_argument("--input-grad", action="store_true",
                   help="x requires grad: backward computes dx too (layers above the first)")
    args = p.parse_args(argv)
    shapes = [tuple(int(v) for v in s.split(",")) for s in args.shapes] if args.shapes else SHAPES
    reps = 3 if args.quick else args.reps
    peak = matmul_peak()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"matmul peak {peak:.1f} GFLOP/s (2048^3 sgemm, best of 5); kernels: {native.status()}; "
          f"input gradient: {'yes' if args.input_grad else 'no'}")
    print(f"{'cell':5} {'B,T,I,H':>18} {'pass':8} {'rnnkit ms':>10} {'py ms':>8} "
          f"{'torch.nn ms':>11} {'naive ms':>9} {'ours/nn':>8} {'naive/ours':>10} "
          f"{'py/ours':>8} {'GFLOP/s ours':>12} {'GFLOP/s nn':>10}")
    for kind in args.cells.split(","):
        for shape in shapes:
            for backward, med, flops in bench(kind, shape, reps, args.input_grad):
                o, t, nv, py = med["rnnkit"], med["torch.nn"], med["naive"], med["rnnkit-py"]
                print(f"{kind:5} {','.join(map(str, shape)):>18} "
                      f"{'fwd+bwd' if backward else 'fwd':8} {o*1e3:10.2f} {py*1e3:8.2f} "
                      f"{t*1e3:11.2f} {nv*1e3:9.2f} {o/t:8.2f} {nv/o:10.2f} {py/o:8.2f} "
                      f"{flops/o/1e9:12.1f} {flops/t/1e9:10.1f}", flush=True)


if __name__ == "__main__":
    main()
