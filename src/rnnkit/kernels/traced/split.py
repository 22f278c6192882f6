"""The split time loop: at batch 1 with every product on gemv.h, the generated loop runs in one
parallel region, its threads splitting each step (see :mod:`.codegen`).

Each thread takes its share of every product's columns (``Gemm::apply_part``) and of every
elementwise loop without reductions (:func:`.fused.fused_loop`); the other blocks run on
thread 0; a barrier (``barrier.h``) follows each block, since the next block may read any
column. When the barriers find the cores contended, thread 0 goes on alone (``NT = 1`` from the
next block on: every block before it is complete) and the others leave the loop.
"""

from __future__ import annotations

BARRIER = "if (NT > 1 && !BAR.wait(SENSE)) { if (TID != 0) break; NT = 1; }"


def time_loops(mats, head: str, split: list[str], plain: list[str]) -> list[str]:
    """The time loop twice: split between threads inside one parallel region, or as it is.
    The plain copy never enters a region around the loop: a row loop nested in one (even an
    inactive one) does not reuse OpenMP's threads (3.8x slower at (32, 100, 128, 256))."""
    own = " && ".join(f"P{m.index}.kn" for m in mats) or "false"
    narrowest = min((min(m.shape) for m in mats), default=0)
    return [f"NT = split_threads(B, {own}, {narrowest});",
            "if (NT > 1) {", "BAR.init(NT, split_stop_after());",
            "#pragma omp parallel num_threads(NT) firstprivate(TID, NT, SENSE)", "{",
            "TID = omp_get_thread_num();", head, *split, "}", "}",
            "} else {", head, *plain, "}", "}"]
