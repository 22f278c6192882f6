"""The forecaster's side of the command line: the hold-out report after ``rnnkit train
forecast``, ``rnnkit forecast RUN``, ``rnnkit predict RUN`` and ``rnnkit eval RUN``."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

from .classify_cli import with_format
from .forecast import plot_holdout
from .metrics import plot_forecast


def print_forecast_report(r: dict) -> None:
    print(f"hold-out: last {r['holdout']} steps (season {r['model']['season']})")
    print(f"{'':16}{'MAE':>10}{'RMSE':>10}{'sMAPE%':>9}{'MASE':>8}")
    for name in ("model", "seasonal_naive"):
        s = r[name]
        print(f"{name:16}{s['mae']:10.4g}{s['rmse']:10.4g}{s['smape']:9.3f}{s['mase']:8.3f}")
    m = r["model"]
    if "coverage" in m:
        print(f"interval {m['interval']}: {100 * m['coverage']:.1f}% of the hold-out inside "
              f"(nominal {100 * m['nominal']:.0f}%), mean width {m['width']:.4g}")


def after_train(args, loaded) -> int:
    path = loaded.run / "test_report.json"
    if path.is_file():
        print_forecast_report(json.loads(path.read_text()))
        print(f"forecast plot: {loaded.run / 'forecast.png'}", file=sys.stderr)
    return 0


def _horizon(args) -> int | None:
    if args.horizon < 0:
        raise ValueError(f"--horizon must be >= 0, got {args.horizon}")
    return args.horizon or None


def write_forecasts(d, fcs) -> None:
    """CSV: ``series,step`` then per target its value, or its output columns
    (``TARGET_mean,TARGET_std``; ``TARGET_q0.1,...``)."""
    out = csv.writer(sys.stdout, lineterminator="\n")
    cols = list(fcs[0].columns) if fcs else []
    names = [f"{t}_{c}" for t in d.targets for c in cols] if cols else d.targets
    out.writerow(["series", "step", *names])
    for sid, f in zip(d.ids, fcs):
        for k in range(len(f.point)):
            vals = ([f.columns[c][k, j] for j in range(len(d.targets)) for c in cols]
                    if cols else f.point[k])
            out.writerow([sid, f"+{k + 1}", *(f"{v:.6g}" for v in vals)])


def forecast(args, loaded) -> int:
    """``rnnkit forecast RUN [--data FILE] [--horizon N] [--plot PNG]``."""
    steps = _horizon(args)
    d = loaded.read(args.data)
    fcs = loaded.forecast(d, steps)
    write_forecasts(d, fcs)
    if args.plot:
        f = fcs[0]
        band = None if f.lower is None else (f.lower, f.upper)
        plot_forecast(d.series[0][:, : d.num_targets], None, f.point, Path(args.plot),
                      names=d.targets, title=f"forecast of {Path(args.data or d.path).name}",
                      band=band, band_label=f.interval or "interval")
        print(f"forecast plot: {args.plot}", file=sys.stderr)
    return 0


def predict(args, loaded, read_input) -> int:
    """The next steps after every series of FILE (default: the training file), as
    ``rnnkit forecast``."""
    steps = _horizon(args)
    d = loaded.read(None if args.input == "-" else args.input,
                    data=with_format(loaded.data, args.format))
    write_forecasts(d, loaded.forecast(d, steps))
    return 0


def eval(args, loaded) -> int:  # noqa: A001 - the command's name
    d = loaded.read(args.data)
    report = loaded.evaluate(args.data)
    if args.json:
        print(json.dumps({k: v for k, v in report.items()
                          if k not in ("forecast", "actual", "lower", "upper", "scored")},
                         indent=2))
    else:
        print_forecast_report(report)
    plot = Path(args.plot) if args.plot else (
        Path(args.run) / f"eval-{Path(args.data).name}-forecast.png")
    saved = plot_holdout(report, d.series, d.targets, loaded.data.season, plot,
                         Path(args.data).name)
    if saved is not None:
        print(f"forecast plot: {saved}", file=sys.stderr)
    return 0
