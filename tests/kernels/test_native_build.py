"""The native library's build flags: every gate loop of native.cpp vectorises, on AVX2 as on
AVX-512.

Without ``-fno-trapping-math`` gcc kept every ``#pragma omp simd`` loop of native.cpp scalar
when the target has no AVX-512 (it would not if-convert the selects around a division without
masked instructions), and the LSTM's gates ran 4x slower on AVX2 machines with nothing to show
for it but the time. gcc reports what it vectorised (``-fopt-info-vec-optimized``); the test
builds for a few targets and reads that report.
"""

import platform
import re
import shlex
import shutil
import subprocess

import pytest

from rnnkit.kernels import native_build


def _gcc() -> str | None:
    try:
        compiler = native_build.find_compiler()
    except OSError:
        return None
    argv = shlex.split(compiler)
    if shutil.which(argv[-1]) is None:
        return None
    out = subprocess.run([*argv, "--version"], capture_output=True, text=True).stdout
    return compiler if ("GCC" in out or "g++" in out) and "clang" not in out else None


GCC = _gcc()
pytestmark = pytest.mark.skipif(
    GCC is None or platform.machine() not in ("x86_64", "AMD64"),
    reason="the vectorisation report is gcc's (-fopt-info), read here for x86-64 targets",
)


def _simd_loop_lines() -> list[int]:
    """Line numbers of the loops that follow a ``#pragma omp simd`` in native.cpp (gcc
    reports a loop at its ``for`` line or at the first line of its body)."""
    lines = native_build.SOURCE.read_text().splitlines()
    return [i + 2 for i, line in enumerate(lines) if line.strip() == "#pragma omp simd"]


def _scalar_loops(march: str, tmp_path) -> list[int]:
    """The ``omp simd`` loops of native.cpp that gcc left scalar for ``-march=march``."""
    vectorised = _vectorised_lines(march, tmp_path)
    return [line for line in _simd_loop_lines() if not {line, line + 1} & vectorised]


def _vectorised_lines(march: str, tmp_path) -> set[int]:
    flags = [f"-march={march}" if f == "-march=native" else f for f in native_build.FLAGS]
    cmd = [*shlex.split(GCC), *flags, f"-I{native_build.HEADER.parent}",
           "-fopt-info-vec-optimized", "-o", str(tmp_path / f"{march}.so"),
           str(native_build.SOURCE)]
    res = subprocess.run(cmd, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    pattern = re.compile(r"native\.cpp:(\d+):\d+: optimized: loop vectorized")
    return {int(m.group(1)) for m in pattern.finditer(res.stderr)}


def test_there_are_gate_loops_to_check():
    assert len(_simd_loop_lines()) >= 6  # LSTM, GRU and RNN steps, forward and backward


@pytest.mark.parametrize("march", ["haswell", "skylake-avx512"])
def test_every_gate_loop_vectorises(march, tmp_path):
    scalar = _scalar_loops(march, tmp_path)
    assert not scalar, (f"native.cpp loops left scalar for -march={march} with the build's "
                        f"flags {native_build.FLAGS}: lines {scalar}")


def test_the_report_would_catch_scalar_loops(tmp_path, monkeypatch):
    """The check itself: with gcc's default -ftrapping-math the AVX2 build leaves the gate
    loops scalar (what the flag fixed), and the test sees it."""
    flags = [f for f in native_build.FLAGS if f != "-fno-trapping-math"]
    monkeypatch.setattr(native_build, "FLAGS", flags)
    scalar = _scalar_loops("haswell", tmp_path)
    if not scalar:
        pytest.skip("this gcc vectorises the gate loops even under -ftrapping-math")
    assert scalar  # the LSTM step among them, before the flag
