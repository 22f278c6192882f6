"""From the traced ATen graph of a step to its :class:`~.graph.Plan` (see :mod:`.graph`)."""

from __future__ import annotations

import operator
from typing import Any

from torch import fx

from .graph import (
    Hoisted,
    Node,
    Param,
    Plan,
    Unsupported,
    live_nodes,
    normalized,
    op_name,
    shape_of,
    tensor_names,
    trace,
)
from .ops import OPS

_VIEWS = {"view.default", "_unsafe_view.default", "reshape.default", "expand.default"}
_LAST = (1, -1)
_RANDOM = {"bernoulli", "native_dropout", "dropout", "empty", "uniform", "normal", "zeros",
           "ones", "full", "multinomial", "poisson", "exponential", "geometric"}


def analyse(cell, input_size: int, template, dtype, device) -> Plan:
    """The :class:`~.graph.Plan` of ``cell.step`` for inputs (B, input_size) and a state shaped
    like ``template``; :class:`~.graph.Unsupported` when the step falls outside what the path
    compiles."""
    a, b = 3, 5
    ga = trace(cell, input_size, template, a, dtype, device)
    gb = trace(cell, input_size, template, b, dtype, device)
    na, nb = list(ga.graph.nodes), list(gb.graph.nodes)
    if len(na) != len(nb) or any(p.target != q.target for p, q in zip(na, nb)):
        raise Unsupported("step records different operations at different batch sizes")
    rows = {}
    for p, q in zip(na, nb):
        sp, sq = shape_of(p), shape_of(q)
        if sp is None:
            continue
        if sp == sq:
            rows[p] = False
        elif len(sp) == len(sq) and sp[0] == a and sq[0] == b and sp[1:] == sq[1:]:
            rows[p] = True
        else:
            raise Unsupported(f"{p.name} changes shape with the batch other than in its first "
                              "dimension")
    return _Builder(cell, ga, rows, input_size, dtype, a).build()


