"""The tagger's side of the command line: the report after ``rnnkit train tag``,
``rnnkit predict RUN [FILE|-]`` and ``rnnkit eval RUN --data FILE``."""

from __future__ import annotations

import sys
from pathlib import Path

from ...cli.common import print_dev_report, show_report


def after_train(args, loaded) -> int:
    print_dev_report(loaded.run)
    return 0


def eval(args, loaded) -> int:  # noqa: A001 - the command's name
    show_report(args, loaded.evaluate(args.data, args.encoding, args.batch_size))
    return 0


def predict(args, loaded, read_input) -> int:
    """Print the tags of each sentence, space-separated, one sentence per line (``--words``:
    ``word/TAG`` pairs). Input: one sentence per line (words split on whitespace), or a
    CoNLL-U / ``--format columns`` file (which a run with feature columns needs: it reads
    them next to the words)."""
    encoding = args.encoding or loaded.data.encoding
    name = Path(args.input).name.lower().removesuffix(".gz")
    fmt = args.format if args.format != "auto" else (
        "conllu" if name.endswith(".conllu") else "lines")
    features = None
    if args.input == "-" or fmt == "lines":
        if loaded.features is not None:
            raise ValueError(f"{loaded.run} reads the feature columns "
                             f"{', '.join(loaded.feature_columns)} next to the words: give a "
                             "file that has them (CoNLL-U, or --format columns), not one "
                             "sentence per line")
        sentences = [ln.split() for ln in read_input(encoding)]
    else:
        read = loaded.read(args.input, tags=False, encoding=encoding, fmt=fmt)
        sentences = [s.words for s in read]
        if loaded.features is not None:
            features = [list(zip(*s.features)) for s in read]
    for words, tags in zip(sentences, loaded.tag(sentences, args.batch_size, features)):
        if args.words:
            sys.stdout.write(" ".join(f"{w}/{t}" for w, t in zip(words, tags)) + "\n")
        else:
            sys.stdout.write(" ".join(tags) + "\n")
    return 0
