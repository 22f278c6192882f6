"""The generated code of a step's reductions over a row: sum, mean, variance and layer norm,
forward and backward (the methods of :class:`~.codegen.Generator` for those nodes)."""

from __future__ import annotations

from .fused import thread_row
from .graph import Node
from .ops import literal as _lit


def _simd(*sums: str) -> str:
    """The pragma that vectorises a row loop; row reductions (into ``sums``) vectorise only when
    told they may be reordered (no -ffast-math here)."""
    red = f" reduction(+:{', '.join(sums)})" if sums else ""
    return f'_Pragma("omp simd{red}") '


class RowReductions:
    """Needs the generator's value_row, grad_row, _rows and splitting."""

    def _reduction(self, n: Node, backward: bool, per: str, grad: str, pre: str = "") -> str:
        src = n.args[0]
        w = src.width
        head = ""
        if not backward or n.kind == "var":
            vp, voff = self.value_row(src)
            head = (f"const real* s = {vp} + {voff}; real m = 0; "
                    f"{_simd('m')}for (int j = 0; j < {w}; ++j) m += s[j]; m /= {w};")
        if not backward:
            op, _ = self.value_row(n)
            return self._rows(w, f"{{ {head} {pre} ({op})[0] = {per}; }}")
        gp, goff = self.grad_row(src)
        go, _ = self.grad_row(n)
        return self._rows(w, f"{{ {head} {pre} const real go = ({go})[0]; "
                    f"real* gs = {gp} + {goff}; for (int j = 0; j < {w}; ++j) gs[j] += {grad}; }}")

    def _sum(self, n: Node, backward: bool) -> str:
        return self._reduction(n, backward, f"m * {n.args[0].width}", "go")

    def _mean(self, n: Node, backward: bool) -> str:
        return self._reduction(n, backward, "m", f"go / {n.args[0].width}")

    def _var(self, n: Node, backward: bool) -> str:
        w = n.args[0].width
        den = _lit(max(w - n.extra, 0))
        pre = f"real v = 0; {_simd('v')}for (int j = 0; j < {w}; ++j) v += (s[j] - m) * (s[j] - m);"
        return self._reduction(n, backward, f"v / {den}", f"go * 2 * (s[j] - m) / {den}", pre)

    def _ln(self, n: Node, backward: bool) -> str:
        src, w, bias = n.args
        width = src.width
        vp, voff = self.value_row(src)
        wj = f"V{w.index}[j]" if w is not None else "(real)1"
        head = (f"const real* s = {vp} + {voff}; real m = 0; {_simd('m')}"
                f"for (int j = 0; j < {width}; ++j) m += s[j]; m /= {width}; real v = 0; "
                f"{_simd('v')}for (int j = 0; j < {width}; ++j) "
                f"v += (s[j] - m) * (s[j] - m); v /= {width}; "
                f"const real r = 1 / std::sqrt(v + {_lit(n.extra)});")
        if not backward:
            op, _ = self.value_row(n)
            bj = f" + V{bias.index}[j]" if bias is not None else ""
            return self._rows(width, f"{{ {head} real* o = {op}; {_simd()}for (int j = 0; "
                        f"j < {width}; ++j) o[j] = (s[j] - m) * r * {wj}{bj}; }}")
        gp, goff = self.grad_row(src)
        go, _ = self.grad_row(n)
        tid = f"(size_t){thread_row(self.splitting)} * {width}"
        dw = f"DV{w.index}[{tid} + j] += g[j] * xh;" if w is not None else ""
        db = f"DV{bias.index}[{tid} + j] += g[j];" if bias is not None else ""
        return self._rows(width, f"{{ {head} const real* g = {go}; "
                f"real* gs = {gp} + {goff}; real sg = 0, sgx = 0; "
                f"{_simd('sg', 'sgx')}for (int j = 0; j < {width}; ++j) {{ "
                "const real xh = (s[j] - m) * r; "
                f"const real gx = g[j] * {wj}; sg += gx; sgx += gx * xh; {dw} {db} }} "
                f"sg /= {width}; sgx /= {width}; {_simd()}for (int j = 0; j < {width}; ++j) {{ "
                f"const real xh = (s[j] - m) * r; gs[j] += r * (g[j] * {wj} - sg - xh * sgx); "
                "} }")