class _Builder:
    def __init__(self, cell, gm: fx.GraphModule, rows: dict, input_size: int, dtype, batch):
        self.cell, self.gm, self.rows, self.batch = cell, gm, rows, batch
        self.input_size, self.dtype = input_size, dtype
        self.env: dict[fx.Node, Any] = {}
        self.nodes: list[Node] = []
        self.hoisted: list[Hoisted] = []
        self.vecs: list[Param] = []
        self.mats: list[Param] = []
        self.names: dict[str, str] = {}
        self.known = tensor_names(cell)
        self.states: list[Node] = []

    def add(self, node: Node) -> Node:
        node.id = len(self.nodes)
        self.nodes.append(node)
        return node

    def build(self) -> Plan:
        live = live_nodes(self.gm.graph)
        placeholders = [n for n in self.gm.graph.nodes if n.op == "placeholder"]
        x = self.add(Node("x", self.input_size))
        self.env[placeholders[0]] = x
        for i, ph in enumerate(placeholders[1:]):
            self.states.append(self.add(Node("state", shape_of(ph)[1], index=i)))
            self.env[ph] = self.states[-1]
        outputs: list[Node] = []
        for n in self.gm.graph.nodes:
            if n.op == "placeholder" or n not in live:
                continue
            if n.op == "output":
                for v in n.args[0]:
                    if len(shape_of(v) or ()) != 2:
                        raise Unsupported("step returns a value that is not (B, n)")
                    outputs.append(self.row(v, "an output"))
            elif n.op == "get_attr":
                self.env[n] = self.param_attr(n)
            elif n.op == "call_function":
                self.env[n] = self.call(n)
            else:
                raise Unsupported(f"step calls {n.op} {n.target}")
        return Plan(self.nodes, x, self.states, outputs, self.hoisted, self.vecs, self.mats,
                    self.gm, self.names, self.input_size, self.dtype)

    # values -----------------------------------------------------------------------------
    def param_attr(self, n: fx.Node) -> Param:
        t = getattr(self.gm, n.target)
        name = self.known.get(id(t))
        if name is None:
            raise Unsupported(f"step reads a tensor of shape {tuple(t.shape)} that is neither a "
                              "parameter nor a buffer of the cell")
        self.names[n.target] = name
        return Param(n, tuple(t.shape))

    def row(self, v, what: str) -> Node:
        got = self.env.get(v) if isinstance(v, fx.Node) else None
        if not isinstance(got, Node):
            raise Unsupported(f"{what} is not a per-row value of the step")
        return got

    def vec(self, p: Param, width: int) -> Param:
        size = 1
        for d in p.shape:
            size *= d
        if p.shape not in ((), (1,), (size,), (1, size)) or size not in (1, width):
            raise Unsupported(f"a parameter of shape {p.shape} broadcast against rows of width "
                              f"{width}")
        if p not in self.vecs:
            p.index = len(self.vecs)
            self.vecs.append(p)
        return p

    def mat(self, p: Param, k: int) -> Param:
        if len(p.shape) != 2 or p.shape[0] != k:
            raise Unsupported(f"a product of a {k}-wide row with a {p.shape} parameter")
        if p not in self.mats:
            p.index = len(self.mats)
            self.mats.append(p)
        return p

    def operand(self, v, width: int):
        """An elementwise operand: a row, a parameter vector, or a number."""
        if isinstance(v, fx.Node):
            got = self.env[v]
            if isinstance(got, Node):
                if got.width not in (width, 1):
                    raise Unsupported(f"rows of widths {got.width} and {width} broadcast")
                return got
            if isinstance(got, Param):
                return self.vec(got, width)
            raise Unsupported(f"an operand {v.name} that is not a tensor")
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise Unsupported(f"an operand {v!r}")
        return float(v)

    def call(self, n: fx.Node):
        if n.target is operator.getitem:
            src, i = self.env[n.args[0]], n.args[1]
            if isinstance(src, list):
                return src[i]
            if isinstance(src, tuple) and src[0] == "ln":
                if i != 0:
                    raise Unsupported("step uses layer norm's mean or rstd outputs")
                return src[1]
            raise Unsupported(f"step indexes {n.args[0].name}")
        name = op_name(n.target)
        inputs = [self.env[m] for m in n.all_input_nodes]
        if not any(isinstance(v, (Node, list, tuple)) for v in inputs):
            if self.rows.get(n):
                raise Unsupported(f"{name} makes a batch-sized tensor from the parameters alone")
            return Param(n, shape_of(n) or ())  # parameters only: computed in PyTorch
        if shape_of(n) is not None and not self.rows.get(n):
            raise Unsupported(f"{name} reduces the rows of the batch to one")
        base = name.split(".")[0]
        if base.endswith("_") and not base.startswith("_"):
            raise Unsupported(f"step modifies a tensor in place ({name})")
        if base.split("_like")[0] in _RANDOM or base.startswith("rand"):
            raise Unsupported(f"step draws random numbers or makes new tensors ({name}, e.g. "
                              "dropout): the reference loop runs it")
        lowering = _LOWER.get(name)
        if lowering is not None:
            return lowering(self, n, normalized(n))
        if name in OPS:
            return self.elementwise(n, name)
        raise Unsupported(f"step uses {name}, which the fast path does not compile")

    def elementwise(self, n: fx.Node, name: str) -> Node:
        op, kw = OPS[name], normalized(n)
        shape = shape_of(n)
        if shape is None or len(shape) != 2:
            raise Unsupported(f"{name} of a value that is not (B, n)")
        width = shape[1]
        statics = {}
        for key, default in op.statics.items():
            value = kw.get(key, default)
            if value is None and key in ("min", "max"):
                value = float("-inf") if key == "min" else float("inf")  # no bound
            elif value is None:
                raise Unsupported(f"{name} without {key}")
            if isinstance(value, str):
                if value != "none":
                    raise Unsupported(f"{name}({key}={value!r})")
                continue
            if value is not None and not isinstance(value, (int, float)):
                raise Unsupported(f"{name} with a tensor {key}")
            statics[key] = value
        args = tuple(self.operand(kw[k], width) for k in op.operands)
        return self.add(Node("ew", width, args, op=name, statics=statics))

    # row operations -------------------------------------------------------------------------
    def split(self, n, kw) -> list[Node]:
        src = self.row(kw["self"], "a split")
        if kw.get("dim", 0) not in _LAST:
            raise Unsupported("a split along the batch")
        sizes = kw.get("split_sizes") or kw.get("split_size")
        if isinstance(sizes, int):
            sizes = [min(sizes, src.width - k) for k in range(0, src.width, sizes)]
        out, start = [], 0
        for size in sizes:
            out.append(self.slice_of(src, start, size))
            start += size
        return out

    def slice_of(self, src: Node, start: int, size: int) -> Node:
        if start == 0 and size == src.width:
            return src
        if src.kind == "slice":
            return self.slice_of(src.args[0], src.offset + start, size)
        return self.add(Node("slice", size, (src,), offset=start))

    def slice(self, n, kw) -> Node:
        src = self.row(kw["self"], "a slice")
        dim, step = kw.get("dim", 0), kw.get("step", 1)
        width = src.width
        start, end = kw.get("start") or 0, kw.get("end")
        end = width if end is None else end
        if dim == 0:
            if start == 0 and end >= self.batch and step == 1:
                return src
            raise Unsupported("step slices the batch")
        if dim not in _LAST or step != 1:
            raise Unsupported("a strided slice")
        start, end = _bound(start, width), _bound(end, width)
        return self.slice_of(src, start, max(0, end - start))

    def narrow(self, n, kw) -> Node:
        src = self.row(kw["self"], "a narrow")
        if kw["dim"] not in _LAST:
            raise Unsupported("step narrows the batch")
        return self.slice_of(src, _bound(kw["start"], src.width), kw["length"])

    def cat(self, n, kw) -> Node:
        if kw.get("dim", 0) not in _LAST:
            raise Unsupported("a concatenation along the batch")
        parts = tuple(self.row(t, "a concatenated value") for t in kw["tensors"])
        return self.add(Node("cat", sum(p.width for p in parts), parts))

    def product(self, a_node: fx.Node, mat_node: fx.Node, bias=None) -> Node:
        a = self.row(a_node, "the left factor of a product")
        got = self.env[mat_node]
        if not isinstance(got, Param):
            raise Unsupported("a product of two per-row values")
        width = shape_of(mat_node)[1]
        bias_p = None
        if bias is not None:
            bias_p = self.env[bias]
            if not isinstance(bias_p, Param):
                raise Unsupported("a product's bias that depends on the rows")
            self.vec(bias_p, width)
        if a.kind == "x":
            if len(got.shape) != 2 or got.shape[0] != a.width:
                raise Unsupported(f"a product of x_t with a {got.shape} parameter")
            node = self.add(Node("xp", width, index=len(self.hoisted)))
            self.hoisted.append(Hoisted(got, bias_p, node))
            return node
        mat = self.mat(got, a.width)
        out = self.add(Node("prod", width, (a,), index=mat.index))
        if bias_p is None:
            return out
        return self.add(Node("ew", width, (out, bias_p), op="add.Tensor", statics={"alpha": 1}))

    def mm(self, n, kw) -> Node:
        return self.product(kw["self"], kw["mat2"])

    def addmm(self, n, kw) -> Node:
        if kw.get("beta", 1) != 1 or kw.get("alpha", 1) != 1:
            raise Unsupported("addmm with beta or alpha")
        return self.product(kw["mat1"], kw["mat2"], kw["self"])

    def reduce(self, n, kw, kind: str) -> Node:
        src = self.row(kw["self"], "a reduced value")
        dims = kw.get("dim")
        if list(dims or []) not in ([1], [-1]) or not kw.get("keepdim", False):
            raise Unsupported(f"a {kind} other than over the last dimension with keepdim=True")
        if kw.get("dtype") is not None:
            raise Unsupported(f"a {kind} with a dtype")
        extra = None
        if kind == "var":
            extra = kw.get("correction")
            extra = 1.0 if extra is None else float(extra)
        return self.add(Node(kind, 1, (src,), extra=extra))

    def layer_norm(self, n, kw):
        src = self.row(kw["input"], "a layer norm's input")
        if list(kw["normalized_shape"]) != [src.width]:
            raise Unsupported("a layer norm over more than the last dimension")
        w, b = (None if kw.get(k) is None else self.vec(self.env[kw[k]], src.width)
                for k in ("weight", "bias"))
        if (w is not None and w.shape != (src.width,)) or (b is not None and
                                                           b.shape != (src.width,)):
            raise Unsupported("a layer norm whose weight is not one value per feature")
        node = self.add(Node("ln", src.width, (src, w, b), extra=float(kw["eps"])))
        return ("ln", node)

    def view(self, n, kw) -> Node:
        src = self.row(kw["self"], "a reshaped value")
        if tuple(shape_of(n)) != (self.batch, src.width):
            raise Unsupported("step reshapes a per-row value")
        return src


def _bound(i: int, width: int) -> int:
    i = i + width if i < 0 else i
    return max(0, min(width, i))


_LOWER = {
    "split.Tensor": _Builder.split,
    "split_with_sizes.default": _Builder.split,
    "slice.Tensor": _Builder.slice,
    "narrow.default": _Builder.narrow,
    "cat.default": _Builder.cat,
    "mm.default": _Builder.mm,
    "addmm.default": _Builder.addmm,
    "sum.dim_IntList": lambda b, n, kw: b.reduce(n, kw, "sum"),
    "mean.dim": lambda b, n, kw: b.reduce(n, kw, "mean"),
    "var.correction": lambda b, n, kw: b.reduce(n, kw, "var"),
    "native_layer_norm.default": _Builder.layer_norm,
    **{v: _Builder.view for v in _VIEWS},
}
