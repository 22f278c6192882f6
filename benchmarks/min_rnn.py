"""minGRU speed: the parallel scan against its own step loop and torch.nn.GRU.

Forward + backward (a sum of the outputs) of one layer, B = 8, I = H = 128, for

* ``scan``: rnnkit.MinGRU on its default backend (the chunked log-space scan),
* ``step``: the same layer with backend="reference" (autograd over cell.step, T steps),
* ``nn.GRU``: torch.nn.GRU (a full GRU: it has a recurrent weight, minGRU has none),

interleaved per repetition (the machines are shared: compare the ratios), medians in ms.

    python benchmarks/min_rnn.py                     # T = 256, 1024, 4096
    python benchmarks/min_rnn.py --lengths 256 --repeats 5
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import torch

import rnnkit
from machine import cpu_flags


def fwd_bwd(model, x) -> float:
    t0 = time.perf_counter()
    out = model(x)[0]
    out.sum().backward()
    return (time.perf_counter() - t0) * 1e3


def bench(T: int, B: int, H: int, repeats: int) -> dict[str, float]:
    torch.manual_seed(0)
    models = {
        "scan": rnnkit.MinGRU(H, H),
        "step": rnnkit.MinGRU(H, H, backend="reference"),
        "nn.GRU": torch.nn.GRU(H, H, batch_first=True),
    }
    x = torch.randn(B, T, H)
    times: dict[str, list[float]] = {name: [] for name in models}
    for r in range(repeats + 1):  # the first round warms up
        for name, model in models.items():
            model.zero_grad(set_to_none=True)
            ms = fwd_bwd(model, x)
            if r:
                times[name].append(ms)
    return {name: statistics.median(v) for name, v in times.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lengths", default="256,1024,4096")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    print(f"# torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"{platform.processor() or platform.machine()}; {cpu_flags()}")
    print(f"# minGRU forward+backward, B={a.batch}, I=H={a.hidden}, median of {a.repeats}, ms")
    print("| T | scan | step loop | torch.nn.GRU | step / scan | nn.GRU / scan |")
    print("|---|---|---|---|---|---|")
    for T in (int(t) for t in a.lengths.split(",")):
        m = bench(T, a.batch, a.hidden, a.repeats)
        print(f"| {T} | {m['scan']:.1f} | {m['step']:.1f} | {m['nn.GRU']:.1f} | "
              f"{m['step'] / m['scan']:.1f}x | {m['nn.GRU'] / m['scan']:.1f}x |", flush=True)


if __name__ == "__main__":
    main()
