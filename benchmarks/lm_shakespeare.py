"""Character language model on tiny-shakespeare: rnnkit's defaults against two simple peers
at equal wall-clock (issues 3 and 17).

The nanoGPT shakespeare_char split: the first 90% of ../shared/data/tinyshakespeare/input.txt
is ``train.txt``, the last 10% ``val.txt``. On the same machine, one after the other, each
for ``--minutes`` of training:

* **rnnkit**: ``rnnkit train lm --data train.txt --minutes M`` with its defaults (any other
  ``train lm`` option given here is passed on), scored by ``rnnkit eval RUN --data val.txt``
  (the library calls behind them);
* **lstm**: a plain ``torch.nn.LSTM`` 2x256 language model in a 20-line loop (embedding
  256, Adam 2e-3, 32 streams x 128 steps with the state carried, clip 1), as the issue's
  reference;
* **gpt**: a small GPT with nanoGPT's README CPU configuration (4 layers, 4 heads, 128 wide,
  block 64, batch 12, AdamW lr 1e-3 with 100 warm-up steps and cosine decay to lr/10 over
  the budget, dropout 0, weight tying), written here after nanoGPT's model.py.

Every model is scored on the whole of val.txt in nats/char: the recurrent models over the
text as one stream (rnnkit: 64 streams, state carried), the GPT over consecutive blocks of
64 characters (each position sees the block so far, as nanoGPT's own estimate does). The
peers train on all of train.txt; rnnkit holds out 3% of it for its own validation.

    python benchmarks/lm_shakespeare.py --minutes 3
    python benchmarks/lm_shakespeare.py --minutes 15
    python benchmarks/lm_shakespeare.py --minutes 1 --only lstm,gpt
    python benchmarks/lm_shakespeare.py --minutes 3 --only rnnkit --cell gru --hidden 768
"""

from __future__ import annotations

import argparse
import math
import platform
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from machine import cpu_flags

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "shared" / "data" / "tinyshakespeare" / "input.txt"


class Timer:
    def __init__(self, minutes: float):
        self.t0, self.budget = time.perf_counter(), minutes * 60

    def fraction(self) -> float:
        return (time.perf_counter() - self.t0) / self.budget


# nn.LSTM peer ---------------------------------------------------------------------------------

class LSTMLM(nn.Module):
    def __init__(self, V: int, E: int = 256, H: int = 256, L: int = 2):
        super().__init__()
        self.emb, self.rnn, self.out = nn.Embedding(V, E), nn.LSTM(E, H, L, batch_first=True), \
            nn.Linear(H, V)

    def forward(self, x, state=None):
        h, state = self.rnn(self.emb(x), state)
        return self.out(h), state


