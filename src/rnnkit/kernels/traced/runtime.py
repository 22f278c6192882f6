"""Building, caching and running the traced fast path of a cell (see :mod:`rnnkit.kernels.traced`).

A cell's step is analysed once per configuration (input size, dtype, training mode, state
structure, parameter shapes and the cell's plain attributes); the generated C++ is compiled
once per machine into ``$RNNKIT_CACHE`` (the file name hashes the source, the shared header,
the compiler and flags, the CPU and the PyTorch version) and loaded with ctypes.
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import tempfile
import threading
import time
import weakref
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor
from torch.fx.node import map_arg

from .. import native_build
from ..common import state_leaves
from .codegen import Layout, generate
from .graph import Node, Plan, Unsupported, base, resolve
from .lower import analyse

log = logging.getLogger("rnnkit.kernels.traced")
PRELUDE = Path(__file__).with_name("prelude.h")
_lock = threading.Lock()
_cells: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # cell -> {key: Kernel | str}
_libs: dict[str, ctypes.CDLL] = {}


@dataclass
class Kernel:
    """A step analysed and compiled: run it with :func:`run`."""

    plan: Plan
    layout: Layout
    lib: ctypes.CDLL
    param_nodes: list  # fx nodes evaluated in PyTorch, in order
    analyse_s: float
    compile_s: float  # 0 when the library came from the cache
    path: Path


def _key(cell, input_size: int, template, dtype) -> tuple:
    leaves = state_leaves(template)
    params = tuple((n, tuple(p.shape), p.dtype) for n, p in cell.named_parameters())
    plain = tuple(sorted((k, v) for k, v in vars(cell).items()
                         if isinstance(v, (bool, int, float, str, type(None)))))
    return (input_size, dtype, type(template), tuple(tuple(t.shape[1:]) for t in leaves),
            params, plain)


def kernel_for(cell, x: Tensor, state) -> Kernel | str:
    """The compiled kernel of ``cell`` for inputs like ``x`` (T, B, I), or why there is none."""
    key = _key(cell, x.shape[-1], state, x.dtype)
    with _lock:
        per_cell = _cells.setdefault(cell, {})
        got = per_cell.get(key)
    if got is None:
        try:
            got = _compile(cell, x, state)
        except Unsupported as e:
            got = str(e)
        with _lock:
            per_cell[key] = got
    return got


def _needed(plan: Plan) -> list:
    roots = [p.fx_node for p in plan.vecs + plan.mats]
    for h in plan.hoisted:
        roots.append(h.mat.fx_node)
        if h.bias is not None:
            roots.append(h.bias.fx_node)
    seen, todo = set(), list(roots)
    while todo:
        n = todo.pop()
        if n not in seen:
            seen.add(n)
            todo.extend(n.all_input_nodes)
    return [n for n in plan.graph.graph.nodes if n in seen]


def _compile(cell, x: Tensor, state) -> Kernel:
    if x.dtype not in (torch.float32, torch.float64):
        raise Unsupported(f"the fast path compiles float32 and float64, not {x.dtype}")
    for p in cell.parameters():
        if p.dtype != x.dtype or p.device != x.device:
            raise Unsupported(f"a parameter is {p.dtype} on {p.device}, x is {x.dtype} on "
                              f"{x.device}")
    t0 = time.perf_counter()
    plan = analyse(cell, x.shape[-1], state, x.dtype, x.device)
    source, layout = generate(plan, PRELUDE.read_text())
    t1 = time.perf_counter()
    lib, path, compile_s = _library(source, x.dtype)
    k = Kernel(plan, layout, lib, _needed(plan), t1 - t0, compile_s, path)
    how = f"compiled in {compile_s:.1f} s" if compile_s else "loaded from the cache"
    log.info("traced fast path for %s: analysed in %.0f ms, %s (%s)", type(cell).__name__,
             1e3 * k.analyse_s, how, path)
    return k


def _library(source: str, dtype) -> tuple[ctypes.CDLL, Path, float]:
    try:
        compiler = native_build.find_compiler()
    except OSError as e:
        raise Unsupported(str(e)) from None
    key = hashlib.sha256()
    for part in (source.encode(), *(h.read_bytes() for h in native_build.HEADERS),
                 " ".join(native_build.FLAGS).encode(), compiler.encode(),
                 native_build.cpu_id().encode(), torch.__version__.encode()):
        key.update(part)
    name = f"traced-{key.hexdigest()[:20]}"
    with _lock:
        if name in _libs:
            return _libs[name], _libs[name]._rnnkit_path, 0.0
    compile_s = 0.0
    path = None
    for folder in (native_build.cache_dir(), Path(tempfile.gettempdir()) / "rnnkit"):
        target = folder / f"{name}.so"
        if target.exists():
            path = target
            break
        try:
            folder.mkdir(parents=True, exist_ok=True)
            src = folder / f"{name}.cpp"
            src.write_text(source)
            t0 = time.perf_counter()
            native_build.compile_library(compiler, target, source=src)
            compile_s = time.perf_counter() - t0
            path = target
            break
        except PermissionError:
            continue
        except OSError as e:
            raise Unsupported(f"the generated code did not compile: {str(e)[:300]}") from None
    if path is None:
        raise Unsupported("no writable folder for the compiled fast path")
    lib = ctypes.CDLL(str(path))
    lib.rnnkit_traced_forward.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_void_p]
    lib.rnnkit_traced_backward.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_void_p]
    lib.rnnkit_traced_threads.restype = ctypes.c_int
    four = [ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_void_p]
    lib.rnnkit_traced_forward_segment.argtypes = four
    lib.rnnkit_traced_backward_segment.argtypes = four
    lib.rnnkit_traced_place.argtypes = [*four, ctypes.c_int, ctypes.c_void_p]
    if lib.rnnkit_traced_abi() != 1:
        raise Unsupported(f"{path} has the wrong ABI version")
    _init_blas(lib, dtype)
    lib._rnnkit_path = path
    with _lock:
        _libs[name] = lib
    return lib, path, compile_s


def _init_blas(lib: ctypes.CDLL, dtype) -> None:
    """Hand the library PyTorch's BLAS: MKL's packed sgemm (float32, when exported) and the
    Fortran ?gemm_ of the library's dtype."""
    blas = native_build.torch_blas()
    pack = [None, None, None]
    if dtype == torch.float32:
        try:
            pack = native_build.blas_functions()
        except OSError:
            pass
    fn = getattr(blas, "sgemm_" if dtype == torch.float32 else "dgemm_", None)
    if fn is None and pack[0] is None:
        raise Unsupported("PyTorch's library exports no BLAS for the products")
    gemm = ctypes.cast(fn, ctypes.c_void_p).value if fn is not None else None
    lib.rnnkit_traced_init.argtypes = [ctypes.c_void_p] * 4
    lib.rnnkit_traced_init(*pack, gemm)


