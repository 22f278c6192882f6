"""The classifier's side of the command line: the report after ``rnnkit train classify``,
``rnnkit predict RUN [FILE|-]`` and ``rnnkit eval RUN --data FILE``."""

from __future__ import annotations

import json
import sys

from ...cli.common import print_dev_report, show_report


def after_train(args, loaded) -> int:
    print_dev_report(loaded.run)
    report = json.loads((loaded.run / "dev_report.json").read_text())
    if "components" in report:
        c = report["components"]
        print(f"components: recurrent accuracy {c['rnn_accuracy']:.4f}, n-gram model accuracy "
              f"{c['ngram_accuracy']:.4f} ({c['ngrams']} n-grams); n-gram weight "
              f"{c['ngram_weight']:g}")
    return 0


def eval(args, loaded) -> int:  # noqa: A001 - the command's name
    show_report(args, loaded.evaluate(args.data, args.encoding, args.batch_size))
    return 0


def predict(args, loaded, read_input) -> int:
    """Print ``label<TAB>probability`` per input text (an empty line for a blank one)."""
    from ...data.tables import detect_format, read_examples

    fmt = "lines" if args.input == "-" else detect_format(args.input, args.format)
    encoding = args.encoding or loaded.data.encoding
    if fmt == "lines":
        texts = read_input(encoding)
    else:
        text_col = args.text_col if args.text_col is not None else loaded.data.text_col
        texts = [e.text for e in read_examples(args.input, fmt, text_col, None,
                                               loaded.data.header, encoding)]
    keep = [i for i, t in enumerate(texts) if t.strip()]
    preds = dict(zip(keep, loaded.predict([texts[i] for i in keep], args.batch_size)))
    for i in range(len(texts)):
        if i in preds:
            label, p = preds[i]
            sys.stdout.write(f"{label}\t{p:.4f}\n")
        else:
            sys.stdout.write("\n")
    return 0
