"""``rnnkit forecast RUN``: the next steps after every series, from a trained forecaster."""

from __future__ import annotations

from .dispatch import add_device, run_command


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
    p.add_argument("--checkpoint", choices=["best", "last"], default="best")
    add_device(p)
    p.set_defaults(func=lambda args: run_command("forecast", args))
