"""Forecasting Airline (monthly passengers 1949-1960) with the last 12 months held out:
rnnkit's recurrent forecasters (direct multi-output and autoregressive, point output; with
``--quantile``, also a 0.1/0.5/0.9 quantile output per strategy, seed 0, with the coverage of
its 0.1-0.9 interval) next to the seasonal naive forecast, statsmodels' Holt-Winters
exponential smoothing and the "airline" SARIMA(0,1,1)(0,1,1)12 on log values.

    OMP_NUM_THREADS=1 python benchmarks/series_forecast.py --data ../shared/data/timeseries \
        [--seeds 0,1,2] [--steps 400] [--strategies direct,autoregressive] [--quantile]
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

import rnnkit
from rnnkit.data.series import read_series
from rnnkit.tasks.series.metrics import forecast_report, seasonal_naive

H, M = 12, 12


def ours(path: str, seed: int, steps: int, strategy: str = "direct",
         output: str = "point") -> tuple[np.ndarray, float | None]:
    """The hold-out forecast (12,) and, for a quantile output, its 0.1-0.9 coverage."""
    data = {"data": path, "time_col": "Date", "target": "Passengers", "season": M,
            "transform": "log", "holdout": H}
    model = {"context": 24, "horizon": H, "encoder": {"hidden": 64}, "strategy": strategy,
             "output": output}
    with tempfile.TemporaryDirectory() as out:
        run = rnnkit.fit("forecast", data=data, model=model,
                         train={"steps": steps, "seed": seed}, out=out, device="cpu")
        report = json.loads((run / "test_report.json").read_text())
    return np.asarray(report["forecast"][0])[:, 0], report["model"].get("coverage")


def peers(train: np.ndarray) -> dict[str, tuple[np.ndarray, float]]:
    out = {}
    t0 = time.perf_counter()
    out["seasonal naive"] = (seasonal_naive(train, H, M), time.perf_counter() - t0)
    try:
        import warnings

        from statsmodels.tsa.holtwinters import ExponentialSmoothing
        from statsmodels.tsa.statespace.sarimax import SARIMAX
    except ImportError:
        return out
    warnings.filterwarnings("ignore")
    t0 = time.perf_counter()
    es = ExponentialSmoothing(train, trend="add", seasonal="mul", seasonal_periods=M).fit()
    out["Holt-Winters (add. trend, mult. season)"] = (es.forecast(H), time.perf_counter() - t0)
    t0 = time.perf_counter()
    ar = SARIMAX(np.log(train), order=(0, 1, 1), seasonal_order=(0, 1, 1, M)).fit(disp=False)
    out["SARIMA(0,1,1)(0,1,1)12, log"] = (np.exp(ar.forecast(H)), time.perf_counter() - t0)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="../shared/data/timeseries")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--steps", type=int, default=400)
    p.add_argument("--strategies", default="direct,autoregressive")
    p.add_argument("--quantile", action="store_true",
                   help="also train a quantile output (seed 0) per strategy")
    args = p.parse_args()
    logging.basicConfig(level=logging.WARNING)
    torch.set_num_threads(1)
    path = str(Path(args.data) / "Airline" / "Airline.csv")
    y = read_series(path, value_cols=["Passengers"], time_col="Date").series[0][:, 0]
    train, test = y[:-H].astype(np.float64), y[-H:].astype(np.float64)
    rows = []
    for strategy in args.strategies.split(","):
        mine = []
        for seed in args.seeds.split(","):
            t0 = time.perf_counter()
            f, _ = ours(path, int(seed), args.steps, strategy)
            mine.append((f"rnnkit LSTM {strategy}, seed {seed}", f, time.perf_counter() - t0,
                         None))
        mean_f = np.mean([r[1] for r in mine], axis=0)
        rows += [*mine, (f"rnnkit LSTM {strategy}, mean of the seeds' forecasts", mean_f, 0.0,
                         None)]
        if args.quantile:
            t0 = time.perf_counter()
            f, cov = ours(path, 0, args.steps, strategy, "quantile")
            rows.append((f"rnnkit LSTM {strategy}, quantile output (median), seed 0", f,
                         time.perf_counter() - t0, cov))
    rows += [(k, np.asarray(v), t, None) for k, (v, t) in peers(train).items()]
    print("| method | MAE | RMSE | sMAPE % | MASE (m=12) | 0.1-0.9 coverage | wall s |")
    print("|---|---|---|---|---|---|---|")
    for name, f, t, cov in rows:
        r = forecast_report(test, f, train, M)
        c = "-" if cov is None else f"{cov:.2f}"
        print(f"| {name} | {r['mae']:.2f} | {r['rmse']:.2f} | {r['smape']:.2f} | "
              f"{r['mase']:.3f} | {c} | {t:.1f} |")


if __name__ == "__main__":
    main()
