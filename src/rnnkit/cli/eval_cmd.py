"""``rnnkit eval RUN --data FILE``: dispatches on the run's task. A language model: loss,
perplexity and bits/char on any text; a classifier or tagger (of texts, or of numeric series
and frames): accuracy, macro-F1, per-class scores and the confusion matrix (printed and saved
as a PNG), chunk F1 for BIO tags; a forecaster: MAE, RMSE, sMAPE and MASE of the last hold-out
steps of every series next to the seasonal naive forecast (and a PNG of the first series);
a translation model (``--data SOURCE --ref REFERENCE``): loss and perplexity of the references,
tokenised BLEU and sacreBLEU of its beam-search translations."""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("eval", help="evaluate a trained model on a file")
    p.add_argument("run", metavar="RUN", help="run folder")
    p.add_argument("--data", required=True, help="file or folder to evaluate on (numeric "
                   "series: read like the training file)")
    p.add_argument("--encoding", default=None,
                   help="text encoding (default: utf-8 for a language model, else training's)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--plot", default=None, help="classify/tag: confusion-matrix PNG path "
                   "(default: RUN/eval-NAME-confusion.png); forecast: forecast PNG path "
                   "(default: RUN/eval-NAME-forecast.png)")
    p.add_argument("--ref", default=None,
                   help="seq2seq: reference translations aligned with --data (required)")
    p.add_argument("--beam", type=int, default=5, help="seq2seq: beam size (1: greedy)")
    p.add_argument("--json", action="store_true",
                   help="classify/tag/forecast: print the report as JSON")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..tasks.lm_run import eval_lm_file
    from ..train.run import read_config
    from .main import print_json

    task = read_config(args.run).get("task")
    if task in ("classify", "tag"):  # dispatch on the run's task
        from . import classify_cmd, tag_cmd

        return (classify_cmd if task == "classify" else tag_cmd).run_eval(args)
    if task == "seq2seq":
        from .seq2seq_cmd import run_eval

        return run_eval(args)
    if task == "generate":
        from .main import UserError

        raise UserError(f"{args.run}: a generator run is evaluated when it is trained (see "
                        f"{args.run}/report.json); sample it with `rnnkit sample {args.run} "
                        "--condition ...`")
    from . import series_cmd

    if task in series_cmd.SERIES_TASKS:
        return series_cmd.run_eval(args, task)
    m = eval_lm_file(args.run, args.data, args.encoding or "utf-8", args.batch_size)
    print_json({k: round(v, 5) if isinstance(v, float) else v for k, v in m.items()})
    return 0
