"""Refits of a model under permutations of its data (metafor ``permutest``): the engine side of
:func:`metaoutcome.regression.permutation_test`."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .mods import fit_mods_rows
from .stack import FloatArray, Stack


def multiset_permutations(items: list[int]) -> list[tuple[int, ...]]:
    """All distinct orderings of a multiset (lexicographic)."""
    a = sorted(items)
    out = [tuple(a)]
    n = len(a)
    while True:
        i = n - 2
        while i >= 0 and a[i] >= a[i + 1]:
            i -= 1
        if i < 0:
            return out
        j = n - 1
        while a[j] <= a[i]:
            j -= 1
        a[i], a[j] = a[j], a[i]
        a[i + 1 :] = reversed(a[i + 1 :])
        out.append(tuple(a))


def _exact_arrangements(k: int, groups: NDArray[np.int64] | None) -> list[Any]:
    """Every sign flip (intercept-only model) or every distinct row order of X (``groups``:
    the index of each row among the distinct rows; same multiset as metafor's ``.genuperms``)."""
    if groups is None:
        return list(itertools.product((1.0, -1.0), repeat=k))
    members = [np.flatnonzero(groups == g) for g in range(int(groups.max()) + 1)]
    out = []
    for perm in multiset_permutations(groups.tolist()):
        rows = np.empty(k, dtype=int)
        used = [0] * len(members)
        for pos, g in enumerate(perm):
            rows[pos] = members[g][used[g]]
            used[g] += 1
        out.append(rows)
    return out


_CHUNK = 4096


def permutation_refits(
    y: FloatArray, v: FloatArray, X: FloatArray, fitargs: dict[str, Any], *, int_only: bool,
    groups: NDArray[np.int64] | None, exact: bool, iterations: int, rng: np.random.Generator,
    progress: Callable[[int, int], None] | None,
) -> tuple[FloatArray, FloatArray, int]:  # fmt: skip
    """The coefficient statistics and QM of the model refitted under each arrangement (signs of
    ``y`` flipped for an intercept-only model, rows of ``X`` permuted otherwise): all of them
    (``exact``) or ``iterations`` random ones, the first being the observed data (as metafor).
    The refits are stacked and fitted by the engine in blocks; failed refits are NaN. Returns
    ``(statistics (n, p), qm (n,), n)``."""
    k, p = X.shape
    if exact:
        arrangements = _exact_arrangements(k, groups)
    else:  # drawn one after another, the observed arrangement first
        arrangements = [np.ones(k) if int_only else np.arange(k)]
        for _ in range(iterations - 1):
            arrangements.append(rng.choice((-1.0, 1.0), size=k) if int_only else rng.permutation(k))
    total = len(arrangements)
    stat_perm = np.full((total, p), np.nan)
    qm_perm = np.full(total, np.nan)
    counts = np.full(_CHUNK, k, dtype=np.int64)
    for start in range(0, total, _CHUNK):
        block = np.asarray(arrangements[start : start + _CHUNK])
        n = block.shape[0]
        if int_only:  # sign flips of y; the intercept-only model takes the engine's fast path
            s = Stack(block.astype(float) * y[None, :], np.broadcast_to(v, (n, k)), counts[:n])
        else:
            s = Stack(np.broadcast_to(y, (n, k)), np.broadcast_to(v, (n, k)), counts[:n], X[block])
        f, _ = fit_mods_rows(s, **fitargs)
        stat_perm[start : start + n] = f["statistic"]
        qm_perm[start : start + n] = f["qm"]
        if progress is not None:
            progress(start + n, total)
    return stat_perm, qm_perm, total
