"""C++ for a :class:`~.graph.Plan`: the whole time loop of a step, forward and backward.

Every row value has a place:

* the inputs: ``x_t`` and the hoisted products (T, B, n) as given, the state leaves at step
  t read the new state of step t-1 (the initial state at step 0);
* *materialised* values (products, reductions, concatenations, outputs, and elementwise values
  read outside their loop) are kept for every step (T, B, n): the backward pass reads them;
* the other elementwise values are locals of one fused loop over the columns.

Consecutive elementwise operations of one width are one loop over ``b`` and ``j`` (vectorised
with ``omp simd``). The backward pass walks the steps in reverse; each fused loop recomputes
its locals and then runs reverse-mode over them, accumulating the gradients of its operands
(of a parameter vector over the rows, of a per-row column over the columns). Products go
through BLAS: ``A_t @ P`` forward, ``dA_t += dOut_t @ P^T`` backward; the products' weight
gradients are one product over all steps, in PyTorch (:mod:`.runtime`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import segments as seg
from .fused import fused_loop, on_thread0, read_outside, recomputed, rows
from .graph import Node, Plan, base
from .reductions import RowReductions
from .split import BARRIER as _BARRIER
from .split import time_loops


@dataclass
class Layout:
    """The pointer slots of the generated functions and the places of the values."""

    slots: list[str] = field(default_factory=list)
    stored: list[Node] = field(default_factory=list)  # kept for every step: (T, B, width)
    scratch: dict[int, int] = field(default_factory=dict)  # node id -> offset in a row of W
    scratch_size: int = 0  # per row of W (materialised values only the step itself reads)
    grad_offsets: dict[int, int] = field(default_factory=dict)  # node id -> offset in G
    grad_size: int = 0  # per row of G
    outputs: list[Node] = field(default_factory=list)  # unique output storages
    prods: list[Node] = field(default_factory=list)  # per-step products (their dOut: T, B, n)
    uses_x: bool = False

    def slot(self, name: str) -> int:
        if name not in self.slots:
            self.slots.append(name)
        return self.slots.index(name)


class _Blocks:
    """The plan's computed nodes in loops, and which of them are materialised."""

    def __init__(self, plan: Plan):
        self.plan = plan
        self.blocks: list[list[Node]] = []
        for n in plan.nodes:
            if n.kind in ("x", "state", "xp", "slice"):
                continue
            last = self.blocks[-1] if self.blocks else None
            if (n.kind == "ew" and last and last[0].kind == "ew" and last[0].width == n.width):
                last.append(n)
            else:
                self.blocks.append([n])
        self.block_of = {n.id: k for k, blk in enumerate(self.blocks) for n in blk}
        self.stored = self._materialised()
        self.recomputed = {k: recomputed(blk) for k, blk in enumerate(self.blocks)
                           if blk[0].kind == "ew"}
        self.kept = self._kept()

    def _kept(self) -> set[int]:
        """The materialised values the backward pass reads: kept for every step; the others
        live in a per-step scratch row."""
        keep = {o.id for o in self.plan.outputs}
        for k, blk in enumerate(self.blocks):
            n0 = blk[0]
            if n0.kind == "ew":
                keep |= {base(a)[0].id for a in read_outside(blk, self.recomputed[k])}
            elif n0.kind in ("var", "ln", "prod"):  # prod: its left factor, for dW
                keep.add(base(n0.args[0])[0].id)
        return keep & self.stored

    def _materialised(self) -> set[int]:
        keep = {o.id for o in self.plan.outputs}
        for n in self.plan.nodes:
            if n.kind in ("cat", "prod", "sum", "mean", "var", "ln"):
                keep.add(n.id)
            for a in n.args:
                if not isinstance(a, Node):
                    continue
                src, _ = base(a)
                if src.kind != "ew":
                    continue
                if a.kind == "slice" or n.kind != "ew" or \
                        self.block_of.get(n.id) != self.block_of[src.id]:
                    keep.add(src.id)
        return keep


