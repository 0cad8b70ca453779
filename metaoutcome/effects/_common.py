"""Plumbing shared by the effect-size converters: input rules, result frames, corrections.

Every converter states its input rules as a list of :class:`RuleViolation` objects (argument, rule,
positions that break it). The array-level functions raise on the first problem; the DataFrame
entry points either raise naming the column and row labels or keep the row with an
``exclusion_reason`` (``on_invalid="exclude"``). One set of rules, two ways of reporting it.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from .._checks import FLAG_RULE, LEVEL_RULE, as_float_array, check_choice, flag_array, level_percent, positions

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

__all__ = ["ConversionWarning", "ExclusionWarning"]

TO_CHOICES = ("all", "only0", "if0all", "none")
ON_INVALID_CHOICES = ("raise", "exclude")


class ConversionWarning(UserWarning):
    """A value was converted, but a check suggests the conversion may be inaccurate."""


class ExclusionWarning(UserWarning):
    """Rows of a frame could not be converted; they are kept with ``yi``/``vi`` NaN."""


@dataclass(frozen=True)
class RuleViolation:
    """Rows of argument ``arg`` that break ``rule`` (``mask`` true where broken)."""

    arg: str
    rule: str
    mask: BoolArray
    shown: Mapping[str, FloatArray] = field(default_factory=dict)

    def message(self, labels: Sequence[Any] | None = None, columns: Mapping[str, str] | None = None) -> str:
        """The error message: names the argument (or column), positions (or rows) and rule."""
        idx = np.flatnonzero(self.mask)
        if labels is None:
            where = f"positions {positions(self.mask)}"
            name = self.arg
        else:
            shown_labels = [labels[i] for i in idx[:10]]
            more = f" and more ({idx.size} in all)" if idx.size > 10 else ""
            where = f"rows {shown_labels}{more}"
            name = f"column {(columns or {}).get(self.arg, self.arg)!r}"
        values = self.shown or {}
        detail = ", ".join(f"{k}: {np.asarray(v)[idx][:10].tolist()}" for k, v in values.items())
        detail = f" ({detail})" if detail else ""
        return f"{name} must be {self.rule}; {where} are not{detail}"


def raise_problems(problems: Sequence[RuleViolation]) -> None:
    """Raise ``ValueError`` for the first problem that has any offending position."""
    for p in problems:
        if np.any(p.mask):
            raise ValueError(p.message())


def float_arg(name: str, values: ArrayLike | None, n: int | None = None, *, positive: bool = False,
              nonnegative: bool = False) -> FloatArray:
    """A 1-d float array (NaN allowed: missing values give NaN results), or all-NaN if None."""
    if values is None:
        if n is None:
            raise ValueError(f"{name} is required")
        return np.full(n, np.nan)
    arr = as_float_array(name, values, allow_nan=True, positive=positive, nonnegative=nonnegative)
    return arr


def broadcast(name: str, values: FloatArray, n: int) -> FloatArray:
    """Broadcast a length-1 array to length ``n`` (a scalar level, say); else check the length."""
    if values.size == 1 and n != 1:
        return np.full(n, values[0])
    if values.size != n:
        raise ValueError(f"lengths differ: {name} has {values.size}, expected {n} (or a single value)")
    return values


def check_lengths(**arrays: FloatArray) -> int:
    """Check that the given arrays have one length; return it."""
    lengths = {k: v.size for k, v in arrays.items()}
    if len(set(lengths.values())) > 1:
        listed = ", ".join(f"{k} has {n}" for k, n in lengths.items())
        raise ValueError(f"lengths differ: {listed}; all must be equal")
    return next(iter(lengths.values()), 0)


def level_array(level: ArrayLike, n: int, name: str = "level") -> FloatArray:
    """Confidence level(s) -> fraction(s), one per row, by :func:`level_percent`'s rule; NaN stays NaN.

    A single value is recycled (and must be a level: NaN refused); a vector (e.g. a ``ci_level``
    column) must have one per row, where NaN marks a missing level and gives NaN for that row.
    Percentages (95) and proportions in (0.5, 1) (0.95) are both read as 95%.
    """
    if np.ndim(level) == 0:  # one level for every row: the scalar rule (NaN refused, not "missing")
        return np.full(n, level_percent(level, name) / 100.0)
    raw = np.asarray(level, dtype=object).reshape(-1)
    wrong_type = np.array([isinstance(v, (str, bytes, bool, np.bool_)) for v in raw], dtype=bool)
    lv = np.full(raw.size, np.nan)
    if not wrong_type.all():
        lv[~wrong_type] = as_float_array(name, raw[~wrong_type].astype(float), allow_nan=True)
    bad = wrong_type | (~np.isnan(lv) & ~((lv > 0.5) & (lv < 100)))
    if bad.any():
        raise ValueError(
            f"{name}: positions {positions(bad)} are not confidence levels "
            f"(values: {raw[bad][:10].tolist()}); {LEVEL_RULE}"
        )
    pct = np.where(lv < 1.0, lv * 100.0, lv)
    return broadcast(name, pct, n) / 100.0


def level_column_percent(lvl: FloatArray) -> tuple[FloatArray, BoolArray]:
    """A ``ci_level`` column by the one level rule, row by row: ``(percent, bad)``.

    NaN stays NaN (no level given); proportions in (0.5, 1) become percentages; ``bad`` marks
    values outside the rule (<= 0.5, >= 100).
    """
    with np.errstate(invalid="ignore"):
        bad = ~np.isnan(lvl) & ~((lvl > 0.5) & (lvl < 100))
        pct = np.where(lvl < 1.0, lvl * 100.0, lvl)
    return np.where(bad, np.nan, pct), bad


#: the rule a ci_level value breaks, for RuleViolation messages
LEVEL_COLUMN_RULE = "a confidence level (95 or 0.95; values in (0, 0.5] are ambiguous, >= 100 impossible)"


def z_crit(level_frac: FloatArray) -> FloatArray:
    """Two-sided normal critical value for a level given as a fraction (1.959964 for 0.95)."""
    from scipy.special import ndtri  # (scipy.stats.norm.ppf is ndtri; scipy.stats costs ~0.6 s to import)

    return np.asarray(ndtri(0.5 + level_frac / 2.0), dtype=float)


def inf_to_nan(yi: FloatArray, vi: FloatArray, what: str) -> tuple[FloatArray, FloatArray]:
    """Recode +-Inf in yi/vi to NaN with a warning, as metafor's escalc does."""
    bad = np.isinf(yi) | np.isinf(vi)
    if bad.any():
        warnings.warn(
            f"{what}: yi and/or vi are +-Inf at positions {positions(bad)} (a zero cell without a "
            "continuity correction?); recoded to NaN as metafor does",
            ConversionWarning,
            stacklevel=3,
        )
        yi = np.where(bad, np.nan, yi)
        vi = np.where(bad, np.nan, vi)
    return yi, vi