def _ptrs(layout: Layout, named: dict) -> ctypes.Array:
    arr = (ctypes.c_void_p * max(1, len(layout.slots)))()
    for i, name in enumerate(layout.slots):
        t = named.get(name)
        arr[i] = None if t is None else t.data_ptr()
    return arr


def parameters(k: Kernel, cell) -> dict:
    """The parameter-derived tensors of the plan, computed now (with autograd)."""
    env = {}
    for n in k.param_nodes:
        if n.op == "get_attr":
            env[n] = resolve(cell, k.plan.names[n.target])
        else:
            args = map_arg(n.args, lambda m: env[m])
            kwargs = map_arg(n.kwargs, lambda m: env[m])
            env[n] = n.target(*args, **kwargs)
    return env


def row_sequence(node: Node, named: dict, plan: Plan):
    """``node``'s values at every step as (first step's (B, n) or None, (T or T-1, B, n))."""
    src, off = base(node)
    if src.kind == "state":
        first = named[f"S0_{src.index}"]
        rest = named[f"S{plan.outputs[1 + src.index].id}"][:-1]
    else:
        key = {"x": "X", "xp": f"XP{src.index}"}.get(src.kind, f"S{src.id}")
        first, rest = None, named[key]
    cut = (lambda t: t.narrow(-1, off, node.width)) if node.width != src.width else (lambda t: t)
    return (None if first is None else cut(first)), cut(rest)
