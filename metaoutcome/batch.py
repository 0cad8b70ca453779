"""Many meta-analyses at once: every outcome x subgroup x model of a living review, simulations.

:func:`pool_batch` pools each group of a long table (or of stacked arrays with a group index)
with the inverse-variance model of :func:`metaoutcome.pool`, vectorised across groups and run on
all cores. It is not a second implementation: :func:`metaoutcome.pool` is the same routine
(:func:`metaoutcome.pooling.fit_many`) called with one group, so a batched row equals the result
of pooling that group alone (the tests check this field by field).

Example
-------
>>> import numpy as np
>>> from metaoutcome import pool
>>> y = np.array([0.1, 0.5, 0.3, 0.9, -0.2, 0.4, 0.2])
>>> v = np.array([0.02, 0.03, 0.02, 0.05, 0.04, 0.01, 0.02])
>>> res = pool_batch(y, v, by=["a", "a", "a", "a", "b", "b", "b"], ci_method="knha")
>>> res.table()[["group", "k", "estimate"]].round(4)
  group  k  estimate
0     a  4    0.4186
1     b  3    0.1683
>>> round(pool(y[:4], v[:4], ci_method="knha").estimate, 4)
0.4186
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from ._checks import check_column, level_percent
from ._display import ReportMixin
from ._frontdoor import fit_conditioned, resolve
from ._parallel import ProgressCallback, block_rows, map_blocks, text_progress
from ._warnings import user_stacklevel
from .heterogeneity import Stack, stack_groups
from .measures import get_measure
from .options import KNHA_METHODS
from .pooling import (
    COMMON_METHODS,
    check_model_options,
    fit_many,
    undefined_for_one_study,
)

__all__ = ["pool_batch", "BatchResult", "TABLE_COLUMNS"]

FloatArray = NDArray[np.float64]

#: Numeric columns of :meth:`BatchResult.table`, in order (after the group key columns).
TABLE_COLUMNS: tuple[str, ...] = (
    "k", "estimate", "se", "statistic", "pvalue", "df", "ci_low", "ci_high", "pi_low", "pi_high",
    "tau2", "tau2_se", "tau2_ci_low", "tau2_ci_high", "tau", "tau_ci_low", "tau_ci_high",
    "i2", "i2_ci_low", "i2_ci_high", "h2", "h2_ci_low", "h2_ci_high", "q", "q_df", "q_pvalue",
    "converged", "iterations",
)  # fmt: skip

#: automatic progress output above this many study cells (about two seconds of work)
_PROGRESS_CELLS = 4_000_000


@dataclass(frozen=True, eq=False, repr=False)
class BatchResult(ReportMixin):
    """Result of :func:`pool_batch`: one pooled meta-analysis per group.

    Attributes
    ----------
    keys : DataFrame
        The group key column(s), one row per group, in order of first appearance.
    values : dict of ndarray
        One array per name in :data:`TABLE_COLUMNS`, one value per group, on the analysis scale.
    method, ci_method, pi_method : str
        As :func:`metaoutcome.pool`.
    level : float
        Confidence level in percent.
    measure : str
        Measure name (see :mod:`metaoutcome.measures`).
    excluded : DataFrame
        Input rows that were not pooled (``row``, the group key(s), ``reason``).
    notes : tuple of str
        Every warning issued while fitting (counts of groups, with the first few named).
    """

    keys: pd.DataFrame
    values: dict[str, NDArray[Any]] = field(repr=False)
    method: str
    ci_method: str
    pi_method: str
    level: float
    measure: str
    excluded: pd.DataFrame
    notes: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.keys)

    def table(self, natural: bool = False) -> pd.DataFrame:
        """One row per group: its key(s) and every statistic of :data:`TABLE_COLUMNS`.

        Parameters
        ----------
        natural : bool, default False
            Add ``estimate_natural``, ``ci_low_natural``, ``ci_high_natural``, ``pi_low_natural``
            and ``pi_high_natural`` on the measure's natural scale (percent for proportions; NaN
            for the Freeman-Tukey measure, which needs study sizes).
        """
        out = self.keys.reset_index(drop=True).copy()
        for name in TABLE_COLUMNS:
            out[name] = self.values[name]
        if natural:
            m = get_measure(self.measure)
            for name in ("estimate", "ci_low", "ci_high", "pi_low", "pi_high"):
                vals = np.asarray(self.values[name], dtype=float)
                if m.needs_ni:
                    nat = np.full(vals.shape, np.nan)
                else:
                    with np.errstate(over="ignore", invalid="ignore"):
                        nat = np.where(np.isnan(vals), np.nan, np.asarray(m.back(vals), dtype=float))
                out[f"{name}_natural"] = nat * 100.0 if m.percent else nat
        return out

    def summary(self) -> pd.DataFrame:
        """Same as :meth:`table`."""
        return self.table()

    def report(self) -> dict[str, Any]:
        model = "common-effect" if self.method in COMMON_METHODS else f"random-effects ({self.method})"
        cols = list(self.keys.columns) + ["k", "estimate", "ci_low", "ci_high", "tau2", "i2", "q_pvalue"]
        return {
            "title": f"{len(self)} meta-analyses, {model} model, CI method {self.ci_method!r}, {self.level:g}% level",
            "lines": [("measure", self.measure), ("rows excluded", str(len(self.excluded)))],
            "table": self.table()[cols],
            "notes": self.notes,
        }


def _named(keys: pd.DataFrame, mask: NDArray[np.bool_], limit: int = 5) -> str:
    idx = np.flatnonzero(mask)
    names = [", ".join(str(x) for x in keys.iloc[i].tolist()) for i in idx[:limit]]
    more = f" and {idx.size - limit} more" if idx.size > limit else ""
    return "; ".join(names) + more


def _group_inputs(
    yi: Any, vi: Any, sei: Any, by: Any, data: pd.DataFrame | None
) -> tuple[Stack, pd.DataFrame, pd.DataFrame, str | None]:
    """(stack, keys, excluded rows, measure) from the call forms of :func:`pool_batch`."""
    if isinstance(yi, pd.DataFrame):
        if data is not None:
            raise ValueError("pass the frame either as yi or as data=, not both")
        data, yi = yi, "yi"
    measure = None
    if data is not None:
        if not isinstance(data, pd.DataFrame):
            raise ValueError(f"data must be a pandas DataFrame; got {type(data).__name__}")
        if by is None:
            raise ValueError("by= is required: the column(s) of data whose values define the meta-analyses")
        by_cols = [by] if isinstance(by, str) else list(by)
        for c in by_cols:
            check_column(data, c, "by")
        # the front door pool() and meta_regression() use: same exclusions, reasons and checks
        inp = resolve(yi, vi, sei, data, labels=False, required=by_cols, what="pooling")
        y, v, keep = inp.y, inp.v, inp.keep
        measure = inp.measure
        keys_all = data[by_cols].reset_index(drop=True)
        dropped = np.flatnonzero(~keep)
        excluded = keys_all.iloc[dropped].copy()
        excluded.insert(0, "row", dropped)
        excluded["reason"] = [e.reason for e in inp.excluded]
        kept = keys_all[keep]
        codes, uniques = pd.MultiIndex.from_frame(kept).factorize() if len(by_cols) > 1 else pd.factorize(kept[by_cols[0]])
        if len(by_cols) > 1:
            keys = pd.DataFrame(list(uniques), columns=by_cols)
        else:
            keys = pd.DataFrame({by_cols[0]: np.asarray(uniques)})
        s = stack_groups(y, v, np.asarray(codes, dtype=np.int64), len(keys))
        return s, keys, excluded.reset_index(drop=True), measure
    # arrays
    if yi is None:
        raise ValueError("yi is required (a DataFrame, or arrays with a group index by=)")
    if isinstance(yi, str) or isinstance(vi, str) or isinstance(sei, str):
        raise ValueError("column names for yi/vi/sei need data= (a DataFrame)")
    if vi is None and sei is None:
        raise ValueError("give the sampling variances vi= or the standard errors sei=")
    if vi is not None and sei is not None:
        raise ValueError("give either vi= or sei=, not both")
    vname = "vi" if vi is not None else "sei"
    y = _float_nd("yi", yi)
    v = _float_nd(vname, vi) if vi is not None else _float_nd(vname, sei) ** 2
    if y.size == 0:
        raise ValueError("yi is empty: there are no studies to pool (pass at least one study per meta-analysis)")
    if y.shape != v.shape:
        raise ValueError(f"yi and {vname} have different shapes {y.shape} and {v.shape}")
    empty = pd.DataFrame(columns=["row", "group", "reason"])
    if y.ndim == 2:
        if by is not None:
            raise ValueError("2-D yi holds one meta-analysis per row; by= is not used with it")
        pad = np.isnan(y) & np.isnan(v)
        part = np.isnan(y) ^ np.isnan(v)
        if part.any():
            g, j = np.argwhere(part)[0]
            raise ValueError(f"yi[{g}, {j}] and {vname}[{g}, {j}]: one is NaN and the other is not "
                             "(NaN in both marks padding)")  # fmt: skip
        _check_values(y, v, vname, ~pad)
        s = Stack(np.where(pad, 0.0, y), np.where(pad, np.inf, v), (~pad).sum(axis=1).astype(np.int64))
        if (s.k == 0).any():
            raise ValueError(f"row {int(np.flatnonzero(s.k == 0)[0])} of yi is all NaN: every meta-analysis needs a study")
        return s, pd.DataFrame({"group": np.arange(y.shape[0])}), empty, None
    if y.ndim != 1:
        raise ValueError(f"yi must be 1-D (with by=) or 2-D (one meta-analysis per row); got shape {y.shape}")
    if by is None:
        raise ValueError("by= is required with 1-D arrays: the group of each study (use pool() for one meta-analysis)")
    keys_in = np.asarray(by)
    if keys_in.shape != y.shape:
        raise ValueError(f"by has shape {keys_in.shape}; it needs one group per study, shape {y.shape}")
    _check_values(y, v, vname, np.ones(y.shape, dtype=bool))
    codes, uniques = pd.factorize(pd.Series(keys_in), use_na_sentinel=False)
    s = stack_groups(y, v, np.asarray(codes, dtype=np.int64), len(uniques))
    return s, pd.DataFrame({"group": np.asarray(uniques)}), empty, None


def _float_nd(name: str, values: Any) -> FloatArray:
    """``values`` as a float array (any shape), or ValueError naming the argument."""
    try:
        return np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be numeric (an array of numbers, 1-D with by= or 2-D); got {values!r}") from None


def _check_values(y: FloatArray, v: FloatArray, vname: str, used: NDArray[np.bool_]) -> None:
    """Every used ``y`` finite and ``v`` finite and > 0; the error names the first bad position."""
    with np.errstate(invalid="ignore"):
        checks = ((y, "yi", np.isfinite(y) | ~used), (v, vname, (np.isfinite(v) & (v > 0)) | ~used))
    for arr, name, ok in checks:
        if not ok.all():
            pos = tuple(int(p) for p in np.argwhere(~ok)[0])
            need = "finite" if name == "yi" else "finite and > 0"
            where = ", ".join(map(str, pos))
            raise ValueError(f"{name}[{where}] = {float(arr[pos])!r}: every value must be {need} ({int((~ok).sum())} are not)")


def pool_batch(
    yi: ArrayLike | pd.DataFrame | str | None,
    vi: ArrayLike | str | None = None,
    *,
    sei: ArrayLike | str | None = None,
    by: str | Sequence[str] | ArrayLike | None = None,
    data: pd.DataFrame | None = None,
    measure: str | None = None,
    method: str = "REML",
    ci_method: str | None = None,
    level: float = 95,
    pi_method: str = "default",
    tau2_ci_max: float | None = None,
    n_jobs: int | None = None,
    progress: bool | ProgressCallback | None = None,
    test: str | None = None,
) -> BatchResult:
    """Pool many meta-analyses at once, each exactly as :func:`metaoutcome.pool` would.

    Parameters
    ----------
    yi : DataFrame, array-like or str
        A long frame with one row per study (columns ``yi`` and ``vi``/``sei`` and the ``by``
        column(s)); or a 1-D array of effect sizes with ``by`` the group of each; or a 2-D array
        with one meta-analysis per row, NaN-padded (NaN in ``yi`` and ``vi`` alike); or a
        column name of ``data``.
    vi, sei : array-like or str, optional
        Sampling variances or standard errors (same shape as ``yi``), or column names.
    by : str, list of str or array-like
        Grouping column(s) of the frame, or one group key per study for 1-D arrays.
    data : DataFrame, optional
        Frame in which string arguments are looked up.
    measure : str, optional
        Measure name, for natural-scale columns (default: the frame's, else ``"GEN"``).
    method, ci_method, level, pi_method, tau2_ci_max, test
        As :func:`metaoutcome.pool` (REML, z, 95, metafor's PI by default; ``test=`` is
        metafor's name for ``ci_method=``).
    n_jobs : int, optional
        Worker threads (default: the number of CPUs). The work is numpy on blocks of up to
        about 250,000 study cells (12,500 meta-analyses of k = 20), which runs in parallel.
    progress : bool or callable, optional
        ``True`` prints progress to stderr; a callable receives ``(done, total)`` meta-analyses.
        Default: print when there are more than 4 million study cells (a couple of seconds).

    Returns
    -------
    BatchResult
        ``table()`` has one row per group (in order of first appearance) with its key(s) and
        ``k``, ``estimate``, ``se``, ``statistic``, ``pvalue``, ``df``, ``ci_low``, ``ci_high``,
        ``pi_low``, ``pi_high``, ``tau2``, ``tau2_se``, ``tau2_ci_low``, ``tau2_ci_high``,
        ``tau``, ``tau_ci_low``, ``tau_ci_high``, ``i2`` (with CI), ``h2`` (with CI), ``q``,
        ``q_df``, ``q_pvalue``, ``converged``, ``iterations``; ``excluded`` the rows not pooled.

    Raises
    ------
    ValueError
        For a non-finite ``yi`` or a ``vi <= 0`` in array input (naming its position), an
        unknown column, mismatched shapes, or an invalid option (naming the allowed values).

    Warns
    -----
    UserWarning
        Once per kind, with counts: rows excluded from a frame (with reasons in ``excluded``),
        groups with k = 1 (heterogeneity NaN, z test), a zero Knapp-Hartung factor, empty or
        truncated Q-profile intervals.

    Notes
    -----
    Each group is fitted with :func:`metaoutcome.pooling.fit_many`, the routine that
    :func:`metaoutcome.pool` runs with a single group, so every number equals pooling the group
    alone (see :func:`metaoutcome.pool` for the formulas). The tau^2 estimators ML, REML, EB and
    PM are solved by safeguarded Newton iterations on all groups at once; rows leave the
    iteration as they converge.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"outcome": ["OS"] * 3 + ["PFS"] * 3,
    ...                       "yi": [-0.3, -0.2, -0.4, -0.5, -0.1, -0.3],
    ...                       "vi": [0.01, 0.02, 0.015, 0.03, 0.02, 0.025]})
    >>> pool_batch(frame, by="outcome", measure="HR").table(natural=True)[["outcome", "estimate_natural"]].round(3)
      outcome  estimate_natural
    0      OS             0.735
    1     PFS             0.753
    """
    method, ci_method, pi_method, alpha = check_model_options(method, ci_method, pi_method, level, tau2_ci_max, test)
    if n_jobs is not None and (not isinstance(n_jobs, int) or isinstance(n_jobs, bool) or n_jobs < 1):
        raise ValueError(f"n_jobs={n_jobs!r} must be a positive integer (or None for every CPU)")
    if not (progress is None or isinstance(progress, bool) or callable(progress)):
        raise ValueError(f"progress={progress!r} must be True/False/None or a callable receiving (done, total)")
    s, keys, excluded, frame_measure = _group_inputs(yi, vi, sei, by, data)
    mname = get_measure(measure if measure is not None else (frame_measure or "GEN")).name
    g = len(keys)
    cb: ProgressCallback | None
    if progress is True or (progress is None and int(s.k.sum()) > _PROGRESS_CELLS):
        cb = text_progress("pooling (meta-analyses)")
    else:
        cb = progress or None  # type: ignore[assignment]

    def run(start: int, stop: int) -> dict[str, Any]:
        part = Stack(s.y[start:stop], s.v[start:stop], s.k[start:stop])
        # groups beyond 1e50 (or variances beyond 1e+-100) are centred and scaled first, as in pool()
        return fit_conditioned(
            part, lambda st, tmax: fit_many(st, method, ci_method, alpha, pi_method, tmax, weights=False), tau2_ci_max
        )

    parts = map_blocks(run, g, block_rows(g, s.y.shape[1]), n_jobs, cb)
    values = {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}
    values["k"] = s.k.copy()
    one = s.k == 1
    undefined_for_one_study(values, one)
    notes = _batch_notes(values, keys, excluded, one, method, ci_method, pi_method)
    for n in notes:
        warnings.warn(n, UserWarning, stacklevel=user_stacklevel())
    out = {name: values[name] for name in TABLE_COLUMNS}
    return BatchResult(keys=keys, values=out, method=method, ci_method=ci_method, pi_method=pi_method,
                       level=level_percent(level), measure=mname, excluded=excluded, notes=tuple(notes))  # fmt: skip


def _batch_notes(values: dict[str, Any], keys: pd.DataFrame, excluded: pd.DataFrame, one: NDArray[np.bool_],
                 method: str, ci_method: str, pi_method: str) -> list[str]:  # fmt: skip
    """The warnings :func:`metaoutcome.pool` gives, counted over the groups."""
    notes = []
    g = len(keys)
    if len(excluded):
        notes.append(f"{len(excluded)} input rows excluded (see .excluded for each reason)")
    common = method in COMMON_METHODS
    bad = ~values["converged"]
    if bad.any():  # pragma: no cover - the bracketing solver always converges
        notes.append(f"the {method} estimator of tau^2 did not converge in {bad.sum()} of {g} groups: {_named(keys, bad)}")
    if ci_method in KNHA_METHODS and common:
        notes.append(f"ci_method={ci_method!r} (Knapp-Hartung) is not meant for a common-effect model (method={method!r})")
    if values["knha_zero"].any():
        z = values["knha_zero"]
        notes.append(f"{z.sum()} of {g} groups have a Knapp-Hartung factor of 0 (all estimates equal the pooled "
                     f"one, so the CI has zero width, as in metafor): {_named(keys, z)}")  # fmt: skip
    if pi_method == "hts" and not common and (values["k"] == 2).any():
        notes.append("pi_method='hts' uses 1 df (not k - 2 = 0) in the groups with k = 2, as metafor's pi.type='riley'")
    if one.any():
        extra = f"; ci_method={ci_method!r} needs k >= 2, so they use 'z'" if ci_method != "z" else ""
        notes.append(f"{one.sum()} of {g} groups have k = 1: the pooled value is the study itself and heterogeneity "
                     f"is NaN{extra}: {_named(keys, one)}")  # fmt: skip
    empty = values["tau2_ci_empty"] & ~one
    if empty.any():
        notes.append(f"{empty.sum()} of {g} groups have an empty Q-profile interval for tau^2 (bounds reported as 0, "
                     f"as metafor): {_named(keys, empty)}")  # fmt: skip
    trunc = (values["tau2_ci_high_sign"] == 2) & ~values["tau2_ci_empty"] & ~one
    if trunc.any():
        notes.append(f"{trunc.sum()} of {g} groups have an upper Q-profile bound beyond the search limit (reported as "
                     f"the limit; pass tau2_ci_max= to search further): {_named(keys, trunc)}")  # fmt: skip
    return notes
