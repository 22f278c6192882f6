"""``rnnkit train series-classify``, ``rnnkit train series-tag``, ``rnnkit train forecast``,
``rnnkit forecast``, and the numeric-series side of ``rnnkit predict`` / ``rnnkit eval``.

``rnnkit train classify`` and ``rnnkit train tag`` hand numeric series over to
``series-classify`` and ``series-tag`` (:func:`route_argv`, called by ``rnnkit.cli.main``
before parsing, so that every option and default of the numeric command applies):

* ``train classify``: ``--data`` ending in ``.ts``, ``.npy``, ``.npz``, ``.parquet`` or
  ``.pq``; ``--format ts|npy|npz|parquet|wide``; or ``--id-col``, ``--time-col`` or
  ``--value-cols`` given (a long-form CSV of series);
* ``train tag``: ``--data`` ending in ``.csv``, ``.npz``, ``.parquet`` or ``.pq``;
  ``--format csv|parquet|npz``; or ``--series-col``, ``--time-col``, ``--label-col`` or
  ``--value-cols`` given;
* either: ``--resume RUN`` of a ``series-classify`` / ``series-tag`` run.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from dataclasses import asdict, replace
from pathlib import Path

from ..tasks.encoder import EncoderConfig
from ..tasks.series import ForecasterConfig, SeriesModelConfig
from ..tasks.series_run import ForecastDataConfig, FrameTagDataConfig, SeriesClassifyDataConfig
from ..tasks.series_tag import FrameTaggerConfig
from ..train.loop import TrainConfig
from .args import add_dataclass_args, build_dataclass
from .classify_cmd import add_run_args, finish, format_report_text, show_report, start
from .progress import finished_run

# With no budget given (see docs/benchmarks.md; the per-frame default is not benchmarked).
DEFAULT_CLASSIFY_EPOCHS = 60.0
DEFAULT_TAG_EPOCHS = 30.0
DEFAULT_FORECAST_STEPS = 500

SERIES_TASKS = ("series-classify", "series-tag", "forecast")


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

    t = kinds.add_parser(
        "series-tag", help="per-frame labeller of numeric series (synchronous many-to-many): "
        "one label per step",
        description="Train a (bi)directional recurrent tagger that labels every frame (time "
        "step) of real-valued series: a CSV or Parquet table with one row per frame (a "
        "--series-col groups the rows into series, a --label-col holds each frame's label, the "
        "features are the other numeric columns or --value-cols), or an .npz with X (N, T, F), "
        "y (N, T) and optional lengths. `rnnkit train tag` on such a file comes here.")
    add_dataclass_args(t, FrameTagDataConfig, group="data")
    add_dataclass_args(t, EncoderConfig, defaults=asdict(FrameTaggerConfig().encoder),
                       group="encoder")
    add_dataclass_args(t, FrameTaggerConfig, skip=("input_size", "num_labels"), group="model")
    add_dataclass_args(t, TrainConfig, group="training")
    add_run_args(t)
    t.set_defaults(func=run_train_tag)

    f = kinds.add_parser(
        "forecast", help="forecaster of numeric series: context -> the next H steps",
        description="Train a recurrent forecaster: --strategy direct (the next --horizon "
        "steps at once) or autoregressive (the next step, rolled out); --output point, "
        "gaussian (mean and standard deviation) or quantile (--quantiles); --covariate-cols: "
        "columns known in advance for the steps forecast. The last --holdout steps of each "
        "series are scored at the end against the seasonal naive forecast.")
    add_dataclass_args(f, ForecastDataConfig, group="data")
    add_dataclass_args(f, EncoderConfig, defaults=asdict(ForecasterConfig().encoder),
                       skip=("bidirectional",), group="encoder")
    add_dataclass_args(f, ForecasterConfig, skip=("num_targets", "num_covariates"),
                       group="model")
    add_dataclass_args(f, TrainConfig, group="training")
    add_run_args(f)
    f.set_defaults(func=run_train_forecast)


def register(sub) -> None:
    p = sub.add_parser("forecast", help="forecast the next steps with a trained forecaster",
                       description="Print the forecast after the end of every series of "
                       "--data (default: the run's training file) as CSV: series,step and "
                       "per target its value (point), TARGET_mean,TARGET_std (gaussian) or "
                       "TARGET_qLEVEL (quantile). A forecaster with covariates reads those "
                       "of the steps forecast from the rows after each history: rows whose "
                       "targets are empty.")
    p.add_argument("run", help="run folder of `rnnkit train forecast`")
    p.add_argument("--data", help="series to continue (read like the training file; "
                   "trailing rows with an empty target hold the future covariates)")
    p.add_argument("--horizon", type=int, default=0,
                   help="steps to forecast (default: the model's horizon; more are rolled out)")
    p.add_argument("--plot", help="save a PNG of the first series and its forecast (and "
                   "interval) here")
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
    if finished_run(run, "series-classify") is None:
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


def run_train_tag(args) -> int:
    from ..tasks.series_run import train_frame_tagger

    data = build_dataclass(FrameTagDataConfig, args)
    enc = build_dataclass(EncoderConfig, args)
    model_cfg = build_dataclass(FrameTaggerConfig, args, encoder=enc)
    train = build_dataclass(TrainConfig, args)
    progress = start(args, train, f"{enc.layers}x{enc.hidden} {enc.cell} per-frame tagger",
                     "frame", DEFAULT_TAG_EPOCHS)
    run = train_frame_tagger(data, model_cfg, train, out=args.out, resume=args.resume,
                             callbacks=[progress])
    return finish(run, "series-tag")


def run_train_forecast(args) -> int:
    from ..tasks.series_run import train_forecaster

    data = build_dataclass(ForecastDataConfig, args)
    enc = build_dataclass(EncoderConfig, args)
    model_cfg = build_dataclass(ForecasterConfig, args, encoder=enc)
    train = build_dataclass(TrainConfig, args)
    if not (train.steps or train.epochs or train.minutes):
        train.steps = DEFAULT_FORECAST_STEPS
    progress = start(args, train, f"{enc.layers}x{enc.hidden} {enc.cell} "
                     f"{model_cfg.strategy} forecaster ({model_cfg.output} output)", "win", 0.0)
    run = train_forecaster(data, model_cfg, train, out=args.out, resume=args.resume,
                           callbacks=[progress])
    if finished_run(run, "forecast") is None:
        return 130
    report_path = run / "test_report.json"
    if report_path.is_file():
        print_forecast_report(json.loads(report_path.read_text()))
        print(f"forecast plot: {run / 'forecast.png'}", file=sys.stderr)
    return 0


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


def run_forecast(args) -> int:
    from ..tasks.forecast_metrics import plot_forecast
    from ..tasks.series_run import forecast_file

    if args.horizon < 0:
        raise ValueError(f"--horizon must be >= 0, got {args.horizon}")
    d, fcs = forecast_file(args.run, args.data, args.horizon or None)
    _write_forecasts(d, fcs)
    if args.plot:
        f = fcs[0]
        band = None if f.lower is None else (f.lower, f.upper)
        plot_forecast(d.series[0][:, : d.num_targets], None, f.point, Path(args.plot),
                      names=d.targets, title=f"forecast of {Path(args.data or d.path).name}",
                      band=band, band_label=f.interval or "interval")
        print(f"forecast plot: {args.plot}", file=sys.stderr)
    return 0


def _write_forecasts(d, fcs) -> None:
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


# rnnkit eval / rnnkit predict on a series run --------------------------------------------------

def run_eval(args, task: str) -> int:
    """Classifier and per-frame tagger: the classification report (accuracy, macro-F1,
    per-class scores, confusion matrix; chunk F1 for BIO frame labels). Forecaster: MAE, RMSE,
    sMAPE and MASE of the last hold-out steps of every series, next to the seasonal naive
    forecast."""
    from ..tasks import series_run

    if task == "series-classify":
        show_report(args, series_run.eval_series_classifier(args.run, args.data,
                                                            batch_size=args.batch_size))
        return 0
    if task == "series-tag":
        show_report(args, series_run.eval_frame_tagger(args.run, args.data,
                                                       batch_size=args.batch_size))
        return 0
    return _eval_forecast(args)


def _eval_forecast(args) -> int:
    from ..tasks.series_run import eval_forecaster, load_forecaster, plot_holdout

    fc = load_forecaster(args.run)
    d = fc.read(args.data)
    report = eval_forecaster(args.run, args.data)
    if args.json:
        print(json.dumps({k: v for k, v in report.items()
                          if k not in ("forecast", "actual", "lower", "upper", "scored")},
                         indent=2))
    else:
        print_forecast_report(report)
    plot = Path(args.plot) if args.plot else (
        Path(args.run) / f"eval-{Path(args.data).name}-forecast.png")
    saved = plot_holdout(report, d.series, d.targets, fc.data.season, plot,
                         Path(args.data).name)
    if saved is not None:
        print(f"forecast plot: {saved}", file=sys.stderr)
    return 0


def run_predict(args, task: str) -> int:
    """CSV on standard output. Classifier: ``series,label,probability`` per series. Per-frame
    tagger: one row per frame, ``SERIES,TIME,LABEL`` (the training's column names; ``series``,
    ``step`` without them). Forecaster: the next steps after every series, as
    ``rnnkit forecast``. The input is read like the training file and normalised with the
    training statistics."""
    from ..tasks import series_run
    from .main import UserError

    path = None if args.input == "-" else args.input
    if path is None and task != "forecast":
        raise UserError(f"a {task} run reads its series from a file: rnnkit predict RUN FILE")
    out = csv.writer(sys.stdout, lineterminator="\n")
    if task == "series-classify":
        clf = series_run.load_series_classifier(args.run, args.checkpoint)
        clf.data = _with_format(clf.data, args.format)
        d = clf.read(path, labels=False)
        probs = clf.predict_proba(d, args.batch_size)
        p, k = probs.max(1)
        out.writerow(["series", "label", "probability"])
        for sid, pi, ki in zip(d.ids, p.tolist(), k.tolist()):
            out.writerow([sid, clf.labels.itos[ki], f"{pi:.4f}"])
        return 0
    if task == "series-tag":
        tagger = series_run.load_frame_tagger(args.run, args.checkpoint)
        tagger.data = _with_format(tagger.data, args.format)
        d = tagger.read(path, labels=False)
        cfg = tagger.data
        out.writerow([cfg.series_col or "series", cfg.time_col or "step",
                      cfg.label_col or "label"])
        for i, tags in enumerate(tagger.predict(d, args.batch_size)):
            times = d.times[i] if d.times else range(len(tags))
            for t, tag in zip(times, tags):
                out.writerow([d.ids[i], t, tag])
        return 0
    if args.horizon < 0:
        raise ValueError(f"--horizon must be >= 0, got {args.horizon}")
    fc = series_run.load_forecaster(args.run, args.checkpoint)
    fc.data = _with_format(fc.data, args.format)
    d = fc.read(path)
    _write_forecasts(d, fc.forecast(d, args.horizon or None))
    return 0


def _with_format(data, fmt: str):
    """The training data configuration, read as ``fmt`` when one is given."""
    from ..data.series import SERIES_FORMATS

    if fmt == "auto":
        return data
    if fmt not in SERIES_FORMATS:
        raise ValueError(f"--format for a numeric-series run must be one of "
                         f"{SERIES_FORMATS}, got {fmt!r}")
    return replace(data, format=fmt)


# train classify / train tag on numeric series --------------------------------------------------

_CLASSIFY_SUFFIXES = (".ts", ".npy", ".npz", ".parquet", ".pq")
_CLASSIFY_FORMATS = ("ts", "npy", "npz", "parquet", "wide")
_TAG_SUFFIXES = (".csv", ".npz", ".parquet", ".pq")
_TAG_FORMATS = ("csv", "parquet", "npz")


class _PreParser(argparse.ArgumentParser):
    def error(self, message):  # never exit: the real parser reports bad options
        raise ValueError(message)


def _series_input(task: str, ns: argparse.Namespace) -> bool:
    from ..train.checkpoint import CheckpointError
    from ..train.run import read_config

    if ns.resume:
        try:
            return read_config(ns.resume).get("task") == f"series-{task}"
        except CheckpointError:
            return False  # the real command reports it
    suffixes, formats = ((_CLASSIFY_SUFFIXES, _CLASSIFY_FORMATS) if task == "classify"
                         else (_TAG_SUFFIXES, _TAG_FORMATS))
    fmt = (ns.format or "auto").lower()
    if fmt in formats:
        return True
    if fmt == "auto" and ns.data and Path(ns.data).suffix.lower() in suffixes:
        return True
    given = ((ns.id_col, ns.time_col, ns.value_cols) if task == "classify"
             else (ns.series_col, ns.time_col, ns.label_col, ns.value_cols))
    return any(v is not None for v in given)


def route_argv(argv: list[str]) -> list[str]:
    """``train classify|tag ...`` on numeric series becomes ``train series-classify|series-tag
    ...`` (the rules are in the module docstring); any other command line is returned as is."""
    i = next((k for k, a in enumerate(argv) if not a.startswith("-")), None)
    if i is None or argv[i] != "train" or i + 1 >= len(argv) or argv[i + 1] not in (
            "classify", "tag"):
        return argv
    task = argv[i + 1]
    pre = _PreParser(add_help=False, allow_abbrev=False)
    for opt in ("--data", "--format", "--resume", "--id-col", "--series-col", "--time-col",
                "--label-col", "--value-cols"):
        pre.add_argument(opt)
    try:
        ns, _ = pre.parse_known_args(argv[i + 2 :])
    except ValueError:
        return argv
    if not _series_input(task, ns):
        return argv
    return [*argv[: i + 1], f"series-{task}", *argv[i + 2 :]]