def check_to(to: str) -> str:
    return check_choice("to", to, TO_CHOICES, case_sensitive=True)


def correction_mask(zero: BoolArray, to: str, add: float) -> BoolArray:
    """Rows that get ``add`` added to every cell, under metafor's ``to`` rule.

    ``zero`` marks rows with a zero cell. ``"all"``: every row; ``"only0"``: rows with a zero cell;
    ``"if0all"``: every row if any row has a zero cell; ``"none"``: no row.
    """
    k = zero.size
    if add == 0 or to == "none":
        return np.zeros(k, dtype=bool)
    if to == "all":
        return np.ones(k, dtype=bool)
    if to == "only0":
        return zero.copy()
    return np.full(k, bool(zero.any()))


def result_frame(yi: FloatArray, vi: FloatArray, measure: str, index: pd.Index | None = None,
                 **extra: Any) -> pd.DataFrame:
    """A tidy result: ``yi``, ``vi``, ``measure``, then ``extra`` columns; ``attrs["measure"]``."""
    data: dict[str, Any] = {"yi": yi, "vi": vi, "measure": measure}
    data.update(extra)
    out = pd.DataFrame(data, index=index)
    out.attrs["measure"] = measure
    return out


# --- DataFrame entry points ---------------------------------------------------------------------


def resolve_columns(defaults: Mapping[str, str | None], columns: Mapping[str, str | None] | None) -> dict[str, str | None]:
    """Merge a user's column mapping over the defaults; unknown keys are an error."""
    out = dict(defaults)
    if columns:
        unknown = sorted(set(columns) - set(defaults))
        if unknown:
            allowed = ", ".join(repr(k) for k in defaults)
            raise ValueError(f"columns has unknown keys {unknown}; allowed keys: {allowed}")
        out.update(columns)
    return out


def row_labels(frame: pd.DataFrame) -> list[Any]:
    """How messages name rows: the ``row_id`` column of a curated table if present, else the index."""
    if "row_id" in frame.columns and not frame.index.name == "row_id":
        return list(frame["row_id"])
    return list(frame.index)


def check_frame(frame: Any, name: str = "frame") -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame):
        raise ValueError(f"{name} must be a pandas DataFrame; got {type(frame).__name__}")
    return frame


def column(frame: pd.DataFrame, cols: Mapping[str, str | None], key: str, *, required: bool) -> FloatArray:
    """Column ``cols[key]`` of ``frame`` as floats (all-NaN if absent and not required)."""
    name = cols.get(key)
    if name is None or name not in frame.columns:
        if required:
            have = ", ".join(repr(c) for c in frame.columns)
            raise ValueError(
                f"frame has no column {name!r} (for {key!r}); pass columns={{{key!r}: ...}} naming "
                f"one of: {have}"
            )
        return np.full(len(frame), np.nan)
    try:
        return np.asarray(pd.to_numeric(frame[name], errors="raise"), dtype=float)
    except (TypeError, ValueError):
        bad = pd.to_numeric(frame[name], errors="coerce").isna() & frame[name].notna()
        labels = list(frame.index[bad.to_numpy()])[:10]
        raise ValueError(f"column {name!r} must be numeric; rows {labels} are not") from None


