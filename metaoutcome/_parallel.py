"""Run row blocks of a vectorised computation in worker threads, with progress.

numpy releases the GIL inside its loops, so blocks of a few thousand meta-analyses (whose work
arrays stay in the CPU caches) run in parallel on all cores. Used by
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

__all__ = ["map_blocks", "text_progress", "ProgressCallback"]

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


def map_blocks(
    fn: Callable[[int, int], T], n: int, block: int, n_jobs: int | None = None, progress: ProgressCallback | None = None
) -> list[T]:
    """``[fn(start, stop) for each block of rows]`` in order, on ``n_jobs`` threads (default: every
    CPU); ``progress(done, n)`` is called as blocks finish, in order."""
    starts = list(range(0, n, block))
    workers = max(1, min(n_jobs or os.cpu_count() or 1, len(starts)))
    out: list[T] = []
    with ThreadPoolExecutor(max_workers=workers) as ex:
        for start, part in zip(starts, ex.map(lambda s: fn(s, min(n, s + block)), starts)):
            out.append(part)
            if progress is not None:
                progress(min(n, start + block), n)
    return out