def train_lstm(train: torch.Tensor, V: int, minutes: float, B: int = 32, T: int = 128):
    torch.manual_seed(0)
    m = LSTMLM(V)
    opt = torch.optim.Adam(m.parameters(), lr=2e-3)
    n = (len(train) - 1) // B
    x_all, y_all = train[: n * B].view(B, n), train[1 : n * B + 1].view(B, n)
    timer, pos, state, steps = Timer(minutes), 0, None, 0
    while timer.fraction() < 1:
        if pos + T > n:
            pos, state = 0, None
        x, y = x_all[:, pos : pos + T], y_all[:, pos : pos + T]
        logits, state = m(x, state)
        state = tuple(s.detach() for s in state)
        loss = F.cross_entropy(logits.reshape(-1, V), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(m.parameters(), 1.0)
        opt.step()
        pos, steps = pos + T, steps + 1
    return m, steps, steps * B * T


@torch.no_grad()
def eval_stream(m: LSTMLM, ids: torch.Tensor, V: int, T: int = 1024) -> float:
    m.eval()
    total, state = 0.0, None
    for i in range(0, len(ids) - 1, T):
        x, y = ids[i : i + T].unsqueeze(0), ids[i + 1 : i + T + 1].unsqueeze(0)
        x = x[:, : y.shape[1]]
        logits, state = m(x, state)
        total += F.cross_entropy(logits.reshape(-1, V), y.reshape(-1), reduction="sum").item()
    return total / (len(ids) - 1)


# GPT peer (nanoGPT's architecture) --------------------------------------------------------------

class Block(nn.Module):
    def __init__(self, C: int, heads: int):
        super().__init__()
        self.ln1, self.ln2, self.heads = nn.LayerNorm(C), nn.LayerNorm(C), heads
        self.qkv, self.proj = nn.Linear(C, 3 * C), nn.Linear(C, C)
        self.mlp = nn.Sequential(nn.Linear(C, 4 * C), nn.GELU(), nn.Linear(4 * C, C))

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(C, dim=2)
        q, k, v = (t.view(B, T, self.heads, C // self.heads).transpose(1, 2) for t in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.proj(y.transpose(1, 2).reshape(B, T, C))
        return x + self.mlp(self.ln2(x))


class GPT(nn.Module):
    def __init__(self, V: int, block: int = 64, layers: int = 4, heads: int = 4, C: int = 128):
        super().__init__()
        self.tok, self.pos = nn.Embedding(V, C), nn.Embedding(block, C)
        self.blocks = nn.Sequential(*[Block(C, heads) for _ in range(layers)])
        self.ln, self.head = nn.LayerNorm(C), nn.Linear(C, V, bias=False)
        self.head.weight = self.tok.weight  # weight tying, as nanoGPT
        for mod in self.modules():
            if isinstance(mod, (nn.Linear, nn.Embedding)):
                nn.init.normal_(mod.weight, std=0.02)
                if getattr(mod, "bias", None) is not None:
                    nn.init.zeros_(mod.bias)

    def forward(self, x):
        h = self.tok(x) + self.pos(torch.arange(x.shape[1]))
        return self.head(self.ln(self.blocks(h)))


def train_gpt(train: torch.Tensor, V: int, minutes: float, B: int = 12, T: int = 64,
              lr: float = 1e-3):
    torch.manual_seed(0)
    m = GPT(V, block=T)
    decay = [p for p in m.parameters() if p.dim() >= 2]
    other = [p for p in m.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                             {"params": other, "weight_decay": 0.0}], lr=lr, betas=(0.9, 0.99))
    gen = torch.Generator().manual_seed(0)
    timer, steps = Timer(minutes), 0
    while (f := timer.fraction()) < 1:
        warm = min(1.0, (steps + 1) / 100)
        scale = warm * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * f)))
        for g in opt.param_groups:
            g["lr"] = lr * scale
        i = torch.randint(len(train) - T - 1, (B,), generator=gen)
        x = torch.stack([train[j : j + T] for j in i])
        y = torch.stack([train[j + 1 : j + T + 1] for j in i])
        loss = F.cross_entropy(m(x).reshape(-1, V), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(m.parameters(), 1.0)
        opt.step()
        steps += 1
    return m, steps, steps * B * T


@torch.no_grad()
def eval_blocks(m: GPT, ids: torch.Tensor, V: int, T: int = 64) -> float:
    m.eval()
    n = (len(ids) - 1) // T
    x, y = ids[: n * T].view(n, T), ids[1 : n * T + 1].view(n, T)
    total = sum(F.cross_entropy(m(x[i : i + 256]).reshape(-1, V), y[i : i + 256].reshape(-1),
                                reduction="sum").item() for i in range(0, n, 256))
    return total / (n * T)


# rnnkit -----------------------------------------------------------------------------------------

def run_rnnkit(train_path: Path, val_path: Path, minutes: float, out: Path, extra: list[str]):
    import json

    import rnnkit
    from rnnkit.cli.main import main as cli

    code = cli(["train", "lm", "--data", str(train_path), "--minutes", str(minutes), "--out",
                str(out), "--sample-length", "0", "--device", "cpu", *extra])
    if code:
        raise SystemExit(code)
    (run,) = list(out.iterdir())
    summary = json.loads((run / "summary.json").read_text())
    cfg = json.loads((run / "config.json").read_text())
    lm = rnnkit.load(run, device="cpu")
    loss = lm.evaluate(val_path)["loss"]
    chars = cfg["sizes"]["train_tokens"] * summary["epoch"]
    e = lm.settings.model.encoder
    what = f"{e.layers}x{e.hidden} {e.cell}, chunk {lm.settings.data.chunk_len}"
    return loss, summary["step"], chars, (f"{what} {' '.join(extra)}" if extra else
                                          f"defaults ({what})")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--minutes", type=float, default=3.0)
    p.add_argument("--data", default=str(DATA))
    p.add_argument("--only", default="rnnkit,lstm,gpt", help="which of rnnkit,lstm,gpt")
    args, extra = p.parse_known_args(argv)
    if not Path(args.data).is_file():
        print(f"skipped: {args.data} not found", file=sys.stderr)
        return 0
    text = Path(args.data).read_text(encoding="utf-8")
    cut = int(len(text) * 0.9)
    chars = sorted(set(text))
    stoi = {c: i for i, c in enumerate(chars)}
    ids = torch.tensor([stoi[c] for c in text], dtype=torch.long)
    train, val, V = ids[:cut], ids[cut:], len(chars)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "train.txt").write_text(text[:cut], encoding="utf-8")
        (tmp / "val.txt").write_text(text[cut:], encoding="utf-8")
        for name in args.only.split(","):
            t0 = time.perf_counter()
            if name == "rnnkit":
                loss, steps, seen, what = run_rnnkit(tmp / "train.txt", tmp / "val.txt",
                                                     args.minutes, tmp / "runs", extra)
            elif name == "lstm":
                m, steps, seen = train_lstm(train, V, args.minutes)
                loss, what = eval_stream(m, val, V), "torch.nn.LSTM 2x256"
            elif name == "gpt":
                m, steps, seen = train_gpt(train, V, args.minutes)
                loss, what = eval_blocks(m, val, V), "GPT 4x4x128, block 64"
            else:
                raise SystemExit(f"unknown model {name!r}")
            rows.append((name, what, loss, steps, seen, time.perf_counter() - t0))
            print(f"{name}: {loss:.4f} nats/char", file=sys.stderr, flush=True)
    print(f"machine: {platform.processor() or platform.machine()}, {torch.get_num_threads()} "
          f"threads, torch {torch.__version__}; {cpu_flags()}")
    print(f"{args.minutes:g} minutes each; validation: last 10% ({len(val) - 1} chars)")
    print("| model | val nats/char | steps | train chars/s | wall s |")
    print("|---|---|---|---|---|")
    for name, what, loss, steps, seen, wall in rows:
        print(f"| {name}: {what} | {loss:.4f} | {steps} | {seen / (args.minutes * 60):,.0f} | "
              f"{wall:.0f} |")
    if len(rows) > 1 and rows[0][0] == "rnnkit":
        best_peer = min(r[2] for r in rows[1:])
        print(f"rnnkit minus the better peer: {rows[0][2] - best_peer:+.4f} nats/char "
              "(issue 17's target: <= -0.05)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
