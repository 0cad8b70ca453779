"""Text of a forest plot: cells, the heterogeneity and test lines, favours labels, axis checks.

Every number is formatted by :mod:`metaoutcome.printer` (through ``_style.fmt_num``/``fmt_p``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ._forest_draw import why
from ._scale import Scale, linear_ticks, log_ticks
from ._style import Layout, fmt_level, fmt_num, fmt_p, fmt_tau2

__all__ = ["subgroup_test_text"]


def _columns_from(arg: Any, argname: str, k: int) -> dict[str, list[str]]:
    """Normalise a dict of sequences or a DataFrame to {header: [str] * k}."""
    import pandas as pd

    if arg is None:
        return {}
    if isinstance(arg, pd.DataFrame):
        items = [(str(c), list(arg[c])) for c in arg.columns]
    elif isinstance(arg, Mapping):
        items = [(str(c), list(v) if not isinstance(v, str) else [v]) for c, v in arg.items()]
    else:
        raise ValueError(
            f"{argname} must be a dict {{column header: values}} or a pandas DataFrame; got {type(arg).__name__}"
        )
    out: dict[str, list[str]] = {}
    for name, vals in items:
        if len(vals) != k:
            raise ValueError(f"{argname}[{name!r}] has {len(vals)} entries but there are {k} studies")
        out[name] = [_cell(v) for v in vals]
    return out


def _cell(v: Any) -> str:
    import pandas as pd

    if v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and math.isnan(v)):
        return ""
    return str(v)


def _is_numeric_text(cells: Sequence[str]) -> bool:
    seen = False
    for c in cells:
        s = c.strip().replace("%", "").replace("/", "").replace(",", "").replace(" ", "")
        if not s:
            continue
        seen = True
        try:
            float(s)
        except ValueError:
            return False
    return seen


def _fmt_ci(layout: Layout, est: float, lo: float, hi: float, digits: int, with_est: bool = True) -> str:
    e, a, b = (fmt_num(v, digits) for v in (est, lo, hi))
    fmt = layout.ci_format
    if not with_est:  # an interval only, e.g. the prediction interval
        fmt = fmt[fmt.index("{lo}") - 1 :]
    if layout.ci_sep_negative != ", " and (lo < 0 or hi < 0):
        fmt = fmt.replace("{lo}-{hi}", "{lo}" + layout.ci_sep_negative + "{hi}")
    return fmt.format(est=e, lo=a, hi=b)


def _f(res: Any, name: str) -> float:
    v = getattr(res, name, None)
    try:
        return math.nan if v is None else float(v)
    except (TypeError, ValueError):
        return math.nan


def _het_text(layout: Layout, res: Any, k: int, level: float) -> str:
    if k < 2:  # one study: heterogeneity is undefined, say so instead of printing NA fields
        return f"Heterogeneity: not applicable (k = {k})"
    i2, i2l, i2h = _f(res, "i2"), _f(res, "i2_ci_low"), _f(res, "i2_ci_high")
    tau2, q, qdf, qp = _f(res, "tau2"), _f(res, "q"), _f(res, "q_df"), _f(res, "q_pvalue")
    df_s = "NA" if not np.isfinite(qdf) else f"{int(round(qdf))}"
    have_ci = np.isfinite(i2l) and np.isfinite(i2h)
    p = fmt_p(qp, layout.p_style)
    i2_s = fmt_num(i2, 0)
    qname = "Wald Q" if str(getattr(res, "model", "")).upper() == "GLMM" else "Q"
    # a common-effect model (IV fixed, M-H, Peto) estimates no tau^2: RevMan prints none
    common = str(getattr(res, "model", "")).lower() in ("common", "mh", "peto")
    if layout.het_style == "revman":
        ci = f" [{fmt_num(i2l, 0)}%, {fmt_num(i2h, 0)}%]" if have_ci else ""
        tau = "" if common else f"Tau\u00b2 = {fmt_tau2(tau2)}; "
        return f"Heterogeneity (k = {k}): {tau}Chi\u00b2 = {fmt_num(q, 2)}, df = {df_s} ({p}); I\u00b2 = {i2_s}%{ci}"
    if layout.het_style == "jama":
        ci = f" ({fmt_level(level)}% CI, {fmt_num(i2l, 0)}%-{fmt_num(i2h, 0)}%)" if have_ci else ""
        tau = "" if common else f"\u03c4\u00b2 = {fmt_tau2(tau2)}; "
        return f"Heterogeneity (k = {k}): I\u00b2 = {i2_s}%{ci}; {tau}{qname} = {fmt_num(q, 2)}, df = {df_s}, {p}"
    ci = f" [{fmt_num(i2l, 0)}%, {fmt_num(i2h, 0)}%]" if have_ci else ""
    tau = "" if common else f"\u03c4\u00b2 = {fmt_tau2(tau2)}, "
    return f"Heterogeneity (k = {k}): I\u00b2 = {i2_s}%{ci}, {tau}{qname} = {fmt_num(q, 2)}, df = {df_s}, {p}"


def _overall_test_text(layout: Layout, res: Any) -> str:
    name = "Z" if str(getattr(res, "ci_method", "z")).lower() == "z" else "t"
    if layout.p_style == "default":
        name = name.lower()
    return f"Test for overall effect: {name} = {fmt_num(_f(res, 'statistic'), 2)} ({fmt_p(_f(res, 'pvalue'), layout.p_style)})"


def _subgroup_test(arg: Any) -> tuple[float, float, float]:
    """(Q_between, df, p) from a tuple, a mapping or an object."""
    if isinstance(arg, Mapping):
        keys = [("q", "qm", "q_between", "Q"), ("df", "q_df", "qm_df"), ("p", "pvalue", "q_pvalue", "qm_pvalue")]
        vals = []
        for alts in keys:
            hit = next((arg[a] for a in alts if a in arg), None)
            if hit is None:
                raise ValueError(f"subgroup_test needs the keys q, df and p; got {sorted(arg)}")
            vals.append(hit)
    elif isinstance(arg, (tuple, list)):
        if len(arg) != 3:
            raise ValueError(f"subgroup_test must be (Q_between, df, p); got {arg!r}")
        vals = list(arg)
    else:
        vals = [getattr(arg, a, None) for a in ("q", "q_df", "q_pvalue")]
        if any(v is None for v in vals):
            raise ValueError(
                "subgroup_test must be (Q_between, df, p), a dict with keys q, df, p, the line as a str, or an "
                f"object with attributes q, q_df, q_pvalue; got {type(arg).__name__}"
            )
    try:
        q, df, p = (float(v) for v in vals)
    except (TypeError, ValueError):
        raise ValueError(f"subgroup_test values must be numbers; got {vals!r}") from None
    return q, df, p


def subgroup_test_text(layout: Layout, q: float, df: float, p: float, head: str = "Test for subgroup differences",
                       df2: float | None = None) -> str:
    """The test-for-subgroup-differences line in the layout's wording (an F test when ``df2`` is given)."""
    ps = fmt_p(p, layout.p_style)
    df_s = f"{int(round(df))}" if np.isfinite(df) else "NA"
    if df2 is not None and np.isfinite(df2):
        return f"{head}: F = {fmt_num(q, 2)}, df = ({df_s}, {df2:g}), {ps}"
    if layout.het_style == "revman":
        i2 = max(0.0, (q - df) / q) * 100 if q > 0 else 0.0
        return f"{head}: Chi\u00b2 = {fmt_num(q, 2)}, df = {df_s} ({ps}), I\u00b2 = {fmt_num(i2, 0)}%"
    return f"{head}: Q = {fmt_num(q, 2)}, df = {df_s}, {ps}"


