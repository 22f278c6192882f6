"""``rnnkit train seq2seq`` and ``rnnkit translate``."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path

from ..tasks.seq2seq import Seq2SeqConfig
from ..tasks.seq2seq_run import Seq2SeqDataConfig
from ..train.loop import TrainConfig
from .args import add_dataclass_args, build_dataclass
from .classify_cmd import add_run_args
from .progress import finished_run

# With no budget given, train this many epochs (the Multi30k recipe, docs/seq2seq.md).
DEFAULT_EPOCHS = 10.0
TRAIN_DEFAULTS = {"lr": 1e-3, "warmup_steps": 100}


def register_train(kinds) -> None:
    from ..tasks.encoder import EncoderConfig

    p = kinds.add_parser(
        "seq2seq", help="encoder-decoder with attention (delayed many-to-many): translation",
        description="Train a translation model on parallel text: two aligned files (--src, "
        "--tgt; line i of one translates line i of the other) or one TSV/CSV of pairs (--src "
        "only, with --src-col/--tgt-col). Bidirectional encoder, attention decoder.")
    add_dataclass_args(p, Seq2SeqDataConfig, group="data")
    add_dataclass_args(p, EncoderConfig, defaults=asdict(Seq2SeqConfig().encoder),
                       group="encoder")
    add_dataclass_args(p, Seq2SeqConfig, skip=("src_vocab", "tgt_vocab", "pad_id", "bos_id",
                                               "eos_id"), group="model")
    add_dataclass_args(p, TrainConfig, defaults=TRAIN_DEFAULTS, group="training")
    add_run_args(p)
    p.add_argument("--beam", type=int, default=5,
                   help="after training, also score the validation pairs with this beam")
    p.set_defaults(func=run_train)


def register(sub) -> None:
    p = sub.add_parser(
        "translate", help="translate text with a trained seq2seq model",
        description="Read one sentence per line from FILE or standard input and print one "
        "translation per line (with --n-best N: 'i ||| translation ||| score' lines). With "
        "--ref, also print BLEU against the reference file to standard error.")
    p.add_argument("run", metavar="RUN", help="run folder of `rnnkit train seq2seq`")
    p.add_argument("input", metavar="FILE", nargs="?", default="-",
                   help="source sentences, one per line, or - for standard input (default)")
    p.add_argument("--beam", type=int, default=5, help="beam size (1: greedy)")
    p.add_argument("--n-best", type=int, default=1, help="print the N best translations")
    p.add_argument("--length-penalty", type=float, default=1.0,
                   help="beam score = log-probability / length ** this (0: none)")
    p.add_argument("--max-len", type=int, default=None,
                   help="at most this many output tokens (default: 2 x source + 10)")
    p.add_argument("--sample", action="store_true",
                   help="sample each output token instead of searching (with --temperature, "
                   "--top-k, --top-p, --seed); ignores --beam")
    p.add_argument("--temperature", type=float, default=1.0, help="sampling temperature")
    p.add_argument("--top-k", type=int, default=None, help="sample from the k likeliest tokens")
    p.add_argument("--top-p", type=float, default=None, help="nucleus sampling mass")
    p.add_argument("--seed", type=int, default=0, help="sampling seed (reproducible output)")
    p.add_argument("--ref", default=None, help="reference translations: print BLEU")
    p.add_argument("--attention", default=None, metavar="PNG",
                   help="save the attention heatmap of the first sentence here")
    p.add_argument("--encoding", default=None, help="input encoding (default: training's)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--checkpoint", choices=["best", "last"], default="best")
    p.set_defaults(func=run_translate)


def run_train(args) -> int:
    from ..tasks.encoder import EncoderConfig
    from ..tasks.seq2seq_run import train_seq2seq
    from .classify_cmd import start
    from .main import UserError

    if args.beam < 1:
        raise UserError(f"--beam must be >= 1, got {args.beam}")
    data = build_dataclass(Seq2SeqDataConfig, args)
    enc = build_dataclass(EncoderConfig, args)
    model_cfg = build_dataclass(Seq2SeqConfig, args, encoder=enc)
    train = build_dataclass(TrainConfig, args)
    args.data = args.src
    progress = start(args, train, f"{enc.cell} encoder-decoder ({model_cfg.attention} "
                     "attention)", "tok", DEFAULT_EPOCHS)
    run = train_seq2seq(data, model_cfg, train, out=args.out, resume=args.resume,
                        callbacks=[progress], final_beam=args.beam)
    if finished_run(run, "seq2seq") is None:
        return 130
    report = json.loads((run / "dev_report.json").read_text())
    for key, rep in report.items():
        if key.startswith("beam"):
            print(f"validation BLEU ({key}, tokenised): {rep['bleu']:.2f}")
    if (run / "attention.png").is_file():
        print(f"attention heatmap: {run / 'attention.png'}", file=sys.stderr)
    return 0


def run_translate(args) -> int:
    from ..data.lines import read_lines
    from ..tasks.seq2seq_run import load_translator, save_attention_plot, score_translations
    from ..tasks.seq2seq_run import translate as translate_texts
    from .main import UserError

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
    tr = load_translator(args.run, args.checkpoint)
    encoding = args.encoding or tr.data.encoding
    texts = (read_stdin_lines(encoding) if args.input == "-"
             else read_lines(args.input, encoding, allow_empty=True))
    if args.ref:
        refs = read_lines(args.ref, encoding)
        if len(refs) != len(texts):
            raise UserError(f"{args.ref} has {len(refs)} lines but the input has "
                            f"{len(texts)}; line i must translate line i")
        rep = score_translations(tr, texts, refs, args.beam, args.length_penalty,
                                 args.batch_size, args.max_len)
        for line in rep["hypotheses"]:
            sys.stdout.write(line + "\n")
        b = rep["bleu_tok"]
        print(f"BLEU (tokenised, {'lowercased, ' if tr.tgt_vocab.lowercase else ''}beam "
              f"{args.beam}): {b['bleu']:.2f} (BP {b['bp']:.3f}, ratio {b['ratio']:.3f})",
              file=sys.stderr)
        if "sacrebleu" in rep:
            print(f"sacreBLEU: {rep['sacrebleu']['bleu']:.2f} ({rep['sacrebleu']['signature']})",
                  file=sys.stderr)
    elif args.sample:
        import torch

        out = translate_texts(tr, texts, 1, 1, batch_size=args.batch_size,
                              max_len=args.max_len, greedy=False,
                              temperature=args.temperature, top_k=args.top_k,
                              top_p=args.top_p,
                              generator=torch.Generator().manual_seed(args.seed))
        for item in out:
            sys.stdout.write(item + "\n")
    else:
        out = translate_texts(tr, texts, args.beam, args.n_best, args.length_penalty,
                              args.batch_size, args.max_len)
        for i, item in enumerate(out):
            if args.n_best == 1:
                sys.stdout.write(item + "\n")
            else:
                for text, score in item:
                    sys.stdout.write(f"{i} ||| {text} ||| {score:.4f}\n")
    first = next((t for t in texts if t.strip()), None)
    if args.attention and first is not None:
        if tr.model.attention is None:
            print("no attention heatmap: this model was trained with --attention none",
                  file=sys.stderr)
        else:
            saved = save_attention_plot(tr.model, tr.src_vocab, tr.tgt_vocab, first,
                                        Path(args.attention))
            if saved:
                print(f"attention heatmap: {saved}", file=sys.stderr)
    return 0


def read_stdin_lines(encoding: str) -> list[str]:
    """Standard input split into lines exactly as files are (only at ``\n``; ``\r`` and a
    byte-order mark dropped), decoded with ``encoding``."""
    raw = sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else sys.stdin.read()
    text = raw.decode(encoding) if isinstance(raw, bytes) else raw
    from ..data.lines import split_lines

    return split_lines(text.removeprefix("\ufeff"))


def run_eval(args) -> int:
    """``rnnkit eval RUN --data SRC --ref REF [--beam K]``: a JSON report."""
    from ..tasks.seq2seq_run import eval_translation_files
    from .main import UserError, print_json

    if not args.ref:
        raise UserError("a translation run is scored against references: rnnkit eval RUN "
                        "--data SOURCE --ref REFERENCE")
    if args.beam < 1:
        raise UserError(f"--beam must be >= 1, got {args.beam}")
    report = eval_translation_files(args.run, args.data, args.ref, args.beam, args.encoding,
                                    args.batch_size)
    print_json(report)
    return 0
