"""Reading a cell's ``step`` into the graph the traced fast path compiles.

``step`` is traced twice with ``make_fx`` (ATen operations on real tensors), at two batch
sizes: a value whose first dimension follows the batch is a *row* value of the step (B, n);
one that does not depend on ``x_t`` or the state is computed from the parameters alone, in
PyTorch, once per sequence (``weight.t()``, a clamped vector...). The row values become
:class:`Node` s: the inputs (``x_t``, the state leaves), elementwise operations
(:mod:`.ops`), column slices (``chunk``, ``split``, ``narrow``), concatenations, per-row sums,
means, variances and layer norms, and products with a parameter matrix. A product of ``x_t``
itself is *hoisted*: one product over all steps before the loop (:class:`Hoisted`).

Anything else (an operation outside that list, a value reduced over the batch, a tensor that is
neither a parameter nor a buffer of the cell, randomness) raises :class:`Unsupported` with the
reason, and the layer runs the reference loop.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, fx

from ..common import map_state, state_leaves


class Unsupported(Exception):
    """Why a step cannot take the traced fast path (one line)."""


@dataclass(eq=False)
class Node:
    """A row value of the step: (B, width)."""

    kind: str  # x | state | xp | ew | slice | cat | prod | sum | mean | var | ln
    width: int
    args: tuple = ()  # Nodes, Params or numbers (ew: in the op's operand order)
    op: str = ""  # ew: the key of OPS
    statics: dict = field(default_factory=dict)
    index: int = 0  # state: leaf; xp: hoisted product; prod: matrix
    offset: int = 0  # slice: first column of args[0]
    extra: Any = None  # var: correction; ln: eps
    id: int = -1


@dataclass(eq=False)
class Param:
    """A tensor computed from the cell's parameters alone (evaluated in PyTorch)."""

    fx_node: fx.Node
    shape: tuple
    index: int = -1  # in Plan.vecs or Plan.mats once used there


@dataclass
class Hoisted:
    """``x_t @ mat (+ bias)`` for every step at once: (T, B, width)."""

    mat: Param
    bias: Param | None
    node: Node


@dataclass
class Plan:
    """The analysed step: everything the code generator and the runtime need."""

    nodes: list[Node]  # topological
    x: Node
    states: list[Node]
    outputs: list[Node]  # y, then the new state's leaves
    hoisted: list[Hoisted]
    vecs: list[Param]
    mats: list[Param]
    graph: fx.GraphModule  # the first trace: its parameter-only nodes are evaluated
    names: dict[str, str]  # get_attr target -> the cell's attribute path
    input_size: int
    dtype: torch.dtype

    def leaf_widths(self) -> list[int]:
        return [s.width for s in self.states]


# Tracing ------------------------------------------------------------------------------------
def _leaves_like(template, batch: int, dtype, device) -> list[Tensor]:
    leaves = state_leaves(template)
    for leaf in leaves:
        if leaf.dim() != 2:
            raise Unsupported(f"a state leaf of shape {tuple(leaf.shape)} (the fast path takes "
                              "(B, n) leaves)")
    return [torch.randn(batch, leaf.shape[1], dtype=dtype, device=device) for leaf in leaves]


def rebuild(template, leaves: list[Tensor]):
    """``template``'s structure (a Tensor or a tuple/NamedTuple of them) with ``leaves``."""
    it = iter(leaves)
    return map_state(lambda _: next(it), template)


def trace(cell, input_size: int, template, batch: int, dtype, device) -> fx.GraphModule:
    from torch.fx.experimental.proxy_tensor import make_fx

    x = torch.randn(batch, input_size, dtype=dtype, device=device)
    leaves = _leaves_like(template, batch, dtype, device)
    n_leaves = len(leaves)

    def step(x_t, *state):
        y, new = cell.step(x_t, rebuild(template, list(state)))
        out = [y, *state_leaves(new)]
        if len(out) != n_leaves + 1:
            raise Unsupported("step returned a state of another structure than it was given")
        return tuple(out)

    try:
        return make_fx(step)(x, *leaves)
    except Unsupported:
        raise
    except Exception as e:  # data-dependent control flow, unsupported Python...
        raise Unsupported(f"step could not be traced ({type(e).__name__}: "
                          f"{str(e).strip().splitlines()[0][:160] if str(e).strip() else ''})"
                          ) from None


def tensor_names(cell) -> dict[int, str]:
    """id(tensor) -> the cell's attribute path, for its parameters, buffers and aliases."""
    names: dict[int, str] = {}
    for name, t in cell.named_buffers():
        names[id(t)] = name
    for name, t in cell.named_parameters():
        names[id(t)] = name
    for alias in cell.__dict__.get("_aliases", {}):
        t = getattr(cell, alias, None)
        if isinstance(t, Tensor):
            names[id(t)] = alias
    return names


def resolve(cell, path: str) -> Tensor:
    return functools.reduce(getattr, path.split("."), cell)


def live_nodes(graph: fx.Graph) -> set:
    out = next(n for n in graph.nodes if n.op == "output")
    live, todo = set(), [out]
    while todo:
        n = todo.pop()
        if n in live:
            continue
        live.add(n)
        todo.extend(n.all_input_nodes)
    return live


def shape_of(n: fx.Node):
    v = n.meta.get("val")
    return tuple(v.shape) if isinstance(v, Tensor) else None


def op_name(target) -> str:
    schema = getattr(target, "_schema", None)
    if schema is None:
        return getattr(target, "__name__", str(target))
    name = schema.name.split("::")[-1]
    return f"{name}.{schema.overload_name or 'default'}"


def normalized(n: fx.Node) -> dict:
    """The node's arguments by their schema names (``self``, ``other``...), defaults filled."""
    schema = getattr(n.target, "_schema", None)
    if schema is None:
        raise Unsupported(f"cannot read the arguments of {op_name(n.target)}")
    out = {}
    for i, arg in enumerate(schema.arguments):
        if i < len(n.args) and not arg.kwarg_only:
            out[arg.name] = n.args[i]
        elif arg.name in n.kwargs:
            out[arg.name] = n.kwargs[arg.name]
        elif arg.has_default_value():
            out[arg.name] = arg.default_value
    return out


def base(node: Node) -> tuple[Node, int]:
    """The node whose storage a value lives in, and its first column there."""
    return (node.args[0], node.offset) if node.kind == "slice" else (node, 0)
