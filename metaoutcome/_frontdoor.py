"""One front door for data: how every model entry point reads its inputs.

:func:`metaoutcome.pool`, :func:`metaoutcome.meta_regression` and
:func:`metaoutcome.subgroup_analysis` take the same call forms and resolve them here, so they
cannot disagree about which rows they used:

* an effect-size frame from ``effects.from_*`` (columns ``yi``, ``vi`` or ``sei``, optionally
  ``measure``/``attrs["measure"]``, ``ni``, ``exclusion_reason`` and a label column), passed
  as the first argument or as ``data=``;
* column names of ``data`` for ``yi``, ``vi``, ``sei``, ``labels``, ``ni``;
* arrays.

Missing values follow one rule (metafor drops them with a note; so do we, and say which):

* in a frame, a row whose ``yi``, ``vi``/``sei`` (or ``ni`` where the measure needs it, or a
  column the analysis needs such as a moderator or the subgroup) is missing is **excluded and
  reported** (:class:`~metaoutcome.results.ExcludedRow`, with the frame's ``exclusion_reason``
  where present, and a warning);
* in arrays, a missing value is an error naming the argument and its positions (there is no
  row to report it against).

Values that are present but impossible (``vi <= 0``, infinite, text) are errors in both forms,
naming the argument, the rule and the rows: the frame's index labels, or the positions of arrays.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ._checks import as_float_array, check_column, check_labels, check_same_length, positions
from .measures import get_measure
from .results import ExcludedRow

__all__ = ["Resolved", "resolve", "LABEL_COLUMNS", "NAME_COLUMNS", "excluded_note", "frame_measure", "study_labels"]

FloatArray = NDArray[np.float64]
#: Columns searched, in order, for study labels in a data frame.
LABEL_COLUMNS: tuple[str, ...] = ("label", "trial_id", "trial", "study", "study_id", "slab")
#: Columns searched, in order, for a study's name in a curated frame (the trial's short name first).
NAME_COLUMNS: tuple[str, ...] = ("short_name", *LABEL_COLUMNS)


def study_labels(frame: pd.DataFrame, column: str | None = None, *, arm: str | None = None) -> list[str]:
    """Study labels for the rows of an effect-size frame (what ``metaoutcome pool`` prints).

    ``column`` names them; otherwise each row takes the first non-empty of :data:`NAME_COLUMNS`
    (``row i`` where none is), and among the rows to be pooled (``yi`` present) a name that
    repeats gets the ``arm`` column's value added, then, if still repeated, its row.

    >>> es = pd.DataFrame({"short_name": ["KN-010", "KN-010", None], "arm": ["pembro_2", "pembro_10", "x"],
    ...                    "yi": [0.1, 0.2, 0.3]}, index=[2, 3, 4])
    >>> study_labels(es, arm="arm")
    ['KN-010 (pembro 2)', 'KN-010 (pembro 10)', 'row 4']
    """
    if column is not None:
        values = check_column(frame, column, "labels")
        return [str(v) if v is not None and v == v else f"row {i}" for i, v in zip(frame.index, values)]
    sources = [c for c in NAME_COLUMNS if c in frame.columns]
    out = []
    for i, row in frame.iterrows():
        name = next((str(row[c]) for c in sources if row[c] is not None and row[c] == row[c]), f"row {i}")
        out.append(name)
    pooled = frame["yi"].notna().to_numpy()
    for extra in ([arm] if arm and arm in frame.columns else []) + [None]:
        counts: dict[str, int] = {}
        for name, p in zip(out, pooled):
            if p:
                counts[name] = counts.get(name, 0) + 1
        if not any(n > 1 for n in counts.values()):
            break
        for k, (i, p) in enumerate(zip(frame.index, pooled)):
            if p and counts[out[k]] > 1:
                add = str(frame.at[i, extra]).replace("_", " ") if extra else f"row {i}"
                out[k] = f"{out[k]} ({add})"
    return out


@dataclass(frozen=True)
class Resolved:
    """Checked inputs of one analysis.

    ``y``, ``v``, ``labels``, ``ni`` hold the kept rows; ``keep`` marks them among the
    ``n_input`` rows given; ``frame`` is the kept rows of ``data`` (None for arrays);
    ``excluded`` the rows not used, with reasons.
    """

    y: FloatArray
    v: FloatArray
    labels: tuple[str, ...]
    ni: FloatArray | None
    measure: str
    excluded: tuple[ExcludedRow, ...]
    keep: NDArray[np.bool_]
    frame: pd.DataFrame | None
    n_input: int


def frame_measure(data: pd.DataFrame) -> str | None:
    """The measure a frame declares: ``attrs["measure"]``, else a one-valued ``measure`` column."""
    m = data.attrs.get("measure")
    if m:
        return str(m)
    if "measure" in data.columns:
        vals = pd.unique(data["measure"].dropna())
        if len(vals) == 1:
            return str(vals[0])
        if len(vals) > 1:
            raise ValueError(f"data['measure'] holds several measures {list(vals)}; pool one measure at a time")
    return None


def excluded_note(excluded: Sequence[ExcludedRow], n_input: int, what: str = "pooling") -> str:
    """The one message that lists excluded rows (every entry point warns with it)."""
    listed = "; ".join(f"row {e.row} ({e.label}): {e.reason}" for e in excluded)
    return f"{len(excluded)} of {n_input} rows excluded from {what}: {listed}"


def _rows(index: pd.Index, mask: NDArray[np.bool_], limit: int = 10) -> str:
    idx = np.flatnonzero(mask)
    shown = [index[i] for i in idx[:limit]]
    shown_txt = ", ".join(repr(x) if isinstance(x, str) else str(x) for x in shown)
    more = f", ... ({idx.size} in all)" if idx.size > limit else ""
    return f"[{shown_txt}{more}]"


def _column_values(data: pd.DataFrame, value: Any, arg: str, *, numeric: bool = True) -> Any:
    """A column of ``data`` named by ``value`` (str), or ``value`` itself (an array of len(data))."""
    if isinstance(value, str):
        col = check_column(data, value, arg)
        if not numeric:
            return col
        num = pd.to_numeric(col, errors="coerce")
        bad = (num.isna() & col.notna()).to_numpy()
        if bad.any():
            shown = col[bad].tolist()[:10]
            raise ValueError(
                f"{arg}: column {value!r} must be numeric; rows {_rows(data.index, bad)} are not (values: {shown})"
            )
        return num.to_numpy(dtype=float)
    if not numeric:
        return value
    arr = as_float_array(arg, value, allow_nan=True)
    if arr.size != len(data):
        raise ValueError(f"lengths differ: {arg} has {arr.size} values, data has {len(data)} rows")
    return arr


def _check_present(arg: str, arr: FloatArray, index: pd.Index | None, *, positive: bool) -> None:
    """Present values must be finite (and > 0): ValueError naming the rows (frame) or positions."""
    checks = [(np.isinf(arr), "finite")]
    if positive:
        with np.errstate(invalid="ignore"):
            checks.append((~np.isnan(arr) & ~np.isinf(arr) & ~(arr > 0), "> 0"))
    for bad, rule in checks:
        if bad.any():
            where = f"rows {_rows(index, bad)}" if index is not None else f"positions {positions(bad)}"
            raise ValueError(f"{arg} must be {rule}; {where} are not (values: {arr[bad][:10].tolist()})")


def resolve(
    yi: Any,
    vi: Any = None,
    sei: Any = None,
    data: Any = None,
    labels: Any = None,
    ni: Any = None,
    measure: str | None = None,
    *,
    required: Sequence[str] = (),
    what: str = "pooling",
) -> Resolved:
    """Resolve the call forms described in the module docstring.

    ``required`` names further columns of ``data`` the analysis needs (moderators, the
    subgroup column): a row with a missing value there is excluded and reported like a row
    without ``yi``.
    """
    if isinstance(yi, pd.DataFrame):
        if data is not None:
            raise ValueError("pass the frame either as the first argument or as data=, not both")
        data, yi = yi, None
    if data is not None:
        return _resolve_frame(yi, vi, sei, data, labels, ni, measure, required, what)
    if required:
        raise ValueError(f"{', '.join(repr(r) for r in required)} name columns and need data= (a DataFrame)")
    return _resolve_arrays(yi, vi, sei, labels, ni, measure)


def _resolve_arrays(yi: Any, vi: Any, sei: Any, labels: Any, ni: Any, measure: str | None) -> Resolved:
    if yi is None:
        raise ValueError("yi is required (an array of effect sizes or a DataFrame from the effect-size step)")
    for arg, val in (("yi", yi), ("vi", vi), ("sei", sei), ("ni", ni)):
        if isinstance(val, str):
            raise ValueError(f"{arg}={val!r} names a column and needs data= (a DataFrame)")
    if isinstance(labels, str):
        raise ValueError("labels='...' names a column and needs data=; pass a sequence of labels")
    y = as_float_array("yi", yi)
    if vi is None and sei is None:
        raise ValueError("give the sampling variances vi= or the standard errors sei=")
    if vi is not None and sei is not None:
        raise ValueError("give either vi= or sei=, not both")
    if vi is not None:
        v = as_float_array("vi", vi, positive=True)
    else:
        v = as_float_array("sei", sei, positive=True) ** 2
    nis = None if ni is None else as_float_array("ni", ni, positive=True)
    lab_list = check_labels(labels)
    given = {"yi": y, "vi": v, **({"labels": lab_list} if lab_list is not None else {}),
             **({"ni": nis} if nis is not None else {})}
    n = check_same_length(**given)
    if n == 0:
        raise ValueError("k=0: there are no studies; yi must hold at least one value")
    lab = tuple(str(s) for s in lab_list) if lab_list is not None else tuple(f"Study {i + 1}" for i in range(n))
    mname = get_measure(measure if measure is not None else "GEN").name
    return Resolved(y, v, lab, nis, mname, (), np.ones(n, dtype=bool), None, n)


def _resolve_frame(yi: Any, vi: Any, sei: Any, data: Any, labels: Any, ni: Any, measure: str | None,
                   required: Sequence[str], what: str) -> Resolved:  # fmt: skip
    if not isinstance(data, pd.DataFrame):
        raise ValueError(f"data must be a pandas DataFrame; got {type(data).__name__}")
    n = len(data)
    if yi is None:
        yi = "yi"
    if vi is None and sei is None:
        if "vi" in data.columns:
            vi = "vi"
        elif "sei" in data.columns:
            sei = "sei"
        else:
            raise ValueError("data has neither a 'vi' nor a 'sei' column; pass vi= or sei=")
    elif vi is not None and sei is not None:
        raise ValueError("give either vi= or sei=, not both")
    y = _column_values(data, yi, "yi")
    if vi is not None:
        v, vname = _column_values(data, vi, "vi"), "vi"
    else:
        s = _column_values(data, sei, "sei")
        vname = "sei"
        _check_present("sei", s, data.index, positive=True)
        v = s * s
    if labels is False:  # the caller needs no labels (pool_batch): skip building them for every row
        lab_all = [""] * n
    elif labels is None:
        col = next((c for c in LABEL_COLUMNS if c in data.columns), None)
        lab_all = [str(x) for x in data[col]] if col is not None else [f"Study {i + 1}" for i in range(n)]
    elif isinstance(labels, str):
        lab_all = [str(x) for x in _column_values(data, labels, "labels", numeric=False)]
    else:
        lab_all = check_labels(labels, n) or []
    if ni is None and "ni" in data.columns:
        ni = "ni"
    nis = None if ni is None else _column_values(data, ni, "ni")
    mname = get_measure(measure if measure is not None else (frame_measure(data) or "GEN")).name
    needs_ni = get_measure(mname).needs_ni
    for col in required:
        if col not in data.columns:
            cols = ", ".join(repr(c) for c in data.columns)
            raise ValueError(f"{col!r} is not a column of data; the columns are: {cols}")
    # present values must be possible, wherever they are (rows named by the frame's index)
    _check_present("yi", y, data.index, positive=False)
    _check_present(vname, v, data.index, positive=True)
    if nis is not None:
        _check_present("ni", nis, data.index, positive=True)
    # missing values: the row is excluded and reported
    missing: dict[str, NDArray[np.bool_]] = {"yi": np.isnan(y), vname: np.isnan(v)}
    if nis is not None and np.isnan(nis).any():
        if needs_ni:
            missing["ni"] = np.isnan(nis)
        else:
            nis = None  # sizes are optional for this measure; an incomplete column is not used
    for col in required:
        missing[col] = data[col].isna().to_numpy()
    bad = np.zeros(n, dtype=bool)
    for m in missing.values():
        bad |= m
    given = data["exclusion_reason"] if "exclusion_reason" in data.columns else None
    index = data.index.to_numpy() if pd.api.types.is_integer_dtype(data.index) else np.arange(n)
    excluded = []
    for i in np.flatnonzero(bad):
        reason = ""
        if given is not None:
            r = given.iloc[i]
            reason = "" if (r is None or (isinstance(r, float) and math.isnan(r)) or r is pd.NA) else str(r)
        if not reason:
            names = [nm for nm, m in missing.items() if m[i] and nm not in required]
            parts = [f"{' and '.join(names)} missing"] if names else []
            parts += [f"no value in {c!r}" for c in required if missing[c][i]]
            reason = "; ".join(parts)
        excluded.append(ExcludedRow(row=int(index[i]), label=lab_all[i], reason=reason))
    keep = ~bad
    if not keep.any():
        extra = ""
        if n:  # say why, as the excluded-rows note does (the first three rows)
            listed = "; ".join(f"row {e.row} ({e.label}): {e.reason}" for e in excluded[:3])
            more = f"; and {n - 3} more" if n > 3 else ""
            extra = f" (all {n} rows were excluded: {listed}{more})"
        raise ValueError(f"k=0: there are no studies for {what}{extra}; data must hold at least one usable row")
    lab = () if labels is False else tuple(s for s, kp in zip(lab_all, keep) if kp)
    return Resolved(
        y=y[keep], v=v[keep], labels=lab, ni=None if nis is None else nis[keep], measure=mname,
        excluded=tuple(excluded), keep=keep, frame=data[keep], n_input=n,
    )  # fmt: skip


# ------------------------------------------------------------------------------------------------
# huge and tiny magnitudes: centre and scale before fitting (the estimators are equivariant)
# ------------------------------------------------------------------------------------------------

#: Data inside this box are fitted as given (bit for bit the engine's numbers): |yi| <= SAFE_Y and
#: 1/SAFE_V <= vi <= SAFE_V. Outside it the engine's sums of squares and weights lose precision or
#: overflow (a fuzz found NaN at yi ~ 1e200 and 50% errors in tau^2 at a scale of 1e120), so the data
#: are centred and scaled into the box, fitted, and the results mapped back.
SAFE_Y = 1e50
SAFE_V = 1e100


def _row_conditioning(y: FloatArray, v: FloatArray) -> tuple[float, float] | None:
    """``(centre, scale)`` that bring one meta-analysis into the safe box, or None if it is in it.

    Refuses (ValueError) data that no centring and scaling can bring into double precision's
    range: effect sizes that spread over many more orders of magnitude than their standard
    errors (tau^2 / vi beyond ~1e100), or variances that span more than 200 orders.
    """
    ymax, ymin = float(np.max(y)), float(np.min(y))
    vmax, vmin = float(np.max(v)), float(np.min(v))
    if max(abs(ymax), abs(ymin)) <= SAFE_Y and 1.0 / SAFE_V <= vmin and vmax <= SAFE_V:
        return None
    centre = ymin / 2.0 + ymax / 2.0
    scale = math.exp((math.log(vmin) + math.log(vmax)) / 4.0)  # geometric mean of the extreme SEs
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        yp = (y - centre) / scale
        vp = (v / scale) / scale
    if not (np.all(np.abs(yp) <= SAFE_Y) and np.all(vp >= 1.0 / SAFE_V) and np.all(vp <= SAFE_V)):
        raise ValueError(
            f"yi spans [{ymin:.3g}, {ymax:.3g}] and vi [{vmin:.3g}, {vmax:.3g}]: the spread of the effect "
            "sizes relative to their standard errors (or the range of the variances) is beyond what double "
            "precision can fit (tau^2 / vi would exceed ~1e100); check the units, or rescale yi and vi "
            "(yi / c, vi / c^2) before pooling"
        )
    return centre, scale


#: fit_many outputs by how they change when yi -> centre + scale * yi and vi -> scale^2 vi
_LOCATION = ("estimate", "ci_low", "ci_high", "pi_low", "pi_high")
_SCALE = ("se", "tau", "tau_ci_low", "tau_ci_high")
_SCALE2 = ("tau2", "tau2_se", "tau2_ci_low", "tau2_ci_high", "vt", "tau2_ci_max")


def _unscale(fit: dict[str, Any], centre: float, scale: float) -> dict[str, Any]:
    from scipy import stats

    out = dict(fit)
    with np.errstate(over="ignore", invalid="ignore"):
        for name in _LOCATION:
            out[name] = centre + scale * np.asarray(fit[name], dtype=float)
        for name in _SCALE:
            out[name] = scale * np.asarray(fit[name], dtype=float)
        for name in _SCALE2:
            out[name] = (scale * np.asarray(fit[name], dtype=float)) * scale
        if "sw" in fit:
            out["sw"] = (np.asarray(fit["sw"], dtype=float) / scale) / scale
        stat = out["estimate"] / out["se"]
    df = np.asarray(fit["df"], dtype=float)
    tdist = np.isfinite(df)
    pval = 2 * stats.norm.sf(np.abs(stat))
    if tdist.any():
        pval = np.where(tdist, 2 * stats.t.sf(np.abs(stat), np.where(tdist, df, 1.0)), pval)
    out["statistic"], out["pvalue"] = stat, pval
    for name in _LOCATION + _SCALE + _SCALE2:
        before, after = np.asarray(fit[name], dtype=float), out[name]
        if np.any(np.isfinite(before) & ~np.isfinite(after)):
            raise ValueError(
                f"{name} = {float(np.nanmax(np.abs(before))):.3g} x {scale:.3g}^(1 or 2) overflows double "
                "precision; rescale yi and vi (yi / c, vi / c^2) before pooling"
            )
    return out


def fit_conditioned(st: Any, fit: Any, tau2_ci_max: float | None) -> dict[str, Any]:
    """``fit(stack, tau2_ci_max)`` (the engine's :func:`~metaoutcome.pooling.fit_many`) with every
    meta-analysis outside the safe box centred and scaled first and its results mapped back.

    Rows inside the box are fitted together, as given, so ordinary data get the engine's numbers
    bit for bit; each extreme row is fitted alone.
    """
    from .heterogeneity import Stack

    g = st.y.shape[0]
    extreme: list[tuple[int, float, float]] = []
    for i in _candidate_rows(st):
        k = int(st.k[i])
        cs = _row_conditioning(st.y[i, :k], st.v[i, :k])
        if cs is not None:
            extreme.append((i, *cs))
    if not extreme:
        return dict(fit(st, tau2_ci_max))
    rows = np.array([i for i, _, _ in extreme])
    normal = np.setdiff1d(np.arange(g), rows)
    parts: list[tuple[NDArray[np.int64], dict[str, Any]]] = []
    if normal.size:
        parts.append((normal, fit(st.take(normal), tau2_ci_max)))
    for i, centre, scale in extreme:
        k = int(st.k[i])
        y = (st.y[i:i + 1].copy() - centre) / scale
        v = (st.v[i:i + 1] / scale) / scale
        y[:, k:] = 0.0
        one = Stack(y, v, st.k[i:i + 1])
        tmax = None if tau2_ci_max is None else (tau2_ci_max / scale) / scale
        parts.append((np.array([i]), _unscale(fit(one, tmax), centre, scale)))
    out: dict[str, Any] = {}
    width = st.y.shape[1]
    for name, first in parts[0][1].items():
        arr = np.asarray(first)
        if arr.ndim == 0:
            out[name] = first
            continue
        full = np.zeros((g, width), dtype=arr.dtype) if arr.ndim == 2 else np.empty(g, dtype=arr.dtype)
        for idx, part in parts:
            val = np.asarray(part[name])
            if arr.ndim == 2:
                full[idx, : val.shape[1]] = val
            else:
                full[idx] = val
        out[name] = full
    return out


def _candidate_rows(st: Any) -> NDArray[np.int64]:
    """Rows with any used value outside the safe box (vectorised pre-screen)."""
    y, v = st.y, st.v
    if y.size == 0:
        return np.zeros(0, dtype=np.int64)
    # whole-block check first (a few passes, no temporaries): padding is y = 0, v = inf
    padding = int(y.size - int(st.k.sum()))
    big_v = int(np.count_nonzero(v > SAFE_V))  # padding cells (inf) among them
    if float(y.max()) <= SAFE_Y and float(y.min()) >= -SAFE_Y and float(v.min()) >= 1.0 / SAFE_V and big_v == padding:
        return np.zeros(0, dtype=np.int64)
    used = np.arange(st.y.shape[1])[None, :] < st.k[:, None]
    with np.errstate(invalid="ignore"):
        ay = np.where(used, np.abs(st.y), 0.0)
        v = np.where(used, st.v, 1.0)
        bad = (ay > SAFE_Y).any(axis=1) | (v > SAFE_V).any(axis=1) | (v < 1.0 / SAFE_V).any(axis=1)
    return np.flatnonzero(bad)


def refuse_extreme(y: FloatArray, v: FloatArray, what: str) -> None:
    """For fits that are not mapped back from a centred and scaled fit (meta-regression): refuse
    data outside the safe box with a message, rather than return the engine's imprecise numbers."""
    if y.size and (np.max(np.abs(y)) > SAFE_Y or np.max(v) > SAFE_V or np.min(v) < 1.0 / SAFE_V):
        raise ValueError(
            f"{what}: yi spans [{float(np.min(y)):.3g}, {float(np.max(y)):.3g}] and vi "
            f"[{float(np.min(v)):.3g}, {float(np.max(v)):.3g}], outside |yi| <= {SAFE_Y:g} and "
            f"{1 / SAFE_V:g} <= vi <= {SAFE_V:g} where the model is fitted to full precision; rescale yi and vi "
            "(yi / c, vi / c^2: coefficients and their SEs scale by 1/c, tau^2 by 1/c^2) and fit again"
        )
