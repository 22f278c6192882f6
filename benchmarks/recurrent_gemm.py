"""What bounds the LSTM kernels at small batch: the per-step recurrent product.

Times, at one (B, H) shape, the recurrent product ``acc + h @ W_hh.T`` ((B, H) x (H, 4H), the
call every step of the forward and of the backward makes) through ``torch.addmm`` and through
oneDNN packed weights (what ``rnnkit.kernels.common.recurrent_product`` picks), next to a
2048^3 sgemm for the machine's peak, and the per-step elementwise ops of the LSTM forward. Then
it adds up the matrix products one LSTM forward+backward must do (the recurrent ones at the
measured small-GEMM speed, the whole-sequence ones at peak) to give a floor for any kernel
built on these products, times the naive nn.LSTMCell loop, and prints the ratio the naive loop
could be beaten by at best.

    python benchmarks/recurrent_gemm.py                  # B=32, T=100, I=128, H=256
    python benchmarks/recurrent_gemm.py --shape 64,100,256,512 --cell gru
"""

from __future__ import annotations

import argparse
import time

import torch

from kernels import NaiveLoop  # benchmarks/kernels.py: the same naive loop as the peer there


def bench(f, n: int = 300) -> float:
    """Mean of ``n`` calls after a warm-up, in microseconds."""
    for _ in range(min(n, 20)):
        f()
    t0 = time.perf_counter()
    for _ in range(n):
        f()
    return (time.perf_counter() - t0) / n * 1e6


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--shape", default="32,100,128,256", help="B,T,I,H")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    p.add_argument("--cell", choices=("lstm", "gru"), default="lstm")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    B, T, I, H = (int(v) for v in args.shape.split(","))
    N = {"lstm": 4, "gru": 3}[args.cell] * H
    torch.manual_seed(0)
    a = torch.randn(2048, 2048)
    peak = 2 * 2048**3 / bench(lambda: torch.mm(a, a), 5) / 1e3  # GFLOP/s
    w, h = torch.randn(N, H), torch.randn(B, H)
    acc, out = torch.randn(B, N), torch.empty(B, N)
    w_t = w.t()
    t_addmm = bench(lambda: torch.addmm(acc, h, w_t, out=out))
    packed = torch.ops.mkldnn._reorder_linear_weight(w.contiguous(), B)
    linear = torch.ops.mkldnn._linear_pointwise.binary
    t_packed = bench(lambda: linear(h, acc, packed, None, "add"))
    c, ct = torch.randn(B, H), torch.empty(B, H)
    t_sig = bench(lambda: torch.sigmoid(acc, out=out))
    t_mul = bench(lambda: torch.mul(c, c, out=ct))
    flop = 2 * B * H * N
    best = min(t_addmm, t_packed)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, sgemm peak "
          f"{peak:.0f} GFLOP/s")
    print(f"recurrent product ({B},{H}) x ({H},{N}): addmm {t_addmm:.0f} us "
          f"({flop / t_addmm / 1e3:.0f} GFLOP/s), oneDNN packed {t_packed:.0f} us "
          f"({flop / t_packed / 1e3:.0f} GFLOP/s)")
    print(f"elementwise per step: sigmoid over (B, 4H) {t_sig:.1f} us, a (B, H) mul "
          f"{t_mul:.1f} us")
    # Products of one forward+backward as benchmarks/kernels.py runs it (x without grad, so no
    # dx): T recurrent ones each way; the input projection and dW_ih (T*B x I x 4H each) and
    # dW_hh (T*B x H x 4H) over the whole sequence.
    recurrent_ms = 2 * T * best / 1e3
    whole_ms = 2 * T * B * N * (2 * I + H) / (peak * 1e9) * 1e3
    floor = recurrent_ms + whole_ms
    print(f"matrix products of one {args.cell.upper()} forward+backward: {2 * T} recurrent at "
          f"the best small-GEMM speed {recurrent_ms:.1f} ms + whole-sequence ones at peak "
          f"{whole_ms:.1f} ms = a floor of {floor:.1f} ms")
    naive = NaiveLoop(args.cell, I, H)
    x = torch.randn(B, T, I)

    def naive_step():
        out, _ = naive(x)
        out.sum().backward()

    naive_ms = bench(naive_step, 5) / 1e3
    print(f"naive nn.{args.cell.upper()}Cell loop forward+backward: {naive_ms:.1f} ms; the best "
          f"any kernel built on these products can be faster than it: naive / floor = "
          f"{naive_ms / floor:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
