"""``rnnkit export``: a trained run as standalone graphs, for every task.

:func:`export_run` writes into one folder:

* the task's graphs (``.onnx``, or ``torch.export`` programs ``.pt2`` with ``format="torch"``),
  every one with dynamic batch and time axes and the inputs and outputs named: the
  whole-sequence graph (``forward``; seq2seq: ``encoder``) and, for the generating tasks, a
  single-step graph whose recurrent state is explicit inputs and outputs (``step``, seq2seq
  ``decoder_step``, the generator's ``start``), for streaming;
* ``model.safetensors``, the plain state dict; the run's ``config.json``, vocabularies,
  labels and normaliser, and a standard ``tokenizer.json`` for a BPE vocabulary;
* ``manifest.json``: inputs, outputs (dtypes, axes), state pairs, preprocessing, notes.

Every graph is checked before the manifest is written: run at batch 1 and 3 and two lengths
(rows shorter than the time axis) in onnxruntime (or torch), it gives the eager model's outputs
(``check`` in the manifest). See ``docs/export.md``.
"""

from __future__ import annotations

import time
from pathlib import Path

import torch

from .._version import __version__
from ..extras import need
from ..tasks import registry
from ..tasks.spec import LoadedRun
from .check import ExportError, check_graph
from .files import WEIGHTS, copy_run_files, write_manifest, write_tokenizers, write_weights
from .plans import plan_for, run_files
from .writers import DEFAULT_OPSET, WRITERS

__all__ = ["DEFAULT_OPSET", "FORMATS", "OPSETS", "ExportError", "export_run"]

FORMATS = tuple(WRITERS)
OPSETS = (14, 20)  # tested; 20 is the TorchScript-based exporter's newest


def _loaded(run: str | Path | LoadedRun, which: str) -> LoadedRun:
    if isinstance(run, LoadedRun):
        if any(p.device.type != "cpu" for p in run.model.parameters()):
            raise ExportError("export a run loaded on the CPU (rnnkit.load(run, device='cpu'))")
        return run
    return registry.load(run, which, device="cpu")


def _need(fmt: str, check: bool, opset: int) -> None:
    if fmt not in FORMATS:
        raise ExportError(f"unknown export format {fmt!r}; the formats are "
                          f"{', '.join(FORMATS)}")
    if fmt == "onnx":
        if not OPSETS[0] <= opset <= OPSETS[1]:
            raise ExportError(f"the ONNX opset must be in {OPSETS[0]}..{OPSETS[1]}, got {opset}")
        need("onnx", "export", "rnnkit export --format onnx")
        if check:
            need("onnxruntime", "export", "checking the ONNX graphs")


def export_run(run: str | Path | LoadedRun, out: str | Path, format: str = "onnx", *,
               which: str = "best", opset: int = DEFAULT_OPSET, check: bool = True) -> dict:
    """Export a run folder (its ``best`` or ``last`` weights) or a run loaded on the CPU into
    ``out``; returns the manifest (also ``out/manifest.json``).

    ``check``: run every written graph against the eager model (module docstring); a graph
    that differs raises :class:`ExportError`."""
    _need(format, check, opset)
    loaded = _loaded(run, which)
    plan = plan_for(loaded)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    write, runner, suffix = WRITERS[format]
    graphs = {}
    t0 = time.perf_counter()
    for graph in plan.graphs:
        file = graph.name + suffix
        write(graph, out / file, opset)
        entry = graph.to_json(file)
        if check:
            entry["check"] = check_graph(graph, runner(out / file))
        graphs[graph.name] = entry
    copied = copy_run_files(loaded.run, out, run_files(loaded.run))
    write_weights(loaded.model, out / WEIGHTS)
    tokenizers = write_tokenizers(out, copied)
    spec = registry.get(loaded.task)
    manifest = {
        "rnnkit": __version__, "format": format, "task": loaded.task,
        "description": spec.describe(loaded.settings), "run": str(loaded.run),
        "checkpoint": which, "torch": torch.__version__,
        "graphs": graphs, "preprocessing": plan.preprocessing, "notes": plan.notes,
        "files": {"graphs": [g["file"] for g in graphs.values()], "weights": WEIGHTS,
                  "run": copied, "tokenizers": tokenizers},
        "export_s": round(time.perf_counter() - t0, 2),
    }
    if format == "onnx":
        manifest["opset"] = opset
    write_manifest(out, manifest)
    return manifest
