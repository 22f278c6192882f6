"""``rnnkit export RUN -o DIR``: a trained run (any task) as ONNX graphs (or ``torch.export``
programs), its plain state dict, vocabularies and a manifest (see ``docs/export.md``)."""

from __future__ import annotations

import sys

FORMATS = ("onnx", "torch")


def register(sub) -> None:
    p = sub.add_parser(
        "export", help="write a trained run as ONNX graphs (or torch.export programs)",
        description="Export a trained run: its whole-sequence graph and, for generating "
        "tasks, a single-step graph with the recurrent state as inputs and outputs (dynamic "
        "batch and time axes), model.safetensors, the vocabularies (BPE also as "
        "tokenizer.json) and manifest.json. Every graph is checked against the eager model "
        "at two batch sizes and two lengths before the manifest is written.")
    p.add_argument("run", metavar="RUN", help="run folder of `rnnkit train ...`")
    p.add_argument("-o", "--out", required=True, metavar="DIR",
                   help="folder to write (created; existing files of the same names are "
                   "replaced)")
    p.add_argument("--format", choices=FORMATS, default="onnx",
                   help="onnx (default; needs the export extra) or torch (torch.export "
                   "programs, .pt2)")
    p.add_argument("--checkpoint", choices=["best", "last"], default="best")
    p.add_argument("--opset", type=int, default=None,
                   help="ONNX opset, 14..20 (default: 17)")
    p.add_argument("--no-check", dest="check", action="store_false",
                   help="do not run the written graphs against the eager model")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..export import DEFAULT_OPSET, export_run

    opset = DEFAULT_OPSET if args.opset is None else args.opset
    manifest = export_run(args.run, args.out, args.format, which=args.checkpoint, opset=opset,
                          check=args.check)
    graphs = ", ".join(manifest["files"]["graphs"])
    checked = " (checked against the model)" if args.check else ""
    print(f"rnnkit: exported the {manifest['task']} run {args.run} to {args.out}: {graphs}"
          f"{checked}, manifest.json", file=sys.stderr)
    return 0
