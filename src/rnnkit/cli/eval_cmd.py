"""``rnnkit eval RUN --data FILE``: the run's task scores it. A language model: loss,
perplexity and bits/char on any text; a classifier or tagger (of texts, or of numeric series
and frames): accuracy, macro-F1, per-class scores and the confusion matrix (printed and saved
as a PNG), chunk F1 for BIO tags; a forecaster: MAE, RMSE, sMAPE and MASE of the last hold-out
steps of every series next to the seasonal naive forecast (and a PNG of the first series);
a translation model (``--data SOURCE --ref REFERENCE``): loss and perplexity of the references,
tokenised BLEU and sacreBLEU of its beam-search translations."""

from __future__ import annotations

from .dispatch import add_device, run_command


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
    p.add_argument("--checkpoint", choices=["best", "last"], default="best")
    add_device(p)
    p.set_defaults(func=lambda args: run_command("eval", args))
