"""The elementwise operations the traced fast path compiles: each ATen operation's C
expression and the contribution of the upstream gradient ``g`` to each of its operands.

Placeholders: an operand by its schema name (``{self}``, ``{other}``...), ``{y}`` the
operation's output, ``{g}`` the gradient arriving at it, and the static (non-tensor)
arguments by name. Static arguments are literals of the generated code; tensor operands are a
step's rows, a parameter vector broadcast over the rows, a per-row column, or Python numbers.

>>> OPS["mul.Tensor"].forward.format(self="a", other="b")
'(a) * (b)'
>>> sorted(OPS["lerp.Scalar"].grads)
['end', 'self']
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Op:
    forward: str
    grads: dict[str, str]  # operand -> contribution of g; operands without one get none
    operands: tuple[str, ...] = ("self",)
    statics: dict[str, object] = field(default_factory=dict)  # name -> default


def _unary(forward: str, grad: str) -> Op:
    return Op(forward, {"self": grad})


_SIGM = "sigm({self})"
OPS: dict[str, Op] = {
    "add.Tensor": Op("({self}) + {alpha} * ({other})", {"self": "{g}", "other": "{alpha} * {g}"},
                     ("self", "other"), {"alpha": 1}),
    "sub.Tensor": Op("({self}) - {alpha} * ({other})", {"self": "{g}", "other": "-{alpha} * {g}"},
                     ("self", "other"), {"alpha": 1}),
    "rsub.Tensor": Op("({other}) - {alpha} * ({self})",
                      {"self": "-{alpha} * {g}", "other": "{g}"}, ("self", "other"),
                      {"alpha": 1}),
    "rsub.Scalar": Op("({other}) - {alpha} * ({self})", {"self": "-{alpha} * {g}"},
                      ("self", "other"), {"alpha": 1}),
    "add.Scalar": Op("({self}) + {alpha} * ({other})", {"self": "{g}"}, ("self", "other"),
                     {"alpha": 1}),
    "sub.Scalar": Op("({self}) - {alpha} * ({other})", {"self": "{g}"}, ("self", "other"),
                     {"alpha": 1}),
    "mul.Tensor": Op("({self}) * ({other})", {"self": "{g} * ({other})", "other": "{g} * ({self})"},
                     ("self", "other")),
    "mul.Scalar": Op("({self}) * ({other})", {"self": "{g} * ({other})"}, ("self", "other")),
    "div.Tensor": Op("({self}) / ({other})",
                     {"self": "{g} / ({other})", "other": "-{g} * ({y}) / ({other})"},
                     ("self", "other")),
    "div.Scalar": Op("({self}) / ({other})", {"self": "{g} / ({other})"}, ("self", "other")),
    "maximum.default": Op("(({self}) >= ({other}) ? ({self}) : ({other}))",
                          {"self": "tie_grad({g}, {self}, {other})",
                           "other": "tie_grad({g}, {other}, {self})"}, ("self", "other")),
    "minimum.default": Op("(({self}) <= ({other}) ? ({self}) : ({other}))",
                          {"self": "tie_grad({g}, -({self}), -({other}))",
                           "other": "tie_grad({g}, -({other}), -({self}))"}, ("self", "other")),
    "addcmul.default": Op("({self}) + {value} * ({tensor1}) * ({tensor2})",
                          {"self": "{g}", "tensor1": "{value} * {g} * ({tensor2})",
                           "tensor2": "{value} * {g} * ({tensor1})"},
                          ("self", "tensor1", "tensor2"), {"value": 1}),
    "addcdiv.default": Op("({self}) + {value} * ({tensor1}) / ({tensor2})",
                          {"self": "{g}", "tensor1": "{value} * {g} / ({tensor2})",
                           "tensor2": "-{value} * {g} * ({tensor1}) / (({tensor2}) * ({tensor2}))"},
                          ("self", "tensor1", "tensor2"), {"value": 1}),
    "lerp.Scalar": Op("({self}) + {weight} * (({end}) - ({self}))",
                      {"self": "{g} * (1 - {weight})", "end": "{g} * {weight}"},
                      ("self", "end"), {"weight": None}),
    "lerp.Tensor": Op("({self}) + ({weight}) * (({end}) - ({self}))",
                      {"self": "{g} * (1 - ({weight}))", "end": "{g} * ({weight})",
                       "weight": "{g} * (({end}) - ({self}))"}, ("self", "end", "weight")),
    "neg.default": _unary("-({self})", "-{g}"),
    "sigmoid.default": _unary(_SIGM, "{g} * ({y}) * (1 - ({y}))"),
    "tanh.default": _unary("tanhr({self})", "{g} * (1 - ({y}) * ({y}))"),
    "relu.default": _unary("relur({self})", "(({y}) > 0 ? {g} : 0)"),
    "exp.default": _unary("std::exp({self})", "{g} * ({y})"),
    "expm1.default": _unary("std::expm1({self})", "{g} * (({y}) + 1)"),
    "log.default": _unary("std::log({self})", "{g} / ({self})"),
    "log1p.default": _unary("std::log1p({self})", "{g} / (1 + ({self}))"),
    "sqrt.default": _unary("std::sqrt({self})", "{g} / (2 * ({y}))"),
    "rsqrt.default": _unary("1 / std::sqrt({self})", "(real)(-0.5) * {g} * ({y}) * ({y}) * ({y})"),
    "reciprocal.default": _unary("1 / ({self})", "-{g} * ({y}) * ({y})"),
    "abs.default": _unary("std::abs({self})", "{g} * sgn({self})"),
    "sin.default": _unary("std::sin({self})", "{g} * std::cos({self})"),
    "cos.default": _unary("std::cos({self})", "-{g} * std::sin({self})"),
    "erf.default": _unary("std::erf({self})",
                          "{g} * (real)1.1283791670955126 * std::exp(-({self}) * ({self}))"),
    "silu.default": _unary("({self}) * sigm({self})",
                           "{g} * sigm({self}) * (1 + ({self}) * (1 - sigm({self})))"),
    "clone.default": _unary("{self}", "{g}"),
    "alias.default": _unary("{self}", "{g}"),
    "detach.default": Op("{self}", {}),
    "pow.Tensor_Scalar": Op("powr({self}, {exponent})",
                            {"self": "{g} * {exponent} * powr({self}, {exponent} - 1)"},
                            ("self",), {"exponent": None}),
    "clamp.default": Op("clampr({self}, {min}, {max})",
                        {"self": "((({self}) >= {min} && ({self}) <= {max}) ? {g} : 0)"},
                        ("self",), {"min": None, "max": None}),
    "clamp_min.default": Op("clampr({self}, {min}, {max})",
                            {"self": "(({self}) >= {min} ? {g} : 0)"}, ("self",),
                            {"min": None, "max": None}),
    "clamp_max.default": Op("clampr({self}, {min}, {max})",
                            {"self": "(({self}) <= {max} ? {g} : 0)"}, ("self",),
                            {"min": None, "max": None}),
    "hardtanh.default": Op("clampr({self}, {min_val}, {max_val})",
                           {"self": "((({self}) > {min_val} && ({self}) < {max_val}) ? {g} : 0)"},
                           ("self",), {"min_val": -1.0, "max_val": 1.0}),
    "leaky_relu.default": Op("(({self}) > 0 ? ({self}) : {negative_slope} * ({self}))",
                             {"self": "(({self}) > 0 ? {g} : {negative_slope} * {g})"},
                             ("self",), {"negative_slope": 0.01}),
    "softplus.default": Op("softplusr({self}, {beta}, {threshold})",
                           {"self": "(({self}) * {beta} > {threshold} ? {g} : "
                                    "{g} * sigm(({self}) * {beta}))"},
                           ("self",), {"beta": 1.0, "threshold": 20.0}),
    "gelu.default": Op("gelur({self})", {"self": "{g} * gelu_grad({self})"}, ("self",),
                       {"approximate": "none"}),
}


def literal(v) -> str:
    """A number as a literal of the generated code."""
    v = float(v)
    if math.isinf(v):
        return "INF" if v > 0 else "(-INF)"
    return f"((real){v!r})"
