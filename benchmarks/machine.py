"""What every benchmark prints about the machine it ran on (import it from a script in
benchmarks/: ``from machine import cpu_flags``)."""

from __future__ import annotations

from pathlib import Path


def cpu_flags() -> str:
    """The CPU's AVX-512 flags from /proc/cpuinfo, whole (``avx512_bf16``, not ``avx512_bf``),
    or "no AVX-512" / "unknown" (not Linux)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return "unknown"
    return " ".join(sorted({f for f in text.split() if f.startswith("avx512")})) or "no AVX-512"
