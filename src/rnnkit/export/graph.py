"""What an exported graph is: a module with plain tensor inputs and outputs, its named ports
(dtype and axes, the dynamic ones named), the state pairs a streaming loop feeds back, and how
to make sample inputs of any size (to trace it, and to check the written graph against the
eager model).

Axes are sizes (fixed by the model: hidden units, vocabulary) or names (dynamic): ``batch``,
``time``, ``source`` (seq2seq source steps), ``words`` and ``chars`` (the distinct words of a
batch and their characters, for char features).

>>> g = Graph("step", None, [Port("token", "int64", ("batch",), ("ids", 7))], [], {})
>>> [tuple(t.shape) for t in make_inputs(g, {"batch": 3}, torch.Generator().manual_seed(0))]
[(3,)]
>>> Port("h", "float32", (2, "batch", 8)).to_json()
{'name': 'h', 'dtype': 'float32', 'shape': [2, 'batch', 8]}
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from ..cells import LSTMState

DTYPES = {"int64": torch.long, "float32": torch.float32, "bool": torch.bool}
# Sizes of the two checks every graph passes (batch 1 and 3, two lengths), and of the trace:
# the traced batch (2) is neither, and one of its rows is shorter than the time axis.
CHECKS = ({"batch": 1, "time": 5, "source": 5, "words": 4, "chars": 3},
          {"batch": 3, "time": 17, "source": 11, "words": 9, "chars": 6})
TRACE = {"batch": 2, "time": 6, "source": 7, "words": 5, "chars": 4}


@dataclass
class Port:
    """One input or output: name, dtype, axes; ``sample`` says how to draw an input:
    ``("ids", high)``, ``("lengths", axis)`` (1..size, the first row full, the last shorter),
    ``("index", axis)`` (rows of that axis), ``("mask", axis)`` (valid prefixes along that axis),
    ``("float",)`` (normal), ``("uniform",)`` ([0, 1), e.g. images)."""

    name: str
    dtype: str
    axes: tuple
    sample: tuple = ("float",)
    doc: str = ""

    def to_json(self) -> dict:
        d = {"name": self.name, "dtype": self.dtype, "shape": list(self.axes)}
        if self.doc:
            d["doc"] = self.doc
        return d

    def dynamic(self) -> dict[int, str]:
        return {i: a for i, a in enumerate(self.axes) if isinstance(a, str)}


@dataclass
class Graph:
    """A graph to write: ``module(*inputs) -> tuple(outputs)`` in the ports' order."""

    name: str
    module: nn.Module | None
    inputs: list[Port]
    outputs: list[Port]
    states: dict[str, str] = field(default_factory=dict)  # input name -> output name
    doc: str = ""
    checks: Sequence[dict] = CHECKS  # sizes of the checks against the eager model
    trace: dict = field(default_factory=lambda: dict(TRACE))  # sizes of the traced inputs
    min_sizes: dict = field(default_factory=dict)  # lower bounds of dynamic axes (torch.export)

    def to_json(self, file: str) -> dict:
        d: dict[str, Any] = {"file": file, "doc": self.doc,
                             "inputs": [p.to_json() for p in self.inputs],
                             "outputs": [p.to_json() for p in self.outputs]}
        if self.states:
            d["states"] = dict(self.states)
        return d


def _lengths(n: int, rows: int, gen: torch.Generator) -> Tensor:
    out = torch.randint(1, n + 1, (rows,), generator=gen)
    out[0] = n
    if rows > 1:
        out[-1] = max(1, n // 2)
    return out


def _draw(port: Port, sizes: dict, gen: torch.Generator) -> Tensor:
    shape = [sizes[a] if isinstance(a, str) else a for a in port.axes]
    kind = port.sample[0]
    if kind == "ids":
        return torch.randint(0, port.sample[1], shape, generator=gen)
    if kind == "lengths":
        return _lengths(sizes[port.sample[1]], shape[0], gen)
    if kind == "index":
        return torch.randint(0, sizes[port.sample[1]], shape, generator=gen)
    if kind == "mask":  # (steps, rows) or (rows, steps): valid prefixes
        axis = port.axes.index(port.sample[1])
        n, rows = shape[axis], shape[1 - axis]
        mask = torch.arange(n).unsqueeze(1) < _lengths(n, rows, gen).unsqueeze(0)  # (n, rows)
        return mask if axis == 0 else mask.t().contiguous()
    if kind == "uniform":
        return torch.rand(shape, generator=gen)
    return torch.randn(shape, generator=gen)


def make_inputs(graph: Graph, sizes: dict, gen: torch.Generator) -> tuple[Tensor, ...]:
    """Sample inputs of ``graph`` at ``sizes`` (raised to its ``min_sizes``)."""
    sizes = {k: max(v, graph.min_sizes.get(k, 1)) for k, v in sizes.items()}
    return tuple(_draw(p, sizes, gen) for p in graph.inputs)


# Recurrent states as graph ports -----------------------------------------------------------

def state_names(lstm: bool) -> list[str]:
    """The leaves of a recurrent layer's state: h (and c for an LSTM)."""
    return ["h", "c"] if lstm else ["h"]


def state_ports(lstm: bool, layers: int, hidden: int, doc: str = "") -> tuple[list, list]:
    """Input and output ports of a (L, B, H) state: ``h``/``c`` in, ``h_out``/``c_out`` out."""
    ins = [Port(n, "float32", (layers, "batch", hidden), doc=doc) for n in state_names(lstm)]
    outs = [Port(p.name + "_out", "float32", p.axes) for p in ins]
    return ins, outs


def as_state(leaves: Sequence[Tensor], lstm: bool) -> Any:
    return LSTMState(*leaves) if lstm else leaves[0]


def leaves_of(state: Any) -> tuple[Tensor, ...]:
    return tuple(state) if isinstance(state, tuple) else (state,)


def pairs(ports: list[Port]) -> dict[str, str]:
    return {p.name: p.name + "_out" for p in ports}


def call(module: Callable, inputs: tuple) -> tuple[Tensor, ...]:
    """The module's outputs as a tuple, without gradients."""
    with torch.no_grad():
        out = module(*inputs)
    return out if isinstance(out, tuple) else (out,)
