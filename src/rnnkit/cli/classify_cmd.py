"""``rnnkit train classify``, and the classify side of ``rnnkit predict`` / ``rnnkit eval``."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path

from ..tasks.classify import ClassifierConfig
from ..tasks.classify_run import ClassifyDataConfig
from ..tasks.encoder import EncoderConfig
from ..train.loop import TrainConfig
from .args import add_dataclass_args, build_dataclass
from .progress import Progress, finished_run

# With no budget given, train for this many epochs (see docs/classify_tag.md).
DEFAULT_EPOCHS = 6.0
# Training defaults that differ from TrainConfig's (the rt-polarity benchmark's settings).
TRAIN_DEFAULTS = {"lr": 1e-3}
# Model defaults that differ from ClassifierConfig's: the n-gram branch, with its weight chosen
# on the validation data (+2 points on rt-polarity; ClassifierConfig keeps 0, so that runs
# saved before the branch existed load as they were trained).
MODEL_DEFAULTS = {"ngram_weight": -1.0}


def register_train(kinds) -> None:
    p = kinds.add_parser(
        "classify", help="sequence classifier (many-to-one): text -> label",
        description="Train a (bi)directional recurrent classifier on labelled texts: a CSV, TSV "
        "or JSONL file with chosen text and label columns, or a folder with one file of "
        "examples per label (e.g. rt-polarity.pos / rt-polarity.neg). Numeric series (--data "
        "ending in .ts, .npy, .npz, .parquet or .pq; --format ts|npy|npz|parquet|wide; or "
        "--id-col, --time-col or --value-cols given) are classified by "
        "`rnnkit train series-classify` instead: see its --help for its options.")
    add_dataclass_args(p, ClassifyDataConfig, group="data")
    add_dataclass_args(p, EncoderConfig, defaults=asdict(ClassifierConfig().encoder),
                       group="encoder")
    add_dataclass_args(p, ClassifierConfig, skip=("vocab_size", "num_classes", "char_vocab_size"),
                       defaults=MODEL_DEFAULTS, group="model")
    add_dataclass_args(p, TrainConfig, defaults=TRAIN_DEFAULTS, group="training")
    add_run_args(p)
    p.set_defaults(func=run_train)


def add_run_args(p) -> None:
    p.add_argument("--out", default="runs", help="folder for run folders")
    p.add_argument("--resume", metavar="RUN", help="continue the run in this folder")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: all cores)")


def start(args, train: TrainConfig, what: str, unit: str, epochs: float) -> Progress:
    """Threads, the default budget (``epochs``) and a progress printer."""
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    if getattr(args, "resume", None):
        # A resumed run trains under its saved configuration, whatever the options say.
        from ..train.run import read_config

        saved = read_config(args.resume)
        train = TrainConfig(**saved["train"])
        print(f"resuming the {saved.get('task')} run in {args.resume}", file=sys.stderr)
    else:
        if not (train.steps or train.epochs or train.minutes):
            train.epochs = epochs
        print(f"training a {what} on {args.data}", file=sys.stderr)
    return Progress(budget_s=train.minutes * 60 if train.minutes else None, steps=train.steps,
                    unit=unit)


def finish(run: Path, kind: str) -> int:
    """Print where the run is and its validation report; 130 when interrupted."""
    if finished_run(run, kind) is None:
        return 130
    report = json.loads((run / "dev_report.json").read_text())
    print("validation (best checkpoint):")
    print(format_report_text(report))
    if "components" in report:
        c = report["components"]
        print(f"components: recurrent accuracy {c['rnn_accuracy']:.4f}, n-gram model accuracy "
              f"{c['ngram_accuracy']:.4f} ({c['ngrams']} n-grams); n-gram weight "
              f"{c['ngram_weight']:g}")
    if (run / "confusion.png").is_file():
        print(f"confusion matrix plot: {run / 'confusion.png'}", file=sys.stderr)
    return 0


def format_report_text(report: dict) -> str:
    from ..tasks.metrics import format_report

    return format_report(report)


def run_train(args) -> int:
    from ..tasks.classify_run import train_classifier

    data = build_dataclass(ClassifyDataConfig, args)
    enc = build_dataclass(EncoderConfig, args)
    model_cfg = build_dataclass(ClassifierConfig, args, encoder=enc)
    train = build_dataclass(TrainConfig, args)
    progress = start(args, train, f"{enc.layers}x{enc.hidden} {enc.cell} classifier", "seq",
                     DEFAULT_EPOCHS)
    run = train_classifier(data, model_cfg, train, out=args.out, resume=args.resume,
                           callbacks=[progress])
    return finish(run, "classify")


def show_report(args, report: dict) -> None:
    """Print an evaluation report (text or JSON) and save its confusion-matrix PNG."""
    from ..tasks.metrics import plot_confusion

    plot = Path(args.plot) if args.plot else (
        Path(args.run) / f"eval-{Path(args.data).name}-confusion.png")
    saved = plot_confusion(report, plot, title=f"{Path(args.data).name}: accuracy "
                           f"{report['accuracy']:.4f}")
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(format_report_text(report))
    if saved is not None:
        print(f"confusion matrix plot: {saved}", file=sys.stderr)


def run_eval(args) -> int:
    from ..tasks.classify_run import eval_classifier_file

    show_report(args, eval_classifier_file(args.run, args.data, args.encoding, args.batch_size))
    return 0


def run_predict(args, read_input) -> int:
    """Print ``label<TAB>probability`` per input text (an empty line for a blank one)."""
    from ..data.tables import detect_format, read_examples
    from ..tasks.classify_run import load_classifier, predict_texts

    clf = load_classifier(args.run, args.checkpoint)
    fmt = "lines" if args.input == "-" else detect_format(args.input, args.format)
    if fmt == "lines":
        texts = read_input(args.encoding or clf.data.encoding)
    else:
        text_col = args.text_col if args.text_col is not None else clf.data.text_col
        texts = [e.text for e in read_examples(args.input, fmt, text_col, None, clf.data.header,
                                               args.encoding or clf.data.encoding)]
    keep = [i for i, t in enumerate(texts) if t.strip()]
    preds = dict(zip(keep, predict_texts(clf, [texts[i] for i in keep], args.batch_size)))
    for i in range(len(texts)):
        if i in preds:
            label, p = preds[i]
            sys.stdout.write(f"{label}\t{p:.4f}\n")
        else:
            sys.stdout.write("\n")
    return 0