class Generator(RowReductions):
    def __init__(self, plan: Plan):
        self.plan, self.b = plan, _Blocks(plan)
        self.lay = Layout()
        self.lay.uses_x = any(isinstance(a, Node) and base(a)[0].kind == "x"
                              for n in plan.nodes for a in n.args)
        self.lay.stored = [n for n in plan.nodes if n.id in self.b.kept]
        self.lay.prods = [n for n in plan.nodes if n.kind == "prod"]
        for n in plan.nodes:
            if n.id in self.b.stored and n.id not in self.b.kept:
                self.lay.scratch[n.id] = self.lay.scratch_size
                self.lay.scratch_size += n.width
        self.backward = False
        self.splitting = False  # generating the split time loop's code
        seen = []
        for o in plan.outputs:
            if o not in seen:
                seen.append(o)
        self.lay.outputs = seen
        off = 0
        for n in plan.nodes:
            if n.id in self.b.stored and n.kind != "prod":
                self.lay.grad_offsets[n.id] = off
                off += n.width
        self.lay.grad_size = off
        self.state_out = {i: plan.outputs[1 + i] for i in range(len(plan.states))}

    # places -------------------------------------------------------------------------------
    def value_row(self, node: Node, b: str = "b") -> tuple[str, int]:
        """(C pointer to row ``b`` of ``node``'s base at step t, offset): with ld its width."""
        src, off = base(node)
        w = src.width
        if src.kind == "x":
            return f"X + ((size_t)t * B + {b}) * {w}", off
        if src.kind == "xp":
            return f"XP{src.index} + ((size_t)t * B + {b}) * {w}", off
        if src.kind == "state":
            o = self.state_out[src.index].id
            return (f"(t ? S{o} + ((size_t)(t - 1) * B + {b}) * {w} : "
                    f"S0_{src.index} + (size_t){b} * {w})"), off
        if src.id in self.lay.scratch:
            if self.backward:
                raise AssertionError(f"the backward pass reads node {src.id}, not kept")
            return f"W + (size_t){b} * {self.lay.scratch_size} + {self.lay.scratch[src.id]}", off
        return f"S{src.id} + ((size_t)t * B + {b}) * {w}", off

    def value_ld(self, node: Node) -> int:
        src, _ = base(node)
        return self.lay.scratch_size if src.id in self.lay.scratch else src.width

    def grad_row(self, node: Node, b: str = "b") -> tuple[str, int]:
        src, off = base(node)
        w = src.width
        if src.kind == "x":
            return f"DX + ((size_t)t * B + {b}) * {w}", off
        if src.kind == "xp":
            return f"DXP{src.index} + ((size_t)t * B + {b}) * {w}", off
        if src.kind == "state":
            return f"DS0_{src.index} + (size_t){b} * {w}", off
        if src.kind == "prod":
            return f"D{src.id} + ((size_t)t * B + {b}) * {w}", off
        return f"G + (size_t){b} * {self.lay.grad_size} + {self.lay.grad_offsets[src.id]}", off

    def grad_ld(self, node: Node) -> int:
        """The row stride of ``node``'s gradient: G holds one row of every node per batch row."""
        src, _ = base(node)
        if src.kind in ("x", "xp", "state", "prod"):
            return src.width
        return self.lay.grad_size

    # the source ----------------------------------------------------------------------------
    def source(self, prelude: str) -> str:
        plan = self.plan
        real = "double" if str(plan.dtype) == "torch.float64" else "float"
        decls = self._decls(backward=False)
        fwd = [self._block_forward(blk) for blk in self.b.blocks]
        segs, prods = seg.segments(self.b.blocks)
        fwd_places = [seg.place_forward(self, n) for n in prods]
        self.backward = True
        bdecls = self._decls(backward=True)
        bwd = [self._block_backward(blk) for blk in self.b.blocks]
        bwd_places = [seg.place_backward(self, n) for n in prods]
        begin = self._begin()
        self.splitting = True  # the same loops for the split time loop
        self.backward = False
        fwd_split = [self._block_forward(blk) for blk in self.b.blocks]
        self.backward = True
        bwd_split = [self._block_backward(blk) for blk in self.b.blocks]
        begin_split = on_thread0(self._begin()) + "\n" + _BARRIER
        self.splitting = False
        both = bdecls + "\n" + self._ptr("W")
        return "\n".join([
            f"typedef {real} real;", prelude,
            'extern "C" {',
            "int rnnkit_traced_abi() { return 1; }",
            "int rnnkit_traced_threads() { return omp_get_max_threads(); }",
            "void rnnkit_traced_forward(int T, int B, void** p) {",
            decls, self._packs(backward=False),
            *self._loops("for (int t = 0; t < T; ++t) {", fwd_split, fwd), "}",
            "void rnnkit_traced_backward(int T, int B, void** p) {",
            bdecls, self._packs(backward=True),
            *self._loops("for (int t = T - 1; t >= 0; --t) {", [begin_split, *reversed(bwd_split)],
                         [begin, *reversed(bwd)]), "}",
            seg.forward_segments(segs, decls, fwd),
            seg.backward_segments(segs, bdecls, bwd, begin),
            seg.place(fwd_places, bwd_places, both),
            "}", ""])

    def _rows(self, width: int, body: str) -> str:
        return rows(width, body, self.splitting)

    def _begin(self) -> str:
        """The start of a backward step: zero its gradients, add the outputs' and states'."""
        return "\n".join([
            f"const size_t gsize = (size_t)B * {self.lay.grad_size};",
            "if (gsize) std::memset(G, 0, gsize * sizeof(real));", self._zero_step(),
            self._seeds()])

    def _loops(self, head: str, split: list[str], plain: list[str]) -> list[str]:
        return time_loops(self.plan.mats, head, split, plain)

    def _ptr(self, name: str, const: bool = False) -> str:
        k = self.lay.slot(name)
        return f"{'const ' if const else ''}real* {name} = (real*)p[{k}];"

    def _decls(self, backward: bool) -> str:
        plan, lay = self.plan, self.lay
        out = ["int TID = 0, NT = 1, SENSE = 0;  // this thread, the threads splitting the loop",
               "rnnkit_sync::StepBarrier BAR;  // and their barrier (barrier.h)",
               "(void)TID; (void)NT; (void)SENSE;"]
        if lay.uses_x:
            out.append(self._ptr("X", True))
        out += [self._ptr(f"XP{h.node.index}", True) for h in plan.hoisted]
        out += [self._ptr(f"S0_{s.index}", True) for s in plan.states]
        out += [self._ptr(f"V{v.index}", True) for v in plan.vecs]
        out += [self._ptr(f"M{m.index}", True) for m in plan.mats]
        out += [self._ptr(f"S{n.id}") for n in lay.stored]
        if not backward:
            out.append(self._ptr("W"))
        if backward:
            out += [self._ptr(f"DOUT{o.id}", True) for o in lay.outputs]
            if lay.uses_x:
                out.append(self._ptr("DX"))
            out += [self._ptr(f"DXP{h.node.index}") for h in plan.hoisted]
            out += [self._ptr(f"DS0_{s.index}") for s in plan.states]
            out += [self._ptr(f"DV{v.index}") for v in plan.vecs]
            out += [self._ptr(f"D{n.id}") for n in lay.prods]
            out.append(self._ptr("G"))
        return "\n".join(out)

    def _packs(self, backward: bool) -> str:
        out = []
        for m in self.plan.mats:
            k, n = m.shape
            if backward:  # dA (B, K) += dOut (B, N) @ M^T
                out.append(f"Gemm P{m.index}(M{m.index}, true, B, {k}, {n}, {n});")
            else:
                out.append(f"Gemm P{m.index}(M{m.index}, false, B, {n}, {k}, {n});")
        return "\n".join(out)

    def _zero_step(self) -> str:
        """Zero step t's rows of the gradients kept per step (allocated uninitialised)."""
        out = []
        names = [("DX", self.plan.input_size)] if self.lay.uses_x else []
        names += [(f"DXP{h.node.index}", h.node.width) for h in self.plan.hoisted]
        names += [(f"D{n.id}", n.width) for n in self.lay.prods]
        for name, w in names:
            out.append(f"std::memset({name} + (size_t)t * B * {w}, 0, (size_t)B * {w} * "
                       "sizeof(real));")
        return "\n".join(out)

    def _seeds(self) -> str:
        out = []
        for o in self.lay.outputs:
            g, _ = self.grad_row(o)
            out.append(f"if (DOUT{o.id})\n" + self._rows(o.width, f"{{ real* g = {g}; "
                       f"const real* d = DOUT{o.id} + ((size_t)t * B + b) * {o.width}; "
                       f"for (int j = 0; j < {o.width}; ++j) g[j] += d[j]; }}"))
        for i, s in enumerate(self.plan.states):
            o = self.state_out[i]
            g, _ = self.grad_row(o)
            out.append(self._rows(s.width, f"{{ real* g = {g}; "
                       f"real* c = DS0_{i} + (size_t)b * {s.width}; "
                       f"for (int j = 0; j < {s.width}; ++j) {{ g[j] += c[j]; c[j] = 0; }} }}"))
        return "\n".join(out)

    # blocks ----------------------------------------------------------------------------------
    def _block_forward(self, blk: list[Node]) -> str:
        return self._block(blk, backward=False)

    def _block_backward(self, blk: list[Node]) -> str:
        return self._block(blk, backward=True)

    def _block(self, blk: list[Node], backward: bool) -> str:
        """A block's code; in the split time loop (self.splitting) followed by its barrier,
        elementwise loops and products splitting their columns between the threads (fused_loop
        decides for its loop), the other blocks on thread 0."""
        n = blk[0]
        if n.kind == "ew":
            code = self._ew(blk, backward=backward)
        else:
            code = getattr(self, f"_{n.kind}")(n, backward=backward)
        if not self.splitting:
            return code
        if n.kind not in ("ew", "prod"):
            code = on_thread0(code)
        return code + "\n" + _BARRIER

    def _prod(self, n: Node, backward: bool) -> str:
        a = n.args[0]
        m = self.plan.mats[n.index]
        width = m.shape[1]
        call, part = ("apply_part", ", TID, NT") if self.splitting else ("apply", "")
        if not backward:
            ap, aoff = self.value_row(a, "0")
            op, _ = self.value_row(n, "0")
            return (f"P{n.index}.{call}({ap} + {aoff}, {self.value_ld(a)}, 0, {op}, "
                    f"{self.value_ld(n)}{part});")
        gp, goff = self.grad_row(a, "0")
        return (f"P{n.index}.{call}(D{n.id} + (size_t)t * B * {width}, {width}, 1, {gp} + "
                f"{goff}, {self.grad_ld(a)}{part});")

    def _cat(self, n: Node, backward: bool) -> str:
        lines, col = [], 0
        for part in n.args:
            vp, voff = (self.grad_row if backward else self.value_row)(part)
            op, _ = (self.grad_row if backward else self.value_row)(n)
            if backward:
                lines.append(f"{{ real* g = {vp} + {voff}; const real* o = {op} + {col}; "
                             f"for (int j = 0; j < {part.width}; ++j) g[j] += o[j]; }}")
            else:
                lines.append(f"{{ const real* v = {vp} + {voff}; real* o = {op} + {col}; "
                             f"for (int j = 0; j < {part.width}; ++j) o[j] = v[j]; }}")
            col += part.width
        return self._rows(n.width, "{\n" + "\n".join(lines) + "\n}")

    def _ew(self, blk: list[Node], backward: bool) -> str:
        return fused_loop(self, blk, backward)


def generate(plan: Plan, prelude: str) -> tuple[str, Layout]:
    g = Generator(plan)
    return g.source(prelude), g.lay

