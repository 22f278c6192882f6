"""``rnnkit train series-classify``, ``rnnkit train forecast`` and ``rnnkit forecast``."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path

from ..tasks.encoder import EncoderConfig
from ..tasks.series import ForecasterConfig, SeriesModelConfig
from ..tasks.series_run import ForecastDataConfig, SeriesClassifyDataConfig
from ..train.loop import TrainConfig
from .args import add_dataclass_args, build_dataclass
from .classify_cmd import add_run_args, format_report_text, start

# With no budget given (see docs/benchmarks.md).
DEFAULT_CLASSIFY_EPOCHS = 60.0
DEFAULT_FORECAST_STEPS = 500


def register_train(kinds) -> None:
    p = kinds.add_parser(
        "series-classify", help="classifier of numeric series (many-to-one): (T, F) -> label",
        description="Train a recurrent classifier on real-valued series: a UCR/UEA .ts file, "
        ".npy/.npz (X, y, lengths) or CSV (long form with --id-col, or --format wide).")
    add_dataclass_args(p, SeriesClassifyDataConfig, group="data")
    add_dataclass_args(p, EncoderConfig, defaults=asdict(SeriesModelConfig().encoder),
                       group="encoder")
    add_dataclass_args(p, SeriesModelConfig, skip=("input_size", "num_outputs"), group="model")
    add_dataclass_args(p, TrainConfig, group="training")
    add_run_args(p)
    p.add_argument("--test", metavar="FILE",
                   help="after training, score the best checkpoint once on these labelled "
                   "series (written to RUN/test_report.json)")
    p.set_defaults(func=run_train_classify)

    f = kinds.add_parser(
        "forecast", help="forecaster of numeric series: context -> the next H steps",
        description="Train a direct multi-output recurrent forecaster. The last --holdout "
        "steps of each series are scored at the end against the seasonal naive forecast.")
    add_dataclass_args(f, ForecastDataConfig, group="data")
    add_dataclass_args(f, EncoderConfig, defaults=asdict(ForecasterConfig().encoder),
                       skip=("bidirectional",), group="encoder")
    add_dataclass_args(f, ForecasterConfig, skip=("num_targets",), group="model")
    add_dataclass_args(f, TrainConfig, group="training")
    add_run_args(f)
    f.set_defaults(func=run_train_forecast)


def register(sub) -> None:
    p = sub.add_parser("forecast", help="forecast the next steps with a trained forecaster",
                       description="Print the forecast after the end of every series of "
                       "--data (default: the run's training file) as CSV: series,step,values.")
    p.add_argument("run", help="run folder of `rnnkit train forecast`")
    p.add_argument("--data", help="series to continue (read like the training file)")
    p.add_argument("--horizon", type=int, default=0,
                   help="steps to forecast (default: the model's horizon; more are rolled out)")
    p.add_argument("--plot", help="save a PNG of the first series and its forecast here")
    p.set_defaults(func=run_forecast)


def run_train_classify(args) -> int:
    from ..tasks.series_run import train_series_classifier

    data = build_dataclass(SeriesClassifyDataConfig, args)
    enc = build_dataclass(EncoderConfig, args)
    model_cfg = build_dataclass(SeriesModelConfig, args, encoder=enc)
    train = build_dataclass(TrainConfig, args)
    progress = start(args, train, f"{enc.layers}x{enc.hidden} {enc.cell} series classifier",
                     "seq", DEFAULT_CLASSIFY_EPOCHS)
    run = train_series_classifier(data, model_cfg, train, out=args.out, resume=args.resume,
                                  callbacks=[progress])
    print(f"run folder: {run}", file=sys.stderr)
    summary = json.loads((run / "summary.json").read_text())
    if summary["stopped"] == "interrupted":
        print(f"interrupted; continue with: rnnkit train series-classify --resume {run}",
              file=sys.stderr)
        return 130
    print("validation (best checkpoint):")
    print(format_report_text(json.loads((run / "dev_report.json").read_text())))
    if args.test:
        from ..tasks.series_run import eval_series_classifier
        from ..train.run import write_json

        report = eval_series_classifier(run, args.test)
        write_json(run / "test_report.json", report)
        print(f"test {args.test} (best checkpoint):")
        print(format_report_text(report))
    return 0


def run_train_forecast(args) -> int:
    from ..tasks.series_run import train_forecaster

    data = build_dataclass(ForecastDataConfig, args)
    enc = build_dataclass(EncoderConfig, args)
    model_cfg = build_dataclass(ForecasterConfig, args, encoder=enc)
    train = build_dataclass(TrainConfig, args)
    if not (train.steps or train.epochs or train.minutes):
        train.steps = DEFAULT_FORECAST_STEPS
    progress = start(args, train, f"{enc.layers}x{enc.hidden} {enc.cell} forecaster", "win",
                     0.0)
    run = train_forecaster(data, model_cfg, train, out=args.out, resume=args.resume,
                           callbacks=[progress])
    print(f"run folder: {run}", file=sys.stderr)
    summary = json.loads((run / "summary.json").read_text())
    if summary["stopped"] == "interrupted":
        print(f"interrupted; continue with: rnnkit train forecast --resume {run}",
              file=sys.stderr)
        return 130
    report_path = run / "test_report.json"
    if report_path.is_file():
        r = json.loads(report_path.read_text())
        print(f"hold-out: last {r['holdout']} steps (season {r['model']['season']})")
        print(f"{'':16}{'MAE':>10}{'RMSE':>10}{'sMAPE%':>9}{'MASE':>8}")
        for name in ("model", "seasonal_naive"):
            s = r[name]
            print(f"{name:16}{s['mae']:10.4g}{s['rmse']:10.4g}{s['smape']:9.3f}{s['mase']:8.3f}")
        print(f"forecast plot: {run / 'forecast.png'}", file=sys.stderr)
    return 0


def run_forecast(args) -> int:
    from ..tasks.forecast_metrics import plot_forecast
    from ..tasks.series_run import forecast_file

    if args.horizon < 0:
        raise ValueError(f"--horizon must be >= 0, got {args.horizon}")
    d, preds = forecast_file(args.run, args.data, args.horizon or None)
    print(",".join(["series", "step", *d.features]))
    for sid, p in zip(d.ids, preds):
        for k, row in enumerate(p, 1):
            print(",".join([sid, f"+{k}", *(f"{v:.6g}" for v in row)]))
    if args.plot:
        plot_forecast(d.series[0], None, preds[0], Path(args.plot), names=d.features,
                      title=f"forecast of {Path(args.data or d.path).name}")
        print(f"forecast plot: {args.plot}", file=sys.stderr)
    return 0
