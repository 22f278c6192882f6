"""``rnnkit train tag``, and the tagging side of ``rnnkit predict`` / ``rnnkit eval``."""

from __future__ import annotations

import sys
from dataclasses import asdict
from pathlib import Path

from ..tasks.encoder import EncoderConfig
from ..tasks.tag import TaggerConfig
from ..tasks.tag_run import TagDataConfig
from ..train.loop import TrainConfig
from .args import add_dataclass_args, build_dataclass
from .classify_cmd import add_run_args, finish, show_report, start

# With no budget given, train for this many epochs (see docs/classify_tag.md).
DEFAULT_EPOCHS = 6.0


def register_train(kinds) -> None:
    p = kinds.add_parser(
        "tag", help="sequence tagger (synchronous many-to-many): one tag per word",
        description="Train a bidirectional recurrent tagger (optionally with char-level word "
        "features and a CRF output layer) on CoNLL-U or whitespace-column files. Numeric "
        "frames (--data ending in .csv, .npz, .parquet or .pq; --format csv|parquet|npz; or "
        "--series-col, --time-col, --label-col or --value-cols given) are labelled frame by "
        "frame by `rnnkit train series-tag` instead: see its --help for its options.")
    add_dataclass_args(p, TagDataConfig, group="data")
    add_dataclass_args(p, EncoderConfig, defaults=asdict(TaggerConfig().encoder),
                       group="encoder")
    add_dataclass_args(p, TaggerConfig, skip=("vocab_size", "num_tags", "char_vocab_size"),
                       group="model")
    add_dataclass_args(p, TrainConfig, group="training")
    add_run_args(p)
    p.set_defaults(func=run_train)


def run_train(args) -> int:
    from ..tasks.tag_run import train_tagger

    data = build_dataclass(TagDataConfig, args)
    enc = build_dataclass(EncoderConfig, args)
    model_cfg = build_dataclass(TaggerConfig, args, encoder=enc)
    train = build_dataclass(TrainConfig, args)
    what = f"{enc.layers}x{enc.hidden} {enc.cell} tagger" + (" + CRF" if model_cfg.crf else "")
    progress = start(args, train, what, "tok", DEFAULT_EPOCHS)
    run = train_tagger(data, model_cfg, train, out=args.out, resume=args.resume,
                       callbacks=[progress])
    return finish(run, "tag")


def run_eval(args) -> int:
    from ..tasks.tag_run import eval_tagger_file

    show_report(args, eval_tagger_file(args.run, args.data, args.encoding, args.batch_size))
    return 0


def run_predict(args, read_input) -> int:
    """Print the tags of each sentence, space-separated, one sentence per line (``--words``:
    ``word/TAG`` pairs). Input: one sentence per line (words split on whitespace), or a
    CoNLL-U / ``--format columns`` file."""
    from ..data.conllu import read_tagged
    from ..tasks.tag_run import load_tagger

    tagger = load_tagger(args.run, args.checkpoint)
    encoding = args.encoding or tagger.data.encoding
    name = Path(args.input).name.lower().removesuffix(".gz")
    fmt = args.format if args.format != "auto" else (
        "conllu" if name.endswith(".conllu") else "lines")
    if args.input == "-" or fmt == "lines":
        sentences = [ln.split() for ln in read_input(encoding)]
    else:
        sentences = [s.words for s in read_tagged(args.input, fmt, None, tagger.data.word_col,
                                                  encoding)]
    for words, tags in zip(sentences, tagger.tag(sentences, args.batch_size)):
        if args.words:
            sys.stdout.write(" ".join(f"{w}/{t}" for w, t in zip(words, tags)) + "\n")
        else:
            sys.stdout.write(" ".join(tags) + "\n")
    return 0
