"""``rnnkit train generate``, and the generator side of ``rnnkit sample RUN --condition ...``."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path

from ..tasks.encoder import EncoderConfig
from ..tasks.generate import GeneratorConfig
from ..tasks.generate_run import DIGITS, GenerateDataConfig
from ..train.loop import TrainConfig
from .args import add_dataclass_args, build_dataclass
from .classify_cmd import add_run_args, start
from .progress import finished_run

# With no budget given, train for this many epochs (see docs/generate.md).
DEFAULT_EPOCHS = {DIGITS: 8.0, "texts": 12.0}
SET_FROM_DATA = ("vocab_size", "condition", "num_classes", "image_height", "image_width")


def register_train(kinds) -> None:
    p = kinds.add_parser(
        "generate", help="conditioned generator (one-to-many): label or image -> sequence",
        description="Train a generator whose initial state (and every step's input) comes from "
        "one condition vector: a label's embedding (--data FOLDER: one file of texts per label, "
        "e.g. names per language, or a CSV/TSV/JSONL file with text and label columns), or an "
        "image through a small CNN (--data digits: built-in captioning of rows of handwritten "
        "digits, held-out test images). Sample with `rnnkit sample RUN --condition ...`.")
    add_dataclass_args(p, GenerateDataConfig, group="data")
    add_dataclass_args(p, EncoderConfig, skip=("bidirectional",),
                       defaults=asdict(GeneratorConfig().encoder), group="decoder")
    add_dataclass_args(p, GeneratorConfig, skip=SET_FROM_DATA, group="model")
    add_dataclass_args(p, TrainConfig, group="training")
    add_run_args(p)
    p.set_defaults(func=run_train)


def run_train(args) -> int:
    from ..tasks.generate_run import train_generator

    data = build_dataclass(GenerateDataConfig, args)
    enc = build_dataclass(EncoderConfig, args)
    model_cfg = build_dataclass(GeneratorConfig, args, encoder=enc)
    train = build_dataclass(TrainConfig, args)
    what = "digit captioner" if data.kind == DIGITS else "conditioned generator"
    progress = start(args, train, f"{enc.layers}x{enc.hidden} {enc.cell} {what}", "tok",
                     DEFAULT_EPOCHS[data.kind])
    run = train_generator(data, model_cfg, train, out=args.out, resume=args.resume,
                          callbacks=[progress])
    if finished_run(run, "generate") is None:
        return 130
    print(format_report(json.loads((run / "report.json").read_text())))
    print(f"sample: rnnkit sample {run} --condition "
          f"{'3,1,4' if data.kind == DIGITS else 'LABEL'}", file=sys.stderr)
    return 0


def format_report(report: dict) -> str:
    """The run's ``report.json`` as a short text."""
    if report["kind"] == DIGITS:
        lines = ["held-out test composites (source images never seen in training):"]
        for key in ("test", "test_beam5"):
            r = report[key]
            by = ", ".join(f"{k}: {v:.3f}" for k, v in r["exact_match_by_digits"].items())
            lines.append(f"  {r['decoding']:>7}: exact match {r['exact_match']:.4f}, token "
                         f"accuracy {r['token_acc']:.4f} (n {r['n']}; exact by digits {by})")
        for s in report["samples"]:
            lines.append(f"  {s['condition']}: {s['caption']!r} (truth {s['truth']!r})")
        return "\n".join(lines)
    width = max(len(k) for k in report["per_label"]) if report["per_label"] else 5
    lines = [f"validation perplexity per token (end token included): "
             f"{report['all']['ppl']:.3f} with the label, {report['label_unknown_ppl']:.3f} "
             "without (mixture over labels)",
             f"{'label':<{width}}  {'ppl':>6}  {'texts':>5}  samples (temperature 0.8)"]
    for label, r in report["per_label"].items():
        ppl = f"{r['ppl']:6.3f}" if r.get("ppl") is not None else f"{'-':>6}"  # no dev texts
        lines.append(f"{label:<{width}}  {ppl}  {r.get('texts', 0):5d}  "
                     f"{', '.join(r.get('samples', []))}")
    return "\n".join(lines)


def run_sample(args) -> int:
    """``rnnkit sample RUN`` for a generator run."""
    from ..tasks.generate_run import format_generated, load_generator, sample
    from .main import UserError

    if args.prime:
        raise UserError("--prime is for language models; a generator starts from a condition "
                        "(--condition)")
    if args.length is not None and args.length < 1:
        raise UserError(f"--length must be >= 1, got {args.length}")
    if args.temperature <= 0:
        raise UserError(f"--temperature must be > 0, got {args.temperature}")
    if args.num < 1 or args.beam < 0:
        raise UserError("--num must be >= 1 and --beam >= 0")
    gen = load_generator(Path(args.run), args.checkpoint)
    items = sample(gen, args.condition, args.num, max_len=args.length,
                   greedy=True if args.greedy else None, temperature=args.temperature,
                   top_k=args.top_k, top_p=args.top_p, beam=args.beam, seed=args.seed)
    sys.stdout.write(format_generated(items))
    return 0
