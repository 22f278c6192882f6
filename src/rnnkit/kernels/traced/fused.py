"""One fused loop of consecutive elementwise operations of one width (see :mod:`.codegen`).

Forward: for every row ``b`` and column ``j`` the block's values are computed as locals, and
those read elsewhere are stored. Backward: the same loop recomputes the locals, then goes
through the block's operations in reverse, each adding its operands' shares of its gradient:
to a local, to an operand's gradient row, to a per-row column's accumulator (summed over the
columns), or to a parameter vector's gradient (summed over the rows).
"""

from __future__ import annotations

from .graph import Node, Param, base
from .ops import OPS, literal


def _operand_expr(a, width: int, local: set[int]) -> str:
    if isinstance(a, Param):
        return f"V{a.index}[0]" if _size(a) == 1 else f"V{a.index}[j]"
    if isinstance(a, Node):
        if a.id in local:
            return f"v{a.id}"
        return f"c{a.id}" if a.width == 1 and width > 1 else f"r{a.id}[j]"
    return literal(a)


def _size(p: Param) -> int:
    n = 1
    for d in p.shape:
        n *= d
    return n


def _mapping(gen, n: Node, local: set[int]) -> dict:
    op = OPS[n.op]
    m = {name: _operand_expr(a, n.width, local) for name, a in zip(op.operands, n.args)}
    m.update({k: literal(v) for k, v in n.statics.items()})
    m.update(g=f"g{n.id}", y=f"v{n.id}")
    return m


def _externals(blk: list[Node], local: set[int]):
    rows, cols = {}, {}
    for n in blk:
        for a in n.args:
            if isinstance(a, Node) and a.id not in local:
                (cols if a.width == 1 and n.width > 1 else rows)[a.id] = a
    return rows, cols


def _simd_safe(rows: dict) -> bool:
    """No two operands' gradient rows overlap at different offsets of one storage (their
    writes would cross between the iterations of a vector)."""
    spans: dict[int, list[tuple[int, int]]] = {}
    for a in rows.values():
        src, off = base(a)
        spans.setdefault(src.id, []).append((off, off + a.width))
    for got in spans.values():
        got = sorted(set(got))
        for (_, a1), (b0, _) in zip(got, got[1:]):
            if b0 < a1:
                return False
    return True


def _reads(op, name: str) -> bool:
    return any("{" + name + "}" in rule for rule in op.grads.values())


def recomputed(blk: list[Node]) -> set[int]:
    """The block's locals its backward loop recomputes: those a derivative reads (its output,
    or an operand), and what they are computed from."""
    local = {n.id for n in blk}
    need = set()
    for n in blk:
        op = OPS[n.op]
        if _reads(op, "y"):
            need.add(n.id)
        for name, a in zip(op.operands, n.args):
            if isinstance(a, Node) and a.id in local and _reads(op, name):
                need.add(a.id)
    for n in reversed(blk):
        if n.id in need:
            need |= {a.id for a in n.args if isinstance(a, Node) and a.id in local}
    return need


def read_outside(blk: list[Node], need: set[int]) -> list[Node]:
    """The operands from outside the block whose values its backward loop reads."""
    local = {n.id for n in blk}
    out = {}
    for n in blk:
        op = OPS[n.op]
        for name, a in zip(op.operands, n.args):
            if isinstance(a, Node) and a.id not in local and (n.id in need or _reads(op, name)):
                out[a.id] = a
    return list(out.values())


