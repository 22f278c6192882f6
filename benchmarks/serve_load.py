"""Loopback load test of ``rnnkit serve``: requests per second and p50 / p99 latency of
sampling (``POST /v1/sample``) and prediction (``POST /v1/predict``) at 1, 8 and 32
concurrent clients, and the server's resident memory before and after (flat: no leak).

The server is the real command (``python -m rnnkit serve RUN --port 0``) in its own process,
so its RSS is its own (``/proc/PID/status``); the clients are httpx's async client in this
process, on the same machine (on a small machine they share its cores). Each scenario is
bounded by a request count and a time budget (``--seconds``: no new request after it).
Without ``--lm-run`` / ``--classify-run`` a tiny language model and classifier are trained
first (seconds).

    python benchmarks/serve_load.py [--requests 200] [--seconds 20] [--length 64]
        [--clients 1,8,32] [--lm-run RUN] [--classify-run RUN] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

import rnnkit

TEXT = "the quick brown fox jumps over the lazy dog.\nthe dog sleeps; the fox runs.\n" * 20


def tiny_runs(root: Path) -> tuple[Path, Path]:
    """A small character LM (1x64 LSTM) and a text classifier (1x32 LSTM)."""
    (root / "t.txt").write_text(TEXT)
    lm = rnnkit.fit("lm", data={"data": str(root / "t.txt"), "batch_size": 8, "chunk_len": 16},
                    model={"embed": 16, "encoder": {"hidden": 64}},
                    train={"steps": 200, "lr": 0.03}, out=root / "runs")
    with open(root / "c.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["text", "label"])
        for i in range(200):
            w.writerow(["a good great fine film", "pos"] if i % 2 else ["a bad poor dull one",
                                                                        "neg"])
    clf = rnnkit.fit("classify", data={"data": str(root / "c.csv"), "batch_size": 16},
                     model={"embed": 16, "encoder": {"hidden": 32}}, train={"steps": 50},
                     out=root / "runs")
    return lm, clf


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Server:
    """``rnnkit serve RUN`` in a subprocess on a free loopback port."""

    def __init__(self, run: Path, *options: str):
        cmd = [sys.executable, "-m", "rnnkit", "serve", str(run), "--port", "0",
               "--log-level", "warning", "--no-access-log", *options]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True,
                                     env=os.environ | {"PYTHONUNBUFFERED": "1"})
        line = self.proc.stdout.readline()
        if " at http://" not in line:
            self.stop()
            raise RuntimeError(f"the server did not start: {line!r}")
        self.url = line.split(" at ")[1].split()[0].rstrip("/")

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.proc.stdout.close()


async def scenario(url: str, path: str, body: dict, clients: int, requests: int,
                   seconds: float) -> dict:
    """``requests`` POSTs by ``clients`` concurrent workers (none started after
    ``seconds``): throughput and latency percentiles of the answered ones."""
    latencies, status, left = [], {}, [requests]
    end = time.perf_counter() + seconds

    async def worker(client: httpx.AsyncClient) -> None:
        while left[0] > 0 and time.perf_counter() < end:
            left[0] -= 1
            t0 = time.perf_counter()
            r = await client.post(url + path, json=body)
            latencies.append(time.perf_counter() - t0)
            status[r.status_code] = status.get(r.status_code, 0) + 1

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        t0 = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(clients)))
        wall = time.perf_counter() - t0
    latencies.sort()

    def pct(q: float) -> float:
        return 1000 * latencies[min(len(latencies) - 1, int(q * len(latencies)))]

    return {"path": path, "clients": clients, "requests": len(latencies),
            "ok": status.get(200, 0), "status": status, "wall_s": round(wall, 3),
            "rps": round(len(latencies) / wall, 1), "p50_ms": round(pct(0.50), 1),
            "p99_ms": round(pct(0.99), 1)}


def load(server: Server, path: str, body: dict, args) -> tuple[list[dict], dict]:
    for _ in range(5):  # warm-up: first calls, allocator, threads
        httpx.post(server.url + path, json=body, timeout=60).raise_for_status()
    before = rss_mb(server.proc.pid)
    rows = [asyncio.run(scenario(server.url, path, body, c, args.requests, args.seconds))
            for c in args.clients]
    after = rss_mb(server.proc.pid)
    return rows, {"path": path, "rss_before_mb": round(before, 1),
                  "rss_after_mb": round(after, 1)}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--requests", type=int, default=200, help="requests per scenario (most)")
    p.add_argument("--seconds", type=float, default=20.0, help="time budget per scenario")
    p.add_argument("--length", type=int, default=64, help="tokens per sampling request")
    p.add_argument("--texts", type=int, default=8, help="texts per prediction request")
    p.add_argument("--clients", type=lambda s: [int(x) for x in s.split(",")],
                   default=[1, 8, 32], help="concurrent clients, comma-separated")
    p.add_argument("--max-concurrent", type=int, default=2, help="the server's model slots")
    p.add_argument("--lm-run", type=Path)
    p.add_argument("--classify-run", type=Path)
    p.add_argument("--json", type=Path, help="also write the results here")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        lm, clf = args.lm_run, args.classify_run
        if lm is None or clf is None:
            made = tiny_runs(Path(tmp))
            lm, clf = lm or made[0], clf or made[1]
        options = ("--max-concurrent", str(args.max_concurrent), "--max-queue",
                   str(max(args.clients) * 2))
        rows, memory = [], []
        sample = {"prompt": "the ", "length": args.length, "temperature": 0.8}
        predict = {"texts": ["a good film", "a dull one", "fine", "bad poor"] * (args.texts // 4)
                   or ["a good film"]}
        for run, path, body in ((lm, "/v1/sample", sample), (clf, "/v1/predict", predict)):
            server = Server(run, *options)
            try:
                r, m = load(server, path, body, args)
            finally:
                server.stop()
            rows += r
            memory.append(m)
    print("\n| endpoint | clients | requests (200 OK) | req/s | p50 ms | p99 ms |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['path']} | {r['clients']} | {r['requests']} ({r['ok']}) | {r['rps']} | "
              f"{r['p50_ms']} | {r['p99_ms']} |")
    print("\n| server | RSS before (MB) | RSS after (MB) |\n|---|---|---|")
    for m in memory:
        print(f"| {m['path']} | {m['rss_before_mb']} | {m['rss_after_mb']} |")
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "memory": memory,
                                         "args": {k: str(v) for k, v in vars(args).items()}},
                                        indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
