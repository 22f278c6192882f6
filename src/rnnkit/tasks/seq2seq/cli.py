"""The translation model's side of the command line: the validation BLEU after ``rnnkit
train seq2seq``, ``rnnkit translate RUN [FILE|-]`` and ``rnnkit eval RUN --data SRC --ref
REF``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ...cli.common import UserError, print_json


def after_train(args, loaded) -> int:
    report = json.loads((loaded.run / "dev_report.json").read_text())
    for key, rep in report.items():
        if key.startswith("beam"):
            print(f"validation BLEU ({key}, tokenised): {rep['bleu']:.2f}")
    if (loaded.run / "attention.png").is_file():
        print(f"attention heatmap: {loaded.run / 'attention.png'}", file=sys.stderr)
    return 0


def read_stdin_lines(encoding: str) -> list[str]:
    """Standard input split into lines exactly as files are (only at ``\\n``; ``\\r`` and a
    byte-order mark dropped), decoded with ``encoding``."""
    from ...data.lines import split_lines

    raw = sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else sys.stdin.read()
    text = raw.decode(encoding) if isinstance(raw, bytes) else raw
    return split_lines(text.removeprefix("\ufeff"))


def _check(args) -> None:
    if args.beam < 1 or args.n_best < 1 or args.batch_size < 1:
        raise UserError(f"--beam, --n-best and --batch-size must be >= 1, got {args.beam}, "
                        f"{args.n_best} and {args.batch_size}")
    if args.sample and (args.n_best > 1 or args.ref):
        raise UserError("--sample draws one translation per line: it does not go with "
                        "--n-best or --ref (BLEU is scored on beam or greedy output)")
    if args.n_best > args.beam:
        raise UserError(f"--n-best {args.n_best} needs --beam >= {args.n_best}")
    if args.ref and args.n_best > 1:
        raise UserError("--ref scores the best translation: leave out --n-best")


def _score(args, loaded, texts: list[str], encoding: str) -> None:
    from ...data.lines import read_lines

    refs = read_lines(args.ref, encoding)
    if len(refs) != len(texts):
        raise UserError(f"{args.ref} has {len(refs)} lines but the input has {len(texts)}; "
                        "line i must translate line i")
    rep = loaded.score_translations(texts, refs, args.beam, args.length_penalty,
                                    args.batch_size, args.max_len)
    for line in rep["hypotheses"]:
        sys.stdout.write(line + "\n")
    b = rep["bleu_tok"]
    lower = "lowercased, " if loaded.tgt_vocab.lowercase else ""
    print(f"BLEU (tokenised, {lower}beam {args.beam}): {b['bleu']:.2f} (BP {b['bp']:.3f}, "
          f"ratio {b['ratio']:.3f})", file=sys.stderr)
    if "sacrebleu" in rep:
        print(f"sacreBLEU: {rep['sacrebleu']['bleu']:.2f} ({rep['sacrebleu']['signature']})",
              file=sys.stderr)


def translate(args, loaded, sampling) -> int:
    from ...data.lines import read_lines

    _check(args)
    encoding = args.encoding or loaded.data.encoding
    texts = (read_stdin_lines(encoding) if args.input == "-"
             else read_lines(args.input, encoding, allow_empty=True))
    if args.ref:
        _score(args, loaded, texts, encoding)
    elif args.sample:
        kw = sampling.decode_kwargs() | {"greedy": False}
        for item in loaded.translate(texts, 1, 1, batch_size=args.batch_size,
                                     max_len=args.max_len, **kw):
            sys.stdout.write(item + "\n")
    else:
        out = loaded.translate(texts, args.beam, args.n_best, args.length_penalty,
                               args.batch_size, args.max_len)
        for i, item in enumerate(out):
            if args.n_best == 1:
                sys.stdout.write(item + "\n")
            else:
                for text, score in item:
                    sys.stdout.write(f"{i} ||| {text} ||| {score:.4f}\n")
    _attention(args, loaded, texts)
    return 0


def _attention(args, loaded, texts: list[str]) -> None:
    from .attention_plot import save_attention_plot

    first = next((t for t in texts if t.strip()), None)
    if not args.attention or first is None:
        return
    if loaded.model.attention is None:
        print("no attention heatmap: this model was trained with --attention none",
              file=sys.stderr)
        return
    saved = save_attention_plot(loaded.model, loaded.src_vocab, loaded.tgt_vocab, first,
                                Path(args.attention))
    if saved:
        print(f"attention heatmap: {saved}", file=sys.stderr)


def eval(args, loaded) -> int:  # noqa: A001 - the command's name
    """``rnnkit eval RUN --data SRC --ref REF [--beam K]``: a JSON report."""
    if not args.ref:
        raise UserError("a translation run is scored against references: rnnkit eval RUN "
                        "--data SOURCE --ref REFERENCE")
    if args.beam < 1:
        raise UserError(f"--beam must be >= 1, got {args.beam}")
    print_json(loaded.evaluate(args.data, args.ref, args.beam, args.encoding, args.batch_size))
    return 0