def fused_loop(gen, blk: list[Node], backward: bool) -> str:
    width = blk[0].width
    local = {n.id for n in blk}
    stored = gen.b.stored
    rows, cols = _externals(blk, local)
    pre, post, body = [], [], []
    need = recomputed(blk) if backward else local
    read = {a.id for a in read_outside(blk, need)} if backward else set(rows) | set(cols)
    for a in rows.values():
        if a.id in read:
            vp, off = gen.value_row(a)
            pre.append(f"const real* r{a.id} = {vp} + {off};")
    for a in cols.values():
        if a.id in read:
            vp, off = gen.value_row(a)
            pre.append(f"const real c{a.id} = ({vp})[{off}];")
    for n in blk:
        if n.id in need:
            expr = OPS[n.op].forward.format(**_mapping(gen, n, local))
            body.append(f"const real v{n.id} = {expr};")
    if not backward:
        for n in blk:
            if n.id in stored:
                vp, _ = gen.value_row(n)
                pre.append(f"real* o{n.id} = {vp};")
                body.append(f"o{n.id}[j] = v{n.id};")
        return _loop(pre, body, post, [], width, simd=True, split=True,
                     splitting=gen.splitting)
    reductions = []
    for a in rows.values():
        gp, off = gen.grad_row(a)
        pre.append(f"real* gr{a.id} = {gp} + {off};")
    for a in cols.values():
        gp, off = gen.grad_row(a)
        pre.append(f"real gc{a.id} = 0;")
        post.append(f"({gp})[{off}] += gc{a.id};")
        reductions.append(f"gc{a.id}")
    vecs = {a.index: a for n in blk for a in n.args if isinstance(a, Param)}
    for k, a in vecs.items():  # each thread its own row of DV (summed afterwards)
        pre.append(f"real* dv{k} = DV{k} + (size_t){thread_row(gen.splitting)} * {_size(a)};")
        if _size(a) == 1:
            pre.append(f"real gp{k} = 0;")
            post.append(f"dv{k}[0] += gp{k};")
            reductions.append(f"gp{k}")
    for n in blk:
        if n.id in stored:
            gp, _ = gen.grad_row(n)
            pre.append(f"const real* gm{n.id} = {gp};")
            body.append(f"real g{n.id} = gm{n.id}[j];")
        else:
            body.append(f"real g{n.id} = 0;")
    for n in reversed(blk):
        op, m = OPS[n.op], _mapping(gen, n, local)
        for name, a in zip(op.operands, n.args):
            rule = op.grads.get(name)
            if rule is None or isinstance(a, float):
                continue
            body.append(f"{_target(a, n.width, local)} += {rule.format(**m)};")
    safe = _simd_safe(rows)
    return _loop(pre, body, post, reductions, width, simd=safe,
                 split=safe and not reductions, splitting=gen.splitting)


def _target(a, width: int, local: set[int]) -> str:
    if isinstance(a, Param):
        return f"gp{a.index}" if _size(a) == 1 else f"dv{a.index}[j]"
    if a.id in local:
        return f"g{a.id}"
    return f"gc{a.id}" if a.width == 1 and width > 1 else f"gr{a.id}[j]"


def _loop(pre, body, post, reductions, width: int, simd: bool, split: bool,
          splitting: bool) -> str:
    """The loop over rows and columns. splitting: the code of the split time loop (batch 1,
    threads splitting each step; :meth:`~.codegen.Generator.source`), where a loop whose every
    column's work is its own (split: no reduction over the columns, no two columns writing one
    place) takes this thread's share of the columns, and any other runs on thread 0."""
    pragma = ""
    if simd:
        red = f" reduction(+:{', '.join(reductions)})" if reductions else ""
        pragma = f"#pragma omp simd{red}\n"

    def block(lo: str, hi: str) -> str:
        return ("{\n" + "\n".join(pre) + "\n" + pragma + f"for (int j = {lo}; j < {hi}; ++j) {{\n"
                + "\n".join(body) + "\n}\n" + "\n".join(post) + "\n}")

    if not splitting:
        return rows(width, block("0", str(width)))
    if not split:
        return on_thread0(rows(width, block("0", str(width)), splitting=True))
    return (f"{{\nint j0, j1; rnnkit_sync::share({width}, TID, NT, &j0, &j1); const int b = 0;\n"
            f"{block('j0', 'j1')}\n}}")


def on_thread0(code: str) -> str:
    """A block of the split time loop that thread 0 runs alone."""
    return f"if (TID == 0) {{\n{code}\n}}"


def thread_row(splitting: bool) -> str:
    """This thread's row of the per-thread parameter-gradient buffers."""
    return "TID" if splitting else "omp_get_thread_num()"


def rows(width: int, body: str, splitting: bool = False) -> str:
    """``body`` (a braced block over row ``b``) for every row of a step, split between threads
    when the step is large enough (each row's work is independent: gradients of parameters go
    to per-thread rows). One thread runs the rows without entering an OpenMP region: a region
    of one thread still costs its team's setup, once per block and step (the user LSTM at
    (1, 1000, 64, 128) 12% faster without; docs/design/native-loop.md). The body is written
    twice rather than wrapped in a lambda, which made the layer-norm loops 1.3x slower. In the
    split time loop (splitting) there is one row and no nested region."""
    loop = "for (int b = 0; b < B; ++b) "
    if splitting:
        return f"{loop}{body}"
    return (f"if (row_threads(B, {width}) > 1) {{\n"
            f"#pragma omp parallel for num_threads(row_threads(B, {width})) schedule(static)\n"
            f"{loop}{body}\n}} else {{\n{loop}{body}\n}}")
