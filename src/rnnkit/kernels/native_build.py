"""How the native library is built and bound: the compiler, its flags, the cache key, and the
ctypes signatures of ``native.cpp``.

The library is compiled once per machine with the system C++ compiler (``$CXX``, else ``g++`` or
``c++``) into a file whose name hashes everything the binary depends on: the source, the
flags, the compiler command, the CPU (``-march=native``) and the PyTorch version (whose MKL the
loops call). :mod:`rnnkit.kernels.native` decides when and where to build, loads the result and
runs the autograd functions on it.

>>> library_name("g++").startswith("native-") and library_name("g++").endswith(".so")
True
>>> library_name("g++") == library_name("g++"), library_name("g++") != library_name("clang++")
(True, True)
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import shlex
import shutil
import subprocess
import tempfile
from pathlib import Path

import torch

SOURCE = Path(__file__).with_name("native.cpp")
HEADER = Path(__file__).with_name("fastmath.h")  # included by native.cpp and generated code
HEADERS = (HEADER, HEADER.with_name("gemv.h"), HEADER.with_name("barrier.h"))  # all of
# them: part of every cache key
FLAGS = ["-O3", "-march=native", "-fno-trapping-math", "-fopenmp", "-fPIC", "-shared"]
BLAS = ("cblas_sgemm_pack_get_size", "cblas_sgemm_pack", "cblas_sgemm_compute")
ABI = 6  # rnnkit_abi_version() of a library built from this source

_CPU_KEYS = ("model name", "flags", "Features", "CPU implementer", "CPU part")


def cache_dir() -> Path:
    """``$RNNKIT_CACHE``, else ``$XDG_CACHE_HOME/rnnkit`` (default ``~/.cache/rnnkit``)."""
    root = os.environ.get("RNNKIT_CACHE")
    if root:
        return Path(root)
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "rnnkit"


def cpu_id(path: str = "/proc/cpuinfo") -> str:
    """What ``-march=native`` depends on (the first CPU's model and feature flags): a cache
    shared between machines must not mix them. Virtual machines often report one model name
    with different flags, so the flags are part of the key, not only the first line found."""
    found = []
    try:
        with open(path) as f:
            for line in f:
                if not line.strip() and found:
                    break  # the end of the first processor's block
                if line.split(":", 1)[0].strip() in _CPU_KEYS:
                    found.append(line)
    except OSError:
        pass
    return "".join(found) or platform.processor() or platform.machine()


def torch_blas() -> ctypes.CDLL:
    """PyTorch's CPU library, which exports the MKL the native loops call."""
    lib = Path(torch.__file__).parent / "lib" / "libtorch_cpu.so"
    if not lib.exists():
        raise OSError(f"{lib} not found (this build of PyTorch has no libtorch_cpu.so)")
    return ctypes.CDLL(str(lib))


def blas_functions() -> list[int]:
    """Addresses of MKL's packed sgemm functions (:data:`BLAS`) in PyTorch's library."""
    blas = torch_blas()
    try:
        return [ctypes.cast(getattr(blas, name), ctypes.c_void_p).value for name in BLAS]
    except AttributeError as e:
        raise OSError(f"PyTorch's library does not export MKL's packed sgemm ({e})") from None


def find_compiler() -> str:
    """The C++ compiler command: ``$CXX`` (a command line, e.g. ``"ccache g++"``), else
    ``g++`` or ``c++`` on the PATH."""
    compiler = os.environ.get("CXX") or shutil.which("g++") or shutil.which("c++")
    if compiler is None:
        raise OSError("no C++ compiler found (set CXX, or install g++)")
    return compiler


def library_name(compiler: str) -> str:
    """The cached library's file name: a hash of everything the binary depends on."""
    key = hashlib.sha256()
    for part in (SOURCE.read_bytes(), *(h.read_bytes() for h in HEADERS), " ".join(FLAGS).encode(),
                 compiler.encode(),
                 cpu_id().encode(), torch.__version__.encode()):
        key.update(part)
    return f"native-{key.hexdigest()[:16]}.so"


def compile_library(compiler: str, target: Path, source: Path = SOURCE) -> None:
    """Build ``source`` (``native.cpp``) into ``target`` (its folder is created), with this
    folder on the include path; OSError when it fails."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".so", dir=target.parent)
    os.close(fd)
    try:
        cmd = [*shlex.split(compiler), *FLAGS, f"-I{HEADER.parent}", "-o", tmp,
               str(source)]  # CXX="ccache g++"
        res = subprocess.run(cmd, capture_output=True, text=True)
        if res.returncode != 0:
            raise OSError(f"{' '.join(cmd)} failed:\n{res.stderr.strip()[-2000:]}")
        os.replace(tmp, target)  # atomic: other processes see the whole file or none
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def bind(path: Path, blas: list[int]) -> ctypes.CDLL:
    """Load the built library at ``path``, check its ABI version, hand it the BLAS functions
    and declare the argument types of its entry points."""
    lib = ctypes.CDLL(str(path))
    if lib.rnnkit_abi_version() != ABI:
        raise OSError(f"{path} has the wrong ABI version")
    lib.rnnkit_set_blas(*(ctypes.c_void_p(f) for f in blas))
    i, p = ctypes.c_int, ctypes.c_void_p
    lib.rnnkit_split_stop_after.argtypes = [i]
    lib.rnnkit_packed_bytes.argtypes = [i, i, i]
    lib.rnnkit_packed_bytes.restype = ctypes.c_long
    lib.rnnkit_lstm_forward.argtypes = [i, i, i] + [p] * 8
    lib.rnnkit_lstm_backward.argtypes = [i, i, i] + [p] * 12
    lib.rnnkit_gru_forward.argtypes = [i, i, i] + [p] * 11
    lib.rnnkit_gru_backward.argtypes = [i, i, i] + [p] * 12
    lib.rnnkit_lstm_step.argtypes = [i, i] + [p] * 6
    lib.rnnkit_lstm_step_back.argtypes = [i, i] + [p] * 7
    lib.rnnkit_gru_step.argtypes = [i, i] + [p] * 8
    lib.rnnkit_gru_step_back.argtypes = [i, i] + [p] * 9
    lib.rnnkit_rnn_step.argtypes = [i, i, p, p, p, i]
    lib.rnnkit_rnn_step_back.argtypes = [i, i, p, p, p, i]
    lib.rnnkit_rnn_forward.argtypes = [i, i, i, p, p, p, p, i, p]
    lib.rnnkit_rnn_backward.argtypes = [i, i, i, p, p, p, p, p, p, i, p]
    return lib
