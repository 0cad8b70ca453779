"""Run row blocks of a vectorised computation in worker threads, with progress.

numpy releases the GIL inside its loops, so blocks of several thousand meta-analyses (see
:data:`BLOCK_CELLS`) run in parallel on all cores. Used by
:func:`metaoutcome.batch.pool_batch` and :func:`metaoutcome.gosh.gosh`.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

__all__ = ["map_blocks", "block_rows", "text_progress", "ProgressCallback"]

T = TypeVar("T")
ProgressCallback = Callable[[int, int], None]


def text_progress(what: str, every: float = 0.5) -> ProgressCallback:
    """A callback that writes ``what: done/total (percent)`` to stderr on one line, at most every
    ``every`` seconds, and always at the end."""
    last = [-math.inf]

    def cb(done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - last[0] < every:
            return
        last[0] = now
        sys.stderr.write(f"\r{what}: {done:,}/{total:,} ({100 * done / total:.0f}%)" + ("\n" if done == total else ""))
        sys.stderr.flush()

    return cb


#: study cells (rows x padded width) per block. numpy's per-call overhead, which holds the GIL,
#: must be small next to each call's work for two threads to run in parallel, but much larger
#: blocks spill the work arrays out of the caches: of 100,000 to 400,000 cells per block,
#: ``benchmarks/bench_batch.py`` ran fastest with 250,000 on a 2-core machine.
BLOCK_CELLS = 250_000


def workers(n_jobs: int | None) -> int:
    """Worker threads for ``n_jobs`` (None: every CPU)."""
    return max(1, n_jobs or os.cpu_count() or 1)


def block_rows(n: int, width: int) -> int:
    """Rows per block for :func:`map_blocks`: blocks of equal size, at most about
    :data:`BLOCK_CELLS` cells each, and a multiple of 4 of them when there is more than one (so
    2 or 4 threads finish together). The blocks do not depend on the thread count, so neither
    do the results, to the last bit."""
    per = max(1, BLOCK_CELLS // max(1, width))
    blocks = -(-max(n, 1) // per)
    if blocks > 1:
        blocks = -(-blocks // 4) * 4
    return max(1, -(-n // blocks))


def map_blocks(
    fn: Callable[[int, int], T], n: int, block: int, n_jobs: int | None = None, progress: ProgressCallback | None = None
) -> list[T]:
    """``[fn(start, stop) for each block of rows]`` in order, on ``n_jobs`` threads (default: every
    CPU); ``progress(done, n)`` is called as blocks finish, in order."""
    starts = list(range(0, n, block))
    out: list[T] = []
    with ThreadPoolExecutor(max_workers=max(1, min(workers(n_jobs), len(starts)))) as ex:
        for start, part in zip(starts, ex.map(lambda s: fn(s, min(n, s + block)), starts)):
            out.append(part)
            if progress is not None:
                progress(min(n, start + block), n)
    return out
