"""The time loop cut at its per-step products, for steps whose products run in PyTorch.

When a recurrent weight outgrows the cache, oneDNN's packed product streams it 1.2-2x faster
than MKL's packed sgemm (measured for the built-in loop, docs/design/native-loop.md), and only
PyTorch reaches oneDNN. Then Python drives the loop, as the built-in kernels do there: per
step, the generated code of each segment between two products, and the products themselves
through oneDNN (:mod:`.function`). ``rnnkit_traced_place`` tells Python where a product's
operands lie at step t (pointers and row strides), so the placement stays in one place.
"""

from __future__ import annotations


def segments(blocks: list) -> tuple[list[list[int]], list]:
    """Block indices per segment (the blocks between two products), and the product nodes in
    loop order: segment k runs before product k."""
    segs, prods = [[]], []
    for i, blk in enumerate(blocks):
        if blk[0].kind == "prod":
            prods.append(blk[0])
            segs.append([])
        else:
            segs[-1].append(i)
    return segs, prods


def _switch(name: str, decls: str, cases: list[str], head: str = "") -> str:
    body = "\n".join(f"case {k}: {{\n{code}\n}} break;" for k, code in enumerate(cases))
    return (f"void {name}(int s, int t, int B, void** p) {{\n{decls}\n{head}\n"
            f"switch (s) {{\n{body}\n}}\n}}")


def forward_segments(segs: list[list[int]], decls: str, fwd: list[str]) -> str:
    return _switch("rnnkit_traced_forward_segment", decls,
                   ["\n".join(fwd[i] for i in seg) for seg in segs])


def backward_segments(segs: list[list[int]], decls: str, bwd: list[str], begin: str) -> str:
    """``s = -1`` starts step t (zeroing and seeds); then segment s backward, last first."""
    cases = ["\n".join(bwd[i] for i in reversed(seg)) for seg in segs]
    head = f"if (s < 0) {{\n{begin}\nreturn;\n}}"
    return _switch("rnnkit_traced_backward_segment", decls, cases, head)


def place(fwd_places: list[str], bwd_places: list[str], decls: str) -> str:
    """``rnnkit_traced_place(k, t, B, p, backward, out)``: product k's left factor and result
    at step t (forward: A_t, out_t; backward: dOut_t, dA_t), as out = {a, lda, c, ldc}."""
    cases = []
    for f, b in zip(fwd_places, bwd_places):
        cases.append(f"if (backward) {{ {b} }} else {{ {f} }}")
    body = "\n".join(f"case {k}: {{ {c} }} break;" for k, c in enumerate(cases))
    return ("void rnnkit_traced_place(int s, int t, int B, void** p, int backward, "
            f"long long* out) {{\n{decls}\nswitch (s) {{\n{body}\n}}\n}}")


def place_forward(gen, n) -> str:
    a = n.args[0]
    ap, aoff = gen.value_row(a, "0")
    op, _ = gen.value_row(n, "0")
    return (f"out[0] = (long long)({ap} + {aoff}); out[1] = {gen.value_ld(a)}; "
            f"out[2] = (long long)({op}); out[3] = {gen.value_ld(n)};")


def place_backward(gen, n) -> str:
    a = n.args[0]
    gp, goff = gen.grad_row(a, "0")
    return (f"out[0] = (long long)(D{n.id} + (size_t)t * B * {n.width}); out[1] = {n.width}; "
            f"out[2] = (long long)({gp} + {goff}); out[3] = {gen.grad_ld(a)};")

