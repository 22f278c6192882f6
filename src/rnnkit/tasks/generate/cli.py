"""The generator's side of the command line: the report after ``rnnkit train generate`` and
``rnnkit sample RUN --condition ...``."""

from __future__ import annotations

import json
import sys
from dataclasses import replace

from ...cli.common import UserError
from .data import DIGITS
from .sampling import format_generated


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


def after_train(args, loaded) -> int:
    print(format_report(json.loads((loaded.run / "report.json").read_text())))
    print(f"sample: rnnkit sample {loaded.run} --condition "
          f"{'3,1,4' if loaded.kind == DIGITS else 'LABEL'}", file=sys.stderr)
    return 0


def sample(args, loaded, sampling) -> int:
    """``rnnkit sample RUN`` for a generator run."""
    if args.prime:
        raise UserError("--prime is for language models; a generator starts from a condition "
                        "(--condition)")
    if args.length is not None and args.length < 1:
        raise UserError(f"--length must be >= 1, got {args.length}")
    if args.num < 1 or args.beam < 0:
        raise UserError("--num must be >= 1 and --beam >= 0")
    if loaded.kind == DIGITS:
        sampling = replace(sampling, greedy=True)  # a caption is decoded, not sampled
    items = loaded.sample(args.condition, args.num, sampling, max_len=args.length,
                          beam=args.beam)
    sys.stdout.write(format_generated(items))
    return 0


def eval(args, loaded) -> int:  # noqa: A001 - the command's name
    raise UserError(f"{args.run}: a generator run is evaluated when it is trained (see "
                    f"{args.run}/report.json); sample it with `rnnkit sample {args.run} "
                    "--condition ...`")