def _favours(favours: Any, lay: Layout, ref: float | None) -> tuple[str, str] | None:
    if ref is None or favours is None or favours is False:
        return None
    if favours is True:
        pair: tuple[Any, ...] = ("experimental", "control")
    elif isinstance(favours, (tuple, list)) and len(favours) == 2:
        pair = tuple(favours)
    else:
        raise ValueError(f"favours={favours!r} must be (left text, right text), True or False")

    def fix(t: Any) -> str:
        s = str(t)
        return s if s.lower().startswith("favo") or not s else f"{lay.favours_word} {s}"

    return fix(pair[0]), fix(pair[1])


def _check_xlim(xlim: Any, sc: Scale) -> tuple[float, float]:
    try:
        a, b = (float(v) for v in xlim)
    except (TypeError, ValueError):
        raise ValueError(f"xlim={xlim!r} must be two numbers (low, high)") from None
    if not (np.isfinite(a) and np.isfinite(b) and a < b):
        raise ValueError(f"xlim={xlim!r} must be two finite numbers with low < high")
    if sc.log and a <= 0:
        raise ValueError(f"xlim={xlim!r} must be > 0 on a log axis (scale='log')")
    return a, b


def _check_ticks(xticks: Any, sc: Scale) -> list[float]:
    try:
        t = [float(v) for v in xticks]
    except (TypeError, ValueError):
        raise ValueError(f"xticks={xticks!r} must be a sequence of numbers") from None
    if not all(np.isfinite(t)):
        raise ValueError(f"xticks={xticks!r} must be finite")
    if sc.log and any(v <= 0 for v in t):
        raise ValueError(f"xticks={xticks!r} must be > 0 on a log axis (scale='log')")
    return t


def _ticks_in(lim: tuple[float, float], sc: Scale, kind: str) -> list[float]:
    a, b = lim
    t = log_ticks(a, b, kind) if sc.log else linear_ticks(a, b, percent=sc.name == "percent")
    if sc.log:
        inside = [v for v in t if a * (1 - 1e-9) <= v <= b * (1 + 1e-9)]
    else:
        inside = [v for v in t if a - 1e-9 <= v <= b + 1e-9]
    return inside or [a, b]


def _to_float(v: Any) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def _study_note(sc: Scale, est: float, lo: float, hi: float) -> str:
    """Why (part of) a study's row cannot be drawn, or "" if it can."""
    parts = []
    if not sc.drawable(est):
        parts.append(f"estimate {why(est, sc)}")
    for v, name in ((lo, "lower"), (hi, "upper")):
        if not sc.drawable(v):
            parts.append(f"{name} limit {why(v, sc)}")
    if not parts:
        return ""
    return ("not drawn" if not sc.drawable(est) else "CI not drawn") + ": " + "; ".join(parts)
