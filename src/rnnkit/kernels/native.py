"""Native per-step loops for the LSTM and GRU kernels (float32 on a CPU).

The Python kernels in :mod:`.lstm` and :mod:`.gru` issue about a dozen PyTorch calls per step;
at mid-size shapes that per-step cost is a fifth of the training time. ``native.cpp`` runs the
same time loop in C++: one packed matrix product (through the BLAS that PyTorch links) and one
fused elementwise pass per step. It has no PyTorch headers, so the system C++ compiler builds it
in about a second, once per machine, into ``$RNNKIT_CACHE`` (default ``~/.cache/rnnkit``;
:mod:`.native_build` holds the compiler command, the cache key and the ctypes signatures);
ctypes loads it.

When there is no compiler, PyTorch was built without MKL, the tensors are not float32 on a CPU,
or ``RNNKIT_NATIVE=0`` is set, the Python kernels run instead (same results to float32
rounding; ``tests/kernels/test_native.py`` checks both against autograd). :func:`status` says
which path is in use and why.
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
import subprocess
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from . import workspace
from .common import (
    input_projection,
    recurrent_product,
    recurrent_weight_grads,
    weight_grads,
)

# The build's pieces keep their names from before they moved to native_build: _load calls
# _compile through this module (tests patch native._compile); native._ABI, _cpu_id still work.
from .native_build import ABI as _ABI  # noqa: F401
from .native_build import bind, blas_functions, cache_dir, find_compiler, library_name
from .native_build import compile_library as _compile
from .native_build import cpu_id as _cpu_id  # noqa: F401

_lock = threading.Lock()
_lib: ctypes.CDLL | None = None
_reason: str | None = None  # why the native path is unavailable, once tried
_tried = False
_enabled = True


def _load() -> ctypes.CDLL:
    """Build the library into the cache unless it is there (into the temporary directory
    when the cache cannot be written), then load it; OSError saying why it cannot be used."""
    if os.environ.get("RNNKIT_NATIVE", "1") == "0":
        raise OSError("disabled by RNNKIT_NATIVE=0")
    if platform.system() != "Linux":
        raise OSError(f"native kernels are built on Linux only (this is {platform.system()})")
    blas = blas_functions()
    compiler = find_compiler()
    name = library_name(compiler)
    target = cache_dir() / name
    if not target.exists():
        try:
            _compile(compiler, target)
        except OSError as e:  # a read-only home: build into the temporary directory
            if not isinstance(e, PermissionError) and e.errno != errno.EROFS:
                raise
            target = Path(tempfile.gettempdir()) / f"rnnkit-{os.getuid()}" / name
            if not target.exists():
                _compile(compiler, target)
    return bind(target, blas)


def library() -> ctypes.CDLL | None:
    """The loaded native library, building it on first use; None when it is unavailable."""
    global _lib, _reason, _tried
    if _tried:
        return _lib
    with _lock:
        if not _tried:
            try:
                _lib = _load()
            except (OSError, subprocess.SubprocessError) as e:
                _reason = str(e)
            _tried = True
    return _lib


def status() -> str:
    """One line: whether the native loops are in use, and if not, why."""
    if library() is not None:
        return "native (C++ per-step loop, MKL packed sgemm)"
    return f"python (native unavailable: {_reason})"


@contextmanager
def disabled():
    """Run the Python kernels inside this block (for comparisons and tests)."""
    global _enabled
    old, _enabled = _enabled, False
    try:
        yield
    finally:
        _enabled = old


def usable(*tensors: Tensor | None) -> bool:
    """True when the native loop can run on these tensors (float32 on a CPU) and the library
    is available (built on first use)."""
    if not _enabled:
        return False
    for t in tensors:
        if t is not None and (t.dtype != torch.float32 or t.device.type != "cpu"):
            return False
    return library() is not None


# MKL's packed sgemm, which the C++ loop calls, matches oneDNN's packed matmul while the
# recurrent weight fits in L2 (4H x H = 1 MB at H = 256), and at batch 1; with larger weights and
# batches above 1 oneDNN streams the weight 1.2-2x faster (measured at one thread, torch 2.13, us
# per product, MKL vs oneDNN: (32, 256) x (256, 1024) 185 vs 175; (32, 512) x (512, 2048) 817 vs
# 637; (4, 512) x (512, 2048) 185 vs 102; (8, 1024) x (1024, 4096) 1865 vs 860; (1, 1024) x
# (1024, 4096) 354 vs 420). There the time loop stays in Python, calling oneDNN for the product
# and the C++ step for everything else: two calls per step instead of about a dozen.
_MAX_WEIGHT_ELEMS = 1 << 18


def whole_loop_in_cpp(batch: int, w_hh: Tensor) -> bool:
    """True when the whole time loop runs in C++ (MKL's product), False when Python drives it
    with oneDNN's product and C++ steps."""
    return batch == 1 or w_hh.numel() <= _MAX_WEIGHT_ELEMS


def chosen(batch: int, w_hh: Tensor, *tensors: Tensor | None) -> bool:
    """Whether a kernel should take the native path for this batch and recurrent weight:
    the library is available and the tensors are float32 on a CPU."""
    return batch >= 1 and usable(w_hh, *tensors)


def _scratch(n: int, like: Tensor) -> Tensor:
    """n floats reused between calls on this thread (contents undefined): the kernels' large
    temporaries, whose fresh pages would cost their faults on first touch (:mod:`.workspace`)."""
    return workspace.take(n, like)


def release_workspace() -> None:
    """Free this thread's reused buffers (they are reallocated on the next call)."""
    workspace.release()


def _ptr(t: Tensor | None) -> int | None:
    return None if t is None else t.data_ptr()


def _c(t: Tensor | None) -> Tensor | None:
    return None if t is None else t.contiguous()


def _packed(m: int, n: int, k: int, like: Tensor) -> Tensor:
    """Buffer for a packed (k, n) weight used with m rows (PyTorch's CPU allocations are
    64-byte aligned, as MKL wants)."""
    nbytes = library().rnnkit_packed_bytes(m, n, k)
    return torch.empty((nbytes + 3) // 4, dtype=torch.float32, device=like.device)


class NativeLSTMFunction(torch.autograd.Function):
    """Whole-sequence LSTM through the native loop; same contract as ``LSTMFunction``."""

    @staticmethod
    def forward(ctx, x, h0, c0, w_ih, w_hh, b_ih, b_hh):
        T, B, I = x.shape
        H = w_hh.shape[1]
        # (T, B, 4H), saved for backward; the biases: in the steps
        gates = input_projection(x, w_ih, None, out=_scratch(T * B * 4 * H, x))
        bias = x.new_zeros(4 * H) if b_ih is None else (b_ih + b_hh).contiguous()
        h0, c0, w = h0.contiguous(), c0.contiguous(), w_hh.contiguous()
        hs = gates.new_empty(T, B, H)
        cs = torch.empty_like(hs)
        lib = library()
        if whole_loop_in_cpp(B, w):
            packed = _packed(B, 4 * H, H, x)
            lib.rnnkit_lstm_forward(T, B, H, _ptr(gates), _ptr(bias), _ptr(w), _ptr(h0),
                                    _ptr(c0), _ptr(hs), _ptr(cs), _ptr(packed))
        else:
            product = recurrent_product(w, B)  # acc + h @ W_hh^T through oneDNN
            g_t, h_t, c_t = gates.unbind(0), hs.unbind(0), cs.unbind(0)
            h, c = h0, c0
            for t in range(T):
                pre = product(h, g_t[t])
                lib.rnnkit_lstm_step(B, H, pre.data_ptr(), bias.data_ptr(), g_t[t].data_ptr(),
                                     c.data_ptr(), c_t[t].data_ptr(), h_t[t].data_ptr())
                h, c = h_t[t], c_t[t]
        ctx.save_for_backward(x, h0, c0, w_ih, w, gates, hs, cs)
        ctx.has_bias = b_ih is not None
        ctx.set_materialize_grads(False)
        return hs, cs

    @staticmethod
    @once_differentiable
    def backward(ctx, dhs, dcs):
        x, h0, c0, w_ih, w_hh, gates, hs, cs = ctx.saved_tensors
        T, B, H = hs.shape
        dhs = torch.zeros_like(hs) if dhs is None else dhs.contiguous()
        dcs = _c(dcs)
        need = ctx.needs_input_grad
        dgates = _scratch(gates.numel(), gates).view_as(gates)
        dh0 = torch.empty_like(h0) if need[1] else None
        dc0 = torch.empty_like(c0) if need[2] else None
        work = hs.new_empty(2, B, H)  # dh, dc carried through time
        lib = library()
        if whole_loop_in_cpp(B, w_hh):
            packed = _packed(B, H, 4 * H, hs)
            lib.rnnkit_lstm_backward(T, B, H, _ptr(gates), _ptr(w_hh), _ptr(c0), _ptr(cs),
                                     _ptr(dhs), _ptr(dcs), _ptr(dgates), _ptr(dh0), _ptr(dc0),
                                     _ptr(work[0]), _ptr(work[1]), _ptr(packed))
        else:
            product = recurrent_product(w_hh.t(), B)  # acc + dgates @ W_hh through oneDNN
            g_t, c_t, dg_t, dh_t = gates.unbind(0), cs.unbind(0), dgates.unbind(0), dhs.unbind(0)
            dc = work[1]
            if dcs is None:
                dc.zero_()
            else:
                dc.copy_(dcs[T - 1])
            dh = dh_t[T - 1]
            for t in range(T - 1, -1, -1):
                extra = dcs[t - 1].data_ptr() if dcs is not None and t > 0 else None
                lib.rnnkit_lstm_step_back(B, H, g_t[t].data_ptr(), c_t[t].data_ptr(),
                                          (c_t[t - 1] if t > 0 else c0).data_ptr(),
                                          dh.data_ptr(), dc.data_ptr(), extra,
                                          dg_t[t].data_ptr())
                if t > 0:
                    dh = product(dg_t[t], dh_t[t - 1])
            if dh0 is not None:
                torch.mm(dg_t[0], w_hh, out=dh0)
            if dc0 is not None:
                dc0.copy_(dc)
        dx = torch.mm(dgates.view(T * B, -1), w_ih).view_as(x) if need[0] else None
        dw_ih, db = weight_grads(dgates, x, need[3], ctx.has_bias and (need[5] or need[6]))
        dw_hh, _ = recurrent_weight_grads(dgates, h0, hs, need[4], False)
        return dx, dh0, dc0, dw_ih, dw_hh, db, db


class NativeGRUFunction(torch.autograd.Function):
    """Whole-sequence GRU through the native loop; same contract as ``GRUFunction``."""

    @staticmethod
    def forward(ctx, x, h0, w_ih, w_hh, b_ih, b_hh):
        T, B, I = x.shape
        H = w_hh.shape[1]
        # (T, B, 3H), not needed by backward; b_ih: in the steps
        xw = input_projection(x, w_ih, None, out=_scratch(T * B * 3 * H, x))
        b_x = x.new_zeros(3 * H) if b_ih is None else b_ih.contiguous()
        h0, w, b = h0.contiguous(), w_hh.contiguous(), _c(b_hh)
        hwn = xw.new_empty(T, B, H)
        rz = xw.new_empty(T, B, 2 * H)
        n = torch.empty_like(hwn)
        hs = torch.empty_like(hwn)
        scratch = xw.new_empty(B, 3 * H)
        lib = library()
        if whole_loop_in_cpp(B, w):
            packed = _packed(B, 3 * H, H, x)
            lib.rnnkit_gru_forward(T, B, H, _ptr(xw), _ptr(b_x), _ptr(w), _ptr(b), _ptr(h0),
                                   _ptr(hwn), _ptr(rz), _ptr(n), _ptr(hs), _ptr(scratch),
                                   _ptr(packed))
        else:
            product = recurrent_product(w, B)  # acc + h @ W_hh^T through oneDNN
            if b is None:
                scratch.zero_()
            else:
                scratch.copy_(b)  # each row: b_hh, the accumulator of the product
            xw_t, hwn_t, rz_t, n_t, h_t = (v.unbind(0) for v in (xw, hwn, rz, n, hs))
            h = h0
            for t in range(T):
                hw = product(h, scratch)
                lib.rnnkit_gru_step(B, H, xw_t[t].data_ptr(), b_x.data_ptr(), hw.data_ptr(),
                                    h.data_ptr(), hwn_t[t].data_ptr(), rz_t[t].data_ptr(),
                                    n_t[t].data_ptr(), h_t[t].data_ptr())
                h = h_t[t]
        ctx.save_for_backward(x, h0, w_ih, w, hwn, rz, n, hs)
        ctx.has_bias = b_ih is not None
        return hs

    @staticmethod
    @once_differentiable
    def backward(ctx, dhs):
        x, h0, w_ih, w_hh, hwn, rz, n, hs = ctx.saved_tensors
        T, B, H = hs.shape
        need = ctx.needs_input_grad
        dhs = dhs.contiguous()
        both = _scratch(2 * T * B * 3 * H, hs).view(2, T, B, 3 * H)
        dxw, dhw = both[0], both[1]
        dh0 = torch.empty_like(h0) if need[1] else None
        work = hs.new_empty(B, H)  # carried through time
        lib = library()
        if whole_loop_in_cpp(B, w_hh):
            packed = _packed(B, H, 3 * H, hs)
            lib.rnnkit_gru_backward(T, B, H, _ptr(w_hh), _ptr(h0), _ptr(hwn), _ptr(rz),
                                    _ptr(n), _ptr(hs), _ptr(dhs), _ptr(dxw), _ptr(dhw),
                                    _ptr(dh0), _ptr(work), _ptr(packed))
        else:
            product = recurrent_product(w_hh.t(), B)  # acc + dhw @ W_hh through oneDNN
            rz_t, n_t, hwn_t, h_t, dh_t, dxw_t, dhw_t = (
                v.unbind(0) for v in (rz, n, hwn, hs, dhs, dxw, dhw))
            dh = dh_t[T - 1]
            for t in range(T - 1, -1, -1):
                extra = dh_t[t - 1].data_ptr() if t > 0 else None
                lib.rnnkit_gru_step_back(B, H, rz_t[t].data_ptr(), n_t[t].data_ptr(),
                                         hwn_t[t].data_ptr(), (h_t[t - 1] if t > 0 else h0)
                                         .data_ptr(), dh.data_ptr(), extra,
                                         dxw_t[t].data_ptr(), dhw_t[t].data_ptr(),
                                         work.data_ptr())
                if t > 0 or dh0 is not None:
                    dh = product(dhw_t[t], work)
            if dh0 is not None:
                dh0.copy_(dh)
        dx = torch.mm(dxw.view(T * B, -1), w_ih).view_as(x) if need[0] else None
        dw_ih, db_ih = weight_grads(dxw, x, need[2], ctx.has_bias and need[4])
        dw_hh, db_hh = recurrent_weight_grads(dhw, h0, hs, need[3], ctx.has_bias and need[5])
        return dx, dh0, dw_ih, dw_hh, db_ih, db_hh


class NativeRNNFunction(torch.autograd.Function):
    """Whole-sequence vanilla RNN through the native loop; same contract as ``RNNFunction``."""

    @staticmethod
    def forward(ctx, x, h0, w_ih, w_hh, b_ih, b_hh, relu: bool):
        T, B, _ = x.shape
        H = w_hh.shape[1]
        hs = input_projection(x, w_ih, None).contiguous()  # (T, B, H), activated in place
        bias = x.new_zeros(H) if b_ih is None else (b_ih + b_hh).contiguous()
        h0, w = h0.contiguous(), w_hh.contiguous()
        lib = library()
        if whole_loop_in_cpp(B, w):
            packed = _packed(B, H, H, x)
            lib.rnnkit_rnn_forward(T, B, H, _ptr(hs), _ptr(bias), _ptr(w), _ptr(h0), int(relu),
                                   _ptr(packed))
        else:
            product = recurrent_product(w, B)  # acc + h @ W_hh^T through oneDNN
            h_t = hs.unbind(0)
            h = h0
            for t in range(T):
                pre = product(h, h_t[t])
                lib.rnnkit_rnn_step(B, H, pre.data_ptr(), bias.data_ptr(), h_t[t].data_ptr(),
                                    int(relu))
                h = h_t[t]
        ctx.relu = relu
        ctx.save_for_backward(x, h0, w_ih, w, hs)
        ctx.has_bias = b_ih is not None
        return hs

    @staticmethod
    @once_differentiable
    def backward(ctx, dhs):
        x, h0, w_ih, w_hh, hs = ctx.saved_tensors
        T, B, H = hs.shape
        need = ctx.needs_input_grad
        dhs = dhs.contiguous()
        da = _scratch(hs.numel(), hs).view_as(hs)
        dh0 = torch.empty_like(h0) if need[1] else None
        lib = library()
        if whole_loop_in_cpp(B, w_hh):
            work = hs.new_empty(B, H)  # dh carried through time
            packed = _packed(B, H, H, hs)
            lib.rnnkit_rnn_backward(T, B, H, _ptr(hs), _ptr(w_hh), _ptr(dhs), _ptr(da),
                                    _ptr(dh0), _ptr(work), int(ctx.relu), _ptr(packed))
        else:
            product = recurrent_product(w_hh.t(), B)  # acc + da @ W_hh through oneDNN
            h_t, dh_t, da_t = hs.unbind(0), dhs.unbind(0), da.unbind(0)
            dh = dh_t[T - 1]
            for t in range(T - 1, -1, -1):
                lib.rnnkit_rnn_step_back(B, H, h_t[t].data_ptr(), dh.data_ptr(),
                                         da_t[t].data_ptr(), int(ctx.relu))
                if t > 0:
                    dh = product(da_t[t], dh_t[t - 1])
            if dh0 is not None:
                torch.mm(da_t[0], w_hh, out=dh0)
        dx = torch.mm(da.view(T * B, H), w_ih).view_as(x) if need[0] else None
        dw_ih, db = weight_grads(da, x, need[2], ctx.has_bias and (need[4] or need[5]))
        dw_hh, _ = recurrent_weight_grads(da, h0, hs, need[3], False)
        return dx, dh0, dw_ih, dw_hh, db, db, None


