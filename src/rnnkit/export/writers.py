"""Writing one graph: ONNX through the TorchScript-based exporter (its recurrent layers become
ONNX's LSTM, GRU and RNN operators, with per-row ``sequence_lens``, dynamic batch and time), or
a ``torch.export`` program (``.pt2``: the layers' steps inside torch's ``scan``), with a runner
of the written file for the check against the eager model."""

from __future__ import annotations

import os
import tempfile
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import torch
from torch import nn

from ..extras import need
from .graph import Graph, call, make_inputs

DEFAULT_OPSET = 17
# The exporter's C++ notes about its packing placeholders, which it removes itself.
_NOISE = ("shape inference of prim::PackPadded", "shape inference of prim::PadPacked")


@contextmanager
def _quiet() -> Iterator[None]:
    """No tracer warnings, and the exporter's C++ notes on fd 2 dropped (others kept)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            saved = os.dup(2)
        except OSError:  # pragma: no cover - no stderr at all
            yield
            return
        with tempfile.TemporaryFile() as tmp:
            os.dup2(tmp.fileno(), 2)
            try:
                yield
            finally:
                os.dup2(saved, 2)
                os.close(saved)
                tmp.seek(0)
                kept = [line for line in tmp.read().decode(errors="replace").splitlines()
                        if line.strip() and not any(n in line for n in _NOISE)]
                if kept:
                    os.write(2, ("\n".join(kept) + "\n").encode())


def _example(graph: Graph) -> tuple:
    return make_inputs(graph, graph.trace, torch.Generator().manual_seed(1))


def write_onnx(graph: Graph, path: Path, opset: int = DEFAULT_OPSET) -> None:
    """``graph`` as an ONNX file, checked by ``onnx.checker``."""
    onnx = need("onnx", "export", "rnnkit export --format onnx")
    ports = graph.inputs + graph.outputs
    dynamic = {p.name: p.dynamic() for p in ports if p.dynamic()}
    with _quiet(), torch.no_grad():
        torch.onnx.export(graph.module.eval(), _example(graph), str(path), dynamo=False,
                          input_names=[p.name for p in graph.inputs],
                          output_names=[p.name for p in graph.outputs],
                          dynamic_axes=dynamic, opset_version=opset, do_constant_folding=True)
    model = onnx.load(str(path))
    onnx.checker.check_model(model)
    found = [i.name for i in model.graph.input]
    if found != [p.name for p in graph.inputs]:
        raise RuntimeError(f"graph {graph.name}: the ONNX file reads {found}, not the "
                           f"inputs {[p.name for p in graph.inputs]}")


def onnx_runner(path: Path) -> Callable[[tuple], list]:
    """``run(inputs)`` of an ONNX file in onnxruntime (CPU)."""
    ort = need("onnxruntime", "export", "checking the ONNX graphs")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    return lambda inputs: session.run(None, {n: t.numpy() for n, t in zip(names, inputs)})


class _Flat(nn.Module):
    """The graph's module over one flat argument list (torch.export's dynamic shapes)."""

    def __init__(self, module: nn.Module):
        super().__init__()
        self.inner = module

    def forward(self, *inputs):
        out = self.inner(*inputs)
        return out if isinstance(out, tuple) else (out,)


def write_torch(graph: Graph, path: Path, opset: int = DEFAULT_OPSET) -> None:
    """``graph`` as a ``torch.export`` program (``torch.export.load(path).module()``)."""
    from torch.export import Dim, export, save

    dims: dict[str, Dim] = {}

    def dim(name: str) -> Dim:
        return dims.setdefault(name, Dim(name, min=graph.min_sizes.get(name, 1)))

    shapes = tuple({i: dim(a) for i, a in p.dynamic().items()} or None for p in graph.inputs)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        program = export(_Flat(graph.module.eval()), _example(graph), dynamic_shapes=(shapes,),
                         strict=False)
    save(program, str(path))


def torch_runner(path: Path) -> Callable[[tuple], list]:
    """``run(inputs)`` of a saved ``torch.export`` program."""
    module = torch.export.load(str(path)).module()
    return lambda inputs: [t.numpy() for t in call(module, inputs)]


WRITERS = {"onnx": (write_onnx, onnx_runner, ".onnx"), "torch": (write_torch, torch_runner,
                                                                  ".pt2")}
