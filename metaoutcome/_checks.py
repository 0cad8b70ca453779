"""Argument checks shared by every public entry point.

Each check raises :class:`ValueError` whose message names the argument, the offending value or
positions, and what is allowed (the brief's "bad input gets a clear error"). They are plain
functions rather than decorators so that a public function states its own contract at the top.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "check_choice",
    "check_level",
    "level_percent",
    "LEVEL_RULE",
    "as_float_array",
    "check_same_length",
    "positions",
    "flag_array",
    "check_flag",
    "FLAG_RULE",
    "check_number",
    "check_labels",
    "check_names",
    "check_positions",
    "COUNT_RULE",
    "count_violations",
    "check_counts",
]


def positions(mask: NDArray[np.bool_], limit: int = 10) -> str:
    """Format the (0-based) positions where ``mask`` is true, e.g. ``"[0, 3, 7]"``."""
    idx = np.flatnonzero(np.asarray(mask))
    shown = ", ".join(str(i) for i in idx[:limit])
    more = f", ... ({idx.size} in all)" if idx.size > limit else ""
    return f"[{shown}{more}]"


def check_column(data: Any, name: str, arg: str) -> Any:
    """The column ``name`` of the frame ``data``; otherwise ValueError naming ``arg`` and the columns.

    >>> import pandas as pd
    >>> check_column(pd.DataFrame({"yi": [0.1]}), "vi", "vi")
    Traceback (most recent call last):
    ...
    ValueError: vi='vi' is not a column of data; the columns are: 'yi'
    """
    if name not in data.columns:
        cols = ", ".join(repr(c) for c in data.columns)
        raise ValueError(f"{arg}={name!r} is not a column of data; the columns are: {cols}")
    return data[name]


def check_choice(name: str, value: Any, allowed: Iterable[str], *, case_sensitive: bool = False) -> str:
    """Return ``value`` normalised to its canonical spelling in ``allowed``.

    >>> check_choice("method", "reml", ["DL", "REML"])
    'REML'
    >>> check_choice("method", "XX", ["DL", "REML"])
    Traceback (most recent call last):
    ...
    ValueError: method='XX' is not one of the allowed values: 'DL', 'REML'
    """
    allowed = list(allowed)
    if isinstance(value, str):
        for a in allowed:
            if value == a or (not case_sensitive and value.lower() == a.lower()):
                return a
    listed = ", ".join(repr(a) for a in allowed)
    raise ValueError(f"{name}={value!r} is not one of the allowed values: {listed}")


LEVEL_RULE = (
    "a level is a percentage in [1, 100) such as 95, or a proportion in (0.5, 1) such as 0.95 "
    "(read as 95%, as metafor reads it); values in (0, 0.5] are refused because metafor reads "
    "them as alpha (level=0.05 is a 95% CI there) while they could also mean a 5% interval"
)


def level_percent(level: Any, name: str = "level") -> float:
    """The one rule for every confidence level: return it in percent.

    Values in [1, 100) are percentages (``95``); values in (0.5, 1) are proportions (``0.95`` is
    read as 95%, as metafor reads it). Values in (0, 0.5] are ambiguous (metafor reads
    ``level=0.05`` as alpha, i.e. 95%) and refused, as are booleans, text, NaN, <= 0 and >= 100.

    >>> level_percent(95), level_percent(0.95), level_percent(99.9)
    (95.0, 95.0, 99.9)
    >>> level_percent(True)
    Traceback (most recent call last):
    ...
    ValueError: level=True is not a confidence level: a level is a percentage ...
    """
    if isinstance(level, (bool, np.bool_)) or isinstance(level, (str, bytes)):
        raise ValueError(f"{name}={level!r} is not a confidence level: {LEVEL_RULE}")
    try:
        lv = float(level)
    except (TypeError, ValueError):
        raise ValueError(f"{name}={level!r} is not a confidence level: {LEVEL_RULE}") from None
    if not np.isfinite(lv) or lv <= 0.5 or lv >= 100.0:
        raise ValueError(f"{name}={level!r} is not a confidence level: {LEVEL_RULE}")
    return lv * 100.0 if lv < 1.0 else lv


def check_level(level: Any, name: str = "level") -> float:
    """Check a confidence level (:func:`level_percent`'s rule) and return it as a fraction in (0, 1).

    >>> check_level(95), check_level(0.9)
    (0.95, 0.9)
    """
    return level_percent(level, name) / 100.0


def as_float_array(
    name: str,
    values: ArrayLike,
    *,
    allow_nan: bool = False,
    positive: bool = False,
    nonnegative: bool = False,
    integer: bool = False,
) -> NDArray[np.float64]:
    """Convert ``values`` to a 1-d float array and check it.

    Raises ``ValueError`` naming ``name``, the positions that fail and the rule they break.

    >>> as_float_array("vi", [0.1, -1.0], positive=True)
    Traceback (most recent call last):
    ...
    ValueError: vi must be > 0; positions [1] are not (values: [-1.0])
    """
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be numeric; got {values!r}") from None
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional; got shape {arr.shape}")

    def fail(mask: NDArray[np.bool_], rule: str) -> None:
        bad = arr[mask][:10].tolist()
        raise ValueError(f"{name} must be {rule}; positions {positions(mask)} are not (values: {bad})")

    nan = np.isnan(arr)
    if not allow_nan and nan.any():
        fail(nan, "a number (not NaN/missing)")
    inf = np.isinf(arr)
    if inf.any():
        fail(inf, "finite")
    ok = ~nan
    if positive:
        bad = ok & ~(arr > 0)
        if bad.any():
            fail(bad, "> 0")
    if nonnegative:
        bad = ok & ~(arr >= 0)
        if bad.any():
            fail(bad, ">= 0")
    if integer:
        bad = ok & (arr != np.round(arr))
        if bad.any():
            fail(bad, "whole numbers")
    return arr


def check_same_length(**arrays: Sequence[Any] | NDArray[Any]) -> int:
    """Check that all given arrays have one length; return it.

    >>> check_same_length(yi=[1, 2], vi=[1])
    Traceback (most recent call last):
    ...
    ValueError: lengths differ: yi has 2, vi has 1; all must be equal
    """
    lengths = {k: len(v) for k, v in arrays.items() if v is not None}
    if len(set(lengths.values())) > 1:
        listed = ", ".join(f"{k} has {n}" for k, n in lengths.items())
        raise ValueError(f"lengths differ: {listed}; all must be equal")
    return next(iter(lengths.values()), 0)


#: Text that reads as true / false in a flag (compared after strip() and lower()). "NR"/"NE" (not
#: reached / not estimable) read as true because the flags that take them (``upper_nr``,
#: ``ci_high_nr``) mean "the bound was not reached".
FLAG_TRUE = ("true", "t", "yes", "y", "1", "nr", "ne", "not reached", "not estimable")
FLAG_FALSE = ("false", "f", "no", "n", "0")
FLAG_RULE = (
    "a flag is True/False, 1/0, or the text true/false, t/f, yes/no, y/n, 1/0, NR/NE "
    "(not reached/not estimable, read as true), in any case"
)


def _flag_value(v: Any, missing: bool | None) -> bool | None:
    """One value -> True/False, or None if it is not a flag (or missing and ``missing`` is None)."""
    if v is None:
        return missing
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (str, bytes)):
        t = (v.decode() if isinstance(v, bytes) else v).strip().lower()
        if t == "":
            return missing
        if t in FLAG_TRUE:
            return True
        if t in FLAG_FALSE:
            return False
        return None
    if isinstance(v, (int, float, np.integer, np.floating)):
        fv = float(v)
        if np.isnan(fv):
            return missing
        if fv == 1.0:
            return True
        if fv == 0.0:
            return False
        return None
    if type(v).__name__ in ("NAType", "NaTType"):  # pandas missing markers, without importing pandas
        return missing
    return None


def flag_array(name: str, values: Any, n: int | None = None, *, missing: bool | None = False) -> NDArray[np.bool_]:
    """The one parser for true/false flags given per row (``upper_nr=[...]``, a ``ci_high_nr`` column).

    Each value is read by what it says, never by Python truthiness (``'False'`` is false):
    booleans, 1/0 and the words in :data:`FLAG_RULE`, case-insensitive. Missing values (None,
    NaN, pandas NA, empty text) become ``missing``, or are refused when ``missing`` is None.
    Anything else is refused with a message naming ``name`` and the positions. A single value is
    recycled to length ``n``.

    >>> flag_array("upper_nr", ["False", "yes", "NR", 0, None]).tolist()
    [False, True, True, False, False]
    >>> flag_array("upper_nr", ["maybe", "true"])
    Traceback (most recent call last):
    ...
    ValueError: upper_nr must be a flag; positions [0] are not (values: ['maybe']); a flag is ...
    """
    raw = np.asarray(values, dtype=object)
    if raw.ndim == 0:
        raw = raw.reshape(1)
    if raw.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional; got shape {raw.shape}")
    parsed = [_flag_value(v, missing) for v in raw]
    bad = np.array([p is None for p in parsed], dtype=bool)
    if bad.any():
        shown = raw[bad][:10].tolist()
        raise ValueError(f"{name} must be a flag; positions {positions(bad)} are not (values: {shown}); {FLAG_RULE}")
    out = np.array(parsed, dtype=bool)
    if n is not None:
        if out.size == 1 and n != 1:
            out = np.full(n, out[0])
        elif out.size != n:
            raise ValueError(f"lengths differ: {name} has {out.size}, expected {n} (or a single value)")
    return out


def check_flag(name: str, value: Any) -> bool:
    """The same rule for a single true/false argument (``use_events=``, ``correct=``).

    >>> check_flag("correct", "no"), check_flag("correct", True)
    (False, True)
    >>> check_flag("correct", None)
    Traceback (most recent call last):
    ...
    ValueError: correct=None is not a flag: a flag is True/False, ...
    """
    if isinstance(value, (list, tuple, np.ndarray)):
        raise ValueError(f"{name}={value!r} is not a flag: {FLAG_RULE}")
    parsed = _flag_value(value, None)
    if parsed is None:
        raise ValueError(f"{name}={value!r} is not a flag: {FLAG_RULE}")
    return parsed


def check_number(name: str, value: Any, *, minimum: float | None = None, strict: bool = False,
                 allow_none: bool = False, rule: str | None = None) -> float | None:
    """A single finite number (not a bool or text), optionally ``>= minimum`` (``> minimum`` if
    ``strict``); None allowed when ``allow_none``. ValueError naming ``name`` and the rule.

    >>> check_number("add", 0.5, minimum=0)
    0.5
    >>> check_number("add", "x", minimum=0)
    Traceback (most recent call last):
    ...
    ValueError: add='x' must be a finite number >= 0
    """
    if rule is None:
        rule = "a finite number" + ("" if minimum is None else f" {'>' if strict else '>='} {minimum:g}")
    if value is None and allow_none:
        return None
    if isinstance(value, (bool, np.bool_, str, bytes)) or np.ndim(value) != 0:
        raise ValueError(f"{name}={value!r} must be {rule}")
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}={value!r} must be {rule}") from None
    if not np.isfinite(x) or (minimum is not None and (x <= minimum if strict else x < minimum)):
        raise ValueError(f"{name}={value!r} must be {rule}")
    return x


def check_labels(labels: Any, n: int | None = None, name: str = "labels") -> list[str] | None:
    """Study labels: None, or a sequence (not text) of one label per study, returned as text."""
    if labels is None:
        return None
    if isinstance(labels, (str, bytes)) or not isinstance(labels, Iterable) or isinstance(labels, Mapping):
        raise ValueError(f"{name}={labels!r} must be a sequence of study labels (one per study)")
    out = [str(x) for x in labels]
    if n is not None and len(out) != n:
        raise ValueError(f"lengths differ: {name} has {len(out)}, expected {n} (one label per study)")
    return out


def check_names(name: str, value: Any, *, allow_none: bool = True) -> list[str]:
    """Column names: one name or a sequence of names (text)."""
    if value is None and allow_none:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, Iterable) and not isinstance(value, (bytes, Mapping)):
        items = list(value)
        if all(isinstance(v, str) for v in items):
            return items
    raise ValueError(f"{name}={value!r} must be a column name or a sequence of column names")


def check_positions(name: str, value: Any, size: int) -> tuple[int, ...]:
    """0-based positions in ``0..size-1`` (a sequence of whole numbers)."""
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
        raise ValueError(f"{name}={value!r} must be a sequence of positions in 0..{size - 1}")
    items = list(value)
    ok = all(isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)) and 0 <= int(v) < size
             for v in items)
    if not ok or not items:
        raise ValueError(f"{name}={value!r} must be a sequence of positions in 0..{size - 1}")
    return tuple(int(v) for v in items)


#: The one rule for counts (events, non-events, sample sizes) everywhere: effect sizes, MH/Peto,
#: the GLMM. metafor computes with fractional counts; here they are refused (a count of 2.5
#: responders is a typo or a derived number that should be rounded by the user, knowingly).
COUNT_RULE = "a count: a whole number >= 0"
SIZE_RULE = "a sample size: a whole number > 0"


def count_violations(
    counts: Mapping[str, NDArray[np.float64]],
    sizes: Mapping[str, NDArray[np.float64]] | None = None,
    within: Sequence[tuple[str, str]] = (),
) -> list[tuple[str, str, NDArray[np.bool_], dict[str, NDArray[np.float64]]]]:
    """The count rule as ``(argument, rule, mask, values shown)`` tuples (mask true where broken).

    ``counts`` must be whole and >= 0, ``sizes`` whole and > 0, and each ``(count, size)`` pair
    in ``within`` must satisfy count <= size. NaN (missing) breaks no rule. Both the raising
    check (:func:`check_counts`) and the effect-size converters' row-by-row reporting use it.
    """
    out = []
    with np.errstate(invalid="ignore"):
        for name, x in counts.items():
            out.append((name, ">= 0 (a count)", x < 0, {name: x}))
            out.append((name, "a whole number (a count)", ~np.isnan(x) & (x != np.round(x)), {name: x}))
        for name, x in (sizes or {}).items():
            out.append((name, "> 0 (a sample size)", x <= 0, {name: x}))
            out.append((name, "a whole number (a sample size)", ~np.isnan(x) & (x != np.round(x)), {name: x}))
        every = {**counts, **(sizes or {})}
        for c, s in within:
            out.append((c, f"<= {s}", every[c] > every[s], {c: every[c], s: every[s]}))
    return out


def check_counts(
    counts: Mapping[str, Any],
    sizes: Mapping[str, Any] | None = None,
    within: Sequence[tuple[str, str]] = (),
    *,
    allow_nan: bool = False,
) -> dict[str, NDArray[np.float64]]:
    """Arrays of counts checked by the one count rule; ValueError naming argument and positions.

    >>> check_counts({"events": [2.5]}, {"n": [10]}, [("events", "n")])
    Traceback (most recent call last):
    ...
    ValueError: events must be a whole number (a count); positions [0] are not (events: [2.5])
    """
    arrays = {k: as_float_array(k, v, allow_nan=allow_nan) for k, v in counts.items()}
    size_arrays = {k: as_float_array(k, v, allow_nan=allow_nan) for k, v in (sizes or {}).items()}
    check_same_length(**arrays, **size_arrays)
    for name, rule, mask, shown in count_violations(arrays, size_arrays, within):
        if mask.shape and mask.any():
            detail = ", ".join(f"{k}: {np.asarray(v)[mask][:10].tolist()}" for k, v in shown.items())
            raise ValueError(f"{name} must be {rule}; positions {positions(mask)} are not ({detail})")
    return {**arrays, **size_arrays}
