"""``Recurrent(cell)``: the one place that iterates a cell over time.

The layer stacks ``num_layers`` cells, optionally in both directions, handles padding by
``lengths``, inter-layer dropout, and picks an execution backend:

* ``"kernel"``: the cell's hand-written whole-sequence kernel (built-in cells),
* ``"traced"``: the cell's own ``step`` compiled into a whole-sequence kernel on a CPU
  (:mod:`rnnkit.kernels.traced`; cells users write),
* ``"reference"``: autograd over ``cell.step`` (any cell; the ground truth),
* ``"torch"``: delegation to ``torch.nn``'s fused implementation (cuDNN on a GPU, oneDNN for
  the LSTM on a CPU), built-in cells only,
* ``"auto"`` (default): ``"torch"`` on CUDA for built-in cells, ``"kernel"`` on a CPU for
  built-in cells (``"torch"`` for an LSTM under ``torch.no_grad()``: oneDNN's forward is
  faster and inference needs no backward), ``"traced"`` on a CPU for cells without a kernel
  (``"reference"`` when their step cannot be compiled: one log line says why), else
  ``"reference"``.

The kernels are opaque to tracers, so a traced layer runs on what they can record (see
:mod:`rnnkit.kernels.scan`): under ``torch.export``, the cell's step inside torch's ``scan``
(a dynamic time axis, any cell); under the TorchScript tracer (``torch.onnx.export(dynamo=
False)``), ``"torch"`` for built-in cells unless ``"reference"`` was asked for, which ONNX
maps onto its LSTM, GRU and RNN operators with per-row lengths. Lengths are data there: they
are not checked.

State dict keys follow torch.nn (``weight_ih_l0``, ``bias_hh_l1_reverse``...), so a
``torch.nn.LSTM`` state dict loads into :class:`rnnkit.LSTM` unchanged and back.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..cells.base import RecurrentCell
from ..kernels.common import map_state, stack_states, state_leaves
from ..kernels.scan import tracing_mode
from ..kernels.traced import traced_enabled
from .fallback import kernel_error, reference_fallback
from .naming import TORCH_KEY, adopt_parameters, cell_index, from_torch_names, to_torch_names
from .paths import run_cell
from .torch_backend import torch_forward, torch_mode

BACKENDS = ("auto", "kernel", "traced", "reference", "torch")
_AUTOCAST_NOTED: list = []  # the autocast note is logged once per process
log = logging.getLogger(__name__)


class Recurrent(nn.Module):
    """Stack ``num_layers`` copies of a cell over time, batch first.

    Args:
        cell: a :class:`~rnnkit.cells.RecurrentCell` for the first layer (further layers and
            the reverse direction get ``cell.spawn(input_size)``), or a factory
            ``cell(input_size) -> RecurrentCell`` (then ``input_size`` is required).
        num_layers: L, stacked layers; layer l > 0 reads layer l-1's outputs.
        bidirectional: D = 2 when True; outputs of both directions are concatenated.
        dropout: dropout probability on the outputs of every layer but the last (training only).
        backend: ``"auto"``, ``"kernel"``, ``"reference"`` or ``"torch"`` (module docstring).
        input_size: I, required with a factory.

    ``forward(x, state=None, lengths=None) -> (output, final_state)``:

    * ``x``: (B, T, I).
    * ``state``: the cell's state structure with every leaf shaped (L*D, B, ...), as torch.nn
      (index ``layer * D + direction``); None for zeros.
    * ``lengths``: (B,) integers in [1, T], on any device, in any order. Outputs past a row's
      length are zero, and the final state is the state at that row's own last step, in both
      directions (the reverse direction starts at each row's last valid step).
    * ``output``: (B, T, D*H); ``final_state``: like ``state``.

    >>> import torch
    >>> from rnnkit.cells import GRUCell
    >>> _ = torch.manual_seed(0)
    >>> layer = Recurrent(GRUCell(3, 4), num_layers=2, bidirectional=True)
    >>> x = torch.randn(2, 5, 3)
    >>> out, h = layer(x, lengths=torch.tensor([5, 2]))
    >>> tuple(out.shape), tuple(h.shape)
    ((2, 5, 8), (4, 2, 4))

    Past its length a row's outputs are zero, and its final state is the one it would have
    alone, cut to its length; every backend gives the same result:

    >>> bool((out[1, 2:] == 0).all())
    True
    >>> out_alone, h_alone = layer(x[1:, :2])
    >>> torch.allclose(out[1:, :2], out_alone, atol=1e-6), torch.allclose(h[:, 1:], h_alone)
    (True, True)
    >>> layer.backend = "reference"
    >>> torch.allclose(layer(x, lengths=torch.tensor([5, 2]))[0], out, atol=1e-6)
    True
    >>> layer.resolve_backend(x.device), "weight_hh_l1_reverse" in layer.state_dict()
    ('reference', True)
    """

    def __init__(
        self,
        cell: RecurrentCell | Callable[[int], RecurrentCell],
        num_layers: int = 1,
        bidirectional: bool = False,
        dropout: float = 0.0,
        backend: str = "auto",
        input_size: int | None = None,
    ):
        super().__init__()
        if not isinstance(num_layers, int) or num_layers < 1:
            raise ValueError(f"num_layers must be an int >= 1, got {num_layers!r}")
        if not 0.0 <= float(dropout) < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
        D = 2 if bidirectional else 1
        if isinstance(cell, nn.Module):
            first = cell
            make = getattr(cell, "spawn", None)  # checked below: only needed for L > 1 or D = 2
        elif callable(cell):
            if input_size is None:
                raise TypeError("Recurrent(factory, ...) needs input_size=")
            first = cell(input_size)
            make = cell
        else:
            raise TypeError(f"cell must be a RecurrentCell or a factory, got {type(cell)!r}")
        for attr in ("input_size", "hidden_size", "step", "initial_state"):
            if not hasattr(first, attr):
                raise TypeError(
                    f"{type(first).__name__} is not a cell: it lacks {attr!r} "
                    "(a cell needs input_size, hidden_size, step(x_t, state), initial_state(B))"
                )
        if make is None and (num_layers > 1 or bidirectional):
            raise TypeError(
                f"{type(first).__name__} has no spawn(input_size) to build the cells of further "
                "layers or of the reverse direction; subclass rnnkit.RecurrentCell or pass a "
                "factory, e.g. Recurrent(lambda input_size: MyCell(input_size, H), ...)"
            )
        if input_size is not None and input_size != first.input_size:
            raise ValueError(f"input_size={input_size} but the cell reads {first.input_size}")
        H = first.hidden_size
        out_size = getattr(first, "output_size", H)  # what a layer outputs (a ProjLSTMCell: P)
        cells = []
        for layer in range(num_layers):
            for d in range(D):
                if layer == 0 and d == 0:
                    cells.append(first)
                else:
                    cells.append(make(first.input_size if layer == 0 else D * out_size))
        self.cells = nn.ModuleList(cells)
        self.input_size = first.input_size
        self.hidden_size = H
        self.num_layers = num_layers
        self.bidirectional = bidirectional
        self.num_directions = D
        self.dropout = float(dropout)
        self.backend = backend
        self._step_hook = None  # set by observe_steps() while a diagnostic watches every step
        adopt_parameters(self)
        self.register_state_dict_post_hook(to_torch_names)
        self.register_load_state_dict_pre_hook(from_torch_names)

    # torch.nn-style attribute names: layer.weight_hh_l0, layer.bias_ih_l1_reverse ------------
    def __getattr__(self, name: str):
        try:
            return super().__getattr__(name)
        except AttributeError:
            m = TORCH_KEY.match(name)
            k = None if m is None else cell_index(self, m)
            if k is None:
                raise
            return getattr(super().__getattr__("cells")[k], m.group(1))

    def extra_repr(self) -> str:
        s = f"num_layers={self.num_layers}"
        if self.bidirectional:
            s += ", bidirectional=True"
        if self.dropout:
            s += f", dropout={self.dropout}"
        return s + f", backend={self.backend!r}"

    # -----------------------------------------------------------------------------------------
    def resolve_backend(self, device: torch.device) -> str:
        """The backend a forward on ``device`` uses."""
        if self._step_hook is not None:
            return "reference"  # only the reference loop has per-step tensors to show
        traced = tracing_mode()
        if traced == "export":
            return "scan"  # the one loop torch.export traces over a dynamic time axis
        projected = getattr(self.cells[0], "proj_size", 0)  # neither ONNX nor oneDNN has one
        if traced == "trace" and self.backend != "reference":
            return "torch" if torch_mode(self) is not None and not projected else "reference"
        has_kernel = all(getattr(c, "kernel", lambda: None)() is not None for c in self.cells)
        if self.backend == "auto":
            mode = torch_mode(self) if has_kernel else None
            if mode is not None and device.type == "cuda":
                return "torch"
            if mode == "lstm" and not projected and not torch.is_grad_enabled():
                # Inference: oneDNN's fused LSTM forward is 1.2-7x faster than the kernel's
                # forward (docs/benchmarks.md), and no backward is needed.
                return "torch"
            if has_kernel:
                return "kernel"
            return "traced" if traced_enabled(device) else reference_fallback(self.cells[0])
        if self.backend == "kernel" and not has_kernel:
            raise kernel_error(self.cells[0])
        if self.backend == "torch" and torch_mode(self) is None:
            raise ValueError(
                "backend='torch' delegates to torch.nn and needs rnnkit's built-in RNNCell, "
                f"LSTMCell or GRUCell; got {type(self.cells[0]).__name__}"
            )
        return self.backend

    @contextmanager
    def observe_steps(self, hook: Callable) -> Iterator[Recurrent]:
        """Within the block, run on the reference path and call
        ``hook(k, t, x_t, prev_state, h_t, state)`` after every step of every cell: ``k`` is
        the cell's index ``layer * D + direction``, ``t`` the step in that cell's own order (the
        reverse direction starts at the end), the tensors are those of the autograd graph.
        Used by :mod:`rnnkit.diagnostics`; the kernels keep no per-step tensors to show.
        """
        if self._step_hook is not None:
            raise RuntimeError("observe_steps() blocks on one layer cannot be nested")
        self._step_hook = hook
        try:
            yield self
        finally:
            self._step_hook = None

    def initial_state(self, batch: int, device=None, dtype=None) -> Any:
        """Zero state with leaves (L*D, B, ...)."""
        return stack_states([c.initial_state(batch, device, dtype) for c in self.cells])

    def forward(self, x: Tensor, state: Any = None, lengths: Tensor | None = None):
        if isinstance(x, Tensor) and torch.is_autocast_enabled(x.device.type):
            return self._forward_outside_autocast(x, state, lengths)
        B, T = self._check_input(x)
        lengths = self._check_lengths(lengths, B, T, x.device)
        states = self._split_state(state, B, x)
        backend = self.resolve_backend(x.device)
        if backend == "torch":
            output, final = torch_forward(self, x, state, lengths, states)
        else:
            output, final = self._forward_loop(x, states, lengths, backend)
        if lengths is not None:
            mask = torch.arange(T, device=x.device).unsqueeze(0) < lengths.unsqueeze(1)  # (B, T)
            output = output * mask.unsqueeze(2).to(output.dtype)
        return output, final

    def _forward_outside_autocast(self, x: Tensor, state: Any, lengths: Tensor | None):
        """Under ``torch.autocast`` the layer runs in its parameters' dtype (float32 master
        weights): its kernels, the native loop included, compute in float32, while the products
        around it (embeddings' projections, output layers) take autocast's lower precision.
        The inputs are cast to the parameters' dtype; the outputs stay in it."""
        p = next(self.parameters(), None)
        dtype = x.dtype if p is None else p.dtype
        if not _AUTOCAST_NOTED:
            _AUTOCAST_NOTED.append(True)
            log.info("autocast: recurrent layers run in %s (their kernels have no lower-"
                     "precision path); the other products take autocast's dtype", dtype)
        with torch.autocast(x.device.type, enabled=False):
            cast = map_state(lambda t: t.to(dtype), state) if state is not None else None
            return self.forward(x.to(dtype), cast, lengths)

    def _forward_loop(self, x, states, lengths, backend):
        D = self.num_directions
        seq = x.transpose(0, 1)  # (T, B, I): the kernels are time-major
        rev_index = _reverse_index(x.shape[1], x.shape[0], lengths, x.device) if D == 2 else None
        finals = []
        for layer in range(self.num_layers):
            outs = []
            for d in range(D):
                k = layer * D + d
                inp = seq if d == 0 else _reverse(seq, rev_index)
                hook = None if self._step_hook is None else _bind_hook(self._step_hook, k)
                out, fin = run_cell(self.cells[k], inp, states[k], lengths, backend, hook,
                                     strict=self.backend == "traced")
                outs.append(out if d == 0 else _reverse(out, rev_index))
                finals.append(fin)
            seq = outs[0] if D == 1 else torch.cat(outs, dim=2)  # (T, B, D*H)
            if self.dropout > 0 and self.training and layer < self.num_layers - 1:
                seq = F.dropout(seq, self.dropout, training=True)
        return seq.transpose(0, 1).contiguous(), stack_states(finals)

    # Input checks: say what was expected and what was found ----------------------------------
    def _check_input(self, x: Tensor) -> tuple[int, int]:
        if not isinstance(x, Tensor):
            raise TypeError(f"x must be a Tensor of shape (B, T, I), got {type(x).__name__}")
        if x.dim() != 3:
            raise ValueError(
                f"x must have shape (B, T, I) = (batch, time, {self.input_size}); got a "
                f"{x.dim()}-d tensor of shape {tuple(x.shape)}"
            )
        B, T, I = x.shape
        if I != self.input_size:
            raise ValueError(
                f"x has {I} features (shape {tuple(x.shape)}) but the layer expects "
                f"input_size={self.input_size}"
            )
        if B == 0 or T == 0:
            raise ValueError(f"x must have B >= 1 and T >= 1, got shape {tuple(x.shape)}")
        if not x.is_floating_point():
            raise TypeError(f"x must be a floating tensor, got {x.dtype}")
        p = next(self.parameters(), None)
        if p is not None and (p.dtype != x.dtype or p.device != x.device):
            raise TypeError(
                f"x is {x.dtype} on {x.device} but the layer's parameters are {p.dtype} on "
                f"{p.device}; convert one with .to()"
            )
        return B, T

    @staticmethod
    def _check_lengths(lengths, B, T, device) -> Tensor | None:
        if lengths is None:
            return None
        if not isinstance(lengths, Tensor):
            lengths = torch.as_tensor(lengths)
        if lengths.dim() != 1 or lengths.shape[0] != B:
            raise ValueError(f"lengths must have shape ({B},), got {tuple(lengths.shape)}")
        if lengths.is_floating_point() or lengths.is_complex() or lengths.dtype == torch.bool:
            raise TypeError(f"lengths must be integers, got {lengths.dtype}")
        if tracing_mode() is not None:  # values are the graph's inputs: no checks, no shortcut
            return lengths.to(device=device, dtype=torch.long)
        lo, hi = int(lengths.min()), int(lengths.max())
        if lo < 1 or hi > T:
            bad = lo if lo < 1 else hi
            raise ValueError(
                f"every length must be in [1, T={T}]; found {bad} (lengths={lengths.tolist()})"
            )
        if lo == T:
            return None  # nothing is padded
        return lengths.to(device=device, dtype=torch.long)

    def _split_state(self, state, B: int, x: Tensor) -> list:
        n = len(self.cells)
        if state is None:
            return [c.initial_state(B, x.device, x.dtype) for c in self.cells]
        template = self.cells[0].initial_state(B, x.device, x.dtype)
        got, want = state_leaves(state) if _is_state(state) else None, state_leaves(template)
        if got is None or len(got) != len(want):
            raise ValueError(
                f"state must be structured like the cell's state ({_describe(template, n)}); "
                f"got {type(state).__name__}"
            )
        for g, w in zip(got, want):
            if tuple(g.shape) != (n, *w.shape):
                raise ValueError(
                    f"state must have shape (L*D, B, H) = {(n, *w.shape)} "
                    f"(L={self.num_layers}, D={self.num_directions}, B={B}); "
                    f"got {tuple(g.shape)}"
                )
            if g.dtype != x.dtype or g.device != x.device:
                raise TypeError(f"state is {g.dtype} on {g.device}; x is {x.dtype} on {x.device}")
        if isinstance(template, tuple) and hasattr(template, "_fields"):
            state = type(template)(*state)  # e.g. a plain (h, c) tuple -> LSTMState
        return [map_state(lambda s, k=k: s[k], state) for k in range(n)]


def _bind_hook(hook, k: int):
    return lambda t, x_t, prev, h, new: hook(k, t, x_t, prev, h, new)


def _reverse_index(T: int, B: int, lengths: Tensor | None, device) -> Tensor | None:
    """(T, B) index that reverses each row within its own length (padding stays in place)."""
    if lengths is None:
        return None
    t = torch.arange(T, device=device).unsqueeze(1)  # (T, 1)
    return torch.where(t < lengths, lengths - 1 - t, t)  # (T, B)


def _reverse(seq: Tensor, index: Tensor | None) -> Tensor:
    if index is None:
        return seq.flip(0)
    return seq.gather(0, index.unsqueeze(2).expand_as(seq))


def _is_state(s) -> bool:
    return isinstance(s, Tensor) or (isinstance(s, tuple) and all(_is_state(p) for p in s))


def _describe(template, n: int) -> str:
    if isinstance(template, Tensor):
        return f"a Tensor of shape {(n, *template.shape)}"
    names = getattr(template, "_fields", None) or range(len(template))
    parts = ", ".join(f"{nm}: {(n, *t.shape)}" for nm, t in zip(names, state_leaves(template)))
    return f"{type(template).__name__}({parts})"