def bool_column(frame: pd.DataFrame, cols: Mapping[str, str | None], key: str) -> BoolArray:
    """A true/false column read by :func:`.._checks.flag_array` (missing -> False).

    An unreadable value is refused naming the column and the row labels.
    """
    name = cols.get(key)
    if name is None or name not in frame.columns:
        return np.zeros(len(frame), dtype=bool)
    try:
        return flag_array(repr(name), frame[name].to_numpy(dtype=object))
    except ValueError:
        bad = [not _is_flag(v) for v in frame[name]]
        labels = [lab for lab, b in zip(row_labels(frame), bad) if b][:10]
        values = frame[name][np.array(bad, dtype=bool)].tolist()[:10]
        raise ValueError(
            f"column {name!r} must be a flag; rows {labels} are not (values: {values}); {FLAG_RULE}"
        ) from None


def _is_flag(v: Any) -> bool:
    try:
        flag_array("v", [v])
    except ValueError:
        return False
    return True


class Exclusions:
    """Collects per-row exclusion reasons for a frame of length ``n``."""

    def __init__(self, n: int) -> None:
        self.reasons: list[list[str]] = [[] for _ in range(n)]

    def add(self, mask: BoolArray, reason: str) -> None:
        for i in np.flatnonzero(mask):
            self.reasons[i].append(reason)

    @property
    def mask(self) -> BoolArray:
        return np.array([bool(r) for r in self.reasons], dtype=bool)

    def column(self) -> list[str | None]:
        return ["; ".join(r) if r else None for r in self.reasons]


def handle_problems(problems: Sequence[RuleViolation], exclusions: Exclusions, on_invalid: str,
                    labels: Sequence[Any], columns: Mapping[str, str]) -> None:
    """Raise (naming column and row labels) or record the rows as excluded."""
    for p in problems:
        if not np.any(p.mask):
            continue
        if on_invalid == "raise":
            raise ValueError(
                p.message(labels, columns) + "; pass on_invalid='exclude' to keep such rows with "
                "yi/vi NaN and an exclusion_reason"
            )
        col = columns.get(p.arg, p.arg)
        exclusions.add(p.mask, f"{col} must be {p.rule}")


def finish_frame(frame: pd.DataFrame, res: pd.DataFrame, exclusions: Exclusions, measure: str,
                 what: str) -> pd.DataFrame:
    """Copy ``frame``, add the result columns and ``exclusion_reason``; warn about exclusions."""
    out = frame.copy()
    for c in res.columns:
        out[c] = res[c].to_numpy()
    # curated rows that an overlapping analysis of the same patients replaces are never pooled
    if "superseded_by" in frame.columns:
        sup = frame["superseded_by"]
        for i in np.flatnonzero(sup.notna().to_numpy() & (sup.astype("string").str.len() > 0).fillna(False).to_numpy()):
            exclusions.reasons[i].append(f"superseded by row {sup.iloc[i]!s} (an overlapping analysis of the same patients)")
    # curated rows flagged never to be pooled (unidentified seed figures, PD-L1 subgroups) carry their reason
    if "exclude_reason" in frame.columns:
        why = frame["exclude_reason"]
        for i in np.flatnonzero(why.notna().to_numpy() & (why.astype("string").str.len() > 0).fillna(False).to_numpy()):
            exclusions.reasons[i].append(str(why.iloc[i]))
    excl = exclusions.mask
    yi = out["yi"].to_numpy(dtype=float)
    vi = out["vi"].to_numpy(dtype=float)
    # any row that still came out NaN without a stated reason gets a generic one
    silent = (np.isnan(yi) | np.isnan(vi)) & ~excl
    exclusions.add(silent, "could not be converted (yi or vi undefined)")
    excl = exclusions.mask
    out.loc[excl, "yi"] = np.nan
    out.loc[excl, "vi"] = np.nan
    out["exclusion_reason"] = exclusions.column()
    out.attrs["measure"] = measure
    if excl.any():
        lines = "\n".join(
            f"  row {lab!r}: {reason}"
            for lab, reason in zip(np.asarray(row_labels(frame), dtype=object)[excl],
                                   out["exclusion_reason"][excl])
        )
        warnings.warn(
            f"{what}: {int(excl.sum())} of {len(out)} rows could not be converted and have yi/vi "
            f"NaN (see column 'exclusion_reason'):\n{lines}",
            ExclusionWarning,
            stacklevel=3,
        )
    return out
