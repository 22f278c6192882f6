"""The cell contract: one step of a recurrence.

A cell is an ``nn.Module`` with

* ``input_size`` and ``hidden_size`` attributes,
* ``step(x_t, state) -> (h_t, state)``: one time step, ``x_t`` of shape (B, I), ``h_t`` of
  shape (B, H), ``state`` a tensor or a tuple (e.g. a NamedTuple) of tensors shaped (B, ...),
* ``initial_state(batch, device=None, dtype=None)``: the zero state.

That is all a layer needs. :class:`rnnkit.Recurrent` unrolls any such cell over time with
autograd (the reference path); the built-in cells also carry a hand-written whole-sequence
kernel (see :mod:`rnnkit.kernels`) that the layer uses instead when it can.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import torch
from torch import Tensor, nn

State = Any  # a Tensor, or a tuple / NamedTuple of Tensors, each (B, ...)


class RecurrentCell(nn.Module):
    """Base class for cells. Subclasses implement :meth:`step` and :meth:`initial_state`.

    Subclasses may override :meth:`spawn` to build a fresh cell of the same configuration for
    another layer (with another input size); the default deep-copies this cell and re-draws its
    parameters, which works when the input size is unchanged (e.g. the reverse direction of a
    bidirectional layer).

    A cell of your own needs only its sizes and :meth:`step` (here a leaky sum of the inputs);
    it has no kernel, so :class:`rnnkit.Recurrent` runs it on the reference loop:

    >>> class LeakySum(RecurrentCell):
    ...     def __init__(self, input_size):
    ...         super().__init__()
    ...         self.input_size, self.hidden_size = input_size, 1
    ...     def step(self, x_t, h):
    ...         h = 0.5 * h + x_t.sum(1, keepdim=True)  # (B, 1)
    ...         return h, h
    >>> cell = LeakySum(2)
    >>> h = cell.initial_state(1)
    >>> for t in range(3):
    ...     y, h = cell.step(torch.ones(1, 2), h)
    >>> h.tolist(), cell.kernel() is None
    ([[3.5]], True)
    >>> y, h = cell(torch.ones(1, 2))  # forward: from the zero state
    >>> h.tolist(), type(cell.spawn(2)).__name__
    ([[2.0]], 'LeakySum')
    """

    input_size: int
    hidden_size: int

    def step(self, x_t: Tensor, state: State) -> tuple[Tensor, State]:  # pragma: no cover
        raise NotImplementedError(f"{type(self).__name__} must implement step(x_t, state)")

    def initial_state(
        self, batch: int, device: torch.device | None = None, dtype: torch.dtype | None = None
    ) -> State:
        """Zero state of shape (B, H). Override for cells with more than one state tensor."""
        return torch.zeros(batch, self.hidden_size, device=device, dtype=dtype)

    def forward(self, x_t: Tensor, state: State | None = None) -> tuple[Tensor, State]:
        if state is None:
            state = self.initial_state(x_t.shape[0], x_t.device, x_t.dtype)
        return self.step(x_t, state)

    def spawn(self, input_size: int) -> RecurrentCell:
        """A new, freshly initialised cell like this one that reads ``input_size`` features."""
        if input_size != self.input_size:
            raise TypeError(
                f"{type(self).__name__} cannot spawn a cell with input size {input_size} "
                f"(it has {self.input_size}); override spawn(input_size) or pass Recurrent a "
                f"factory, e.g. Recurrent(lambda input_size: MyCell(input_size, H), ...)"
            )
        new = copy.deepcopy(self)
        reset = getattr(new, "reset_parameters", None)
        if callable(reset):
            reset()
        return new

    # Parameters owned by a layer ------------------------------------------------------------
    def alias(self, name: str, owner: nn.Module, owner_name: str) -> None:
        """Read ``self.<name>`` from ``owner.<owner_name>`` from now on: a layer that adopts
        this cell's parameter (under torch.nn's name, :mod:`rnnkit.layers.naming`). Kept as a
        lookup, not a copy, so the cell always sees the layer's current parameter (after
        ``.to()``, ``load_state_dict(assign=True)``...)."""
        aliases = self.__dict__.setdefault("_aliases", {})
        aliases[name] = owner_name
        object.__setattr__(self, "_owner", owner)  # not a submodule: no cycle in modules()

    def __getattr__(self, name: str):
        aliases = self.__dict__.get("_aliases")
        if aliases is not None and name in aliases:
            owner, key = self.__dict__["_owner"], aliases[name]
            params = owner.__dict__["_parameters"]
            if key in params:
                return params[key]
            if isinstance(getattr(type(owner), key, None), property):  # parametrize's
                return getattr(owner, key)
            # never the owner's own __getattr__: it asks the cell back (recursion)
            raise AttributeError(f"{type(owner).__name__} has no parameter {key!r}")
        return super().__getattr__(name)

    # Fast path -------------------------------------------------------------------------------
    def kernel(self):  # -> Callable | None
        """The hand-written whole-sequence kernel for this cell, or None (reference loop)."""
        return None


class GatedCell(RecurrentCell):
    """Shared parameters of the torch.nn-compatible cells: ``G`` gates of size H.

    ``weight_ih`` (G*H, I), ``weight_hh`` (G*H, H), ``bias_ih`` (G*H), ``bias_hh`` (G*H), all
    initialised from U(-1/sqrt(H), 1/sqrt(H)) as in ``torch.nn``.
    """

    num_gates: int = 1
    torch_named = True  # a layer owns these parameters under torch.nn's names
    PARAMETERS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        device: torch.device | None = None,
        dtype: torch.dtype | None = None,
    ):
        super().__init__()
        for name, value in (("input_size", input_size), ("hidden_size", hidden_size)):
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        g = self.num_gates * hidden_size
        kw = {"device": device, "dtype": dtype}
        self.weight_ih = nn.Parameter(torch.empty(g, input_size, **kw))
        self.weight_hh = nn.Parameter(torch.empty(g, hidden_size, **kw))
        if bias:
            self.bias_ih = nn.Parameter(torch.empty(g, **kw))
            self.bias_hh = nn.Parameter(torch.empty(g, **kw))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.hidden_size)
        with torch.no_grad():
            for name in self.PARAMETERS:  # by name: a layer may own them (alias)
                p = getattr(self, name)
                if p is not None:
                    nn.init.uniform_(p, -bound, bound)

    def _spawn_kwargs(self) -> dict:
        return {"bias": self.bias}

    def spawn(self, input_size: int) -> GatedCell:
        p = self.weight_ih
        return type(self)(
            input_size, self.hidden_size, device=p.device, dtype=p.dtype, **self._spawn_kwargs()
        )

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        return s if self.bias else s + ", bias=False"

    def _check_step(self, x_t: Tensor, h: Tensor, c: Tensor | None = None) -> None:
        if x_t.dim() != 2 or x_t.shape[1] != self.input_size:
            raise ValueError(
                f"{type(self).__name__}.step expects x_t of shape (B, {self.input_size}), "
                f"got {tuple(x_t.shape)}"
            )
        want = (x_t.shape[0], self.hidden_size)
        if h.shape != want:
            raise ValueError(
                f"{type(self).__name__}.step expects a state of shape {want}, "
                f"got {tuple(h.shape)}"
            )
        # The cell state is checked too: a (1, H) c would otherwise broadcast silently.
        if c is not None and c.shape != want:
            raise ValueError(
                f"{type(self).__name__}.step expects a cell state c of shape {want}, "
                f"got {tuple(c.shape)}"
            )
