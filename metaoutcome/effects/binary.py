"""Two-arm binary outcomes (e.g. ORR in two arms): log odds ratio, log risk ratio, risk difference.

The same numbers as metafor's ``escalc(measure="OR"|"RR"|"RD", ai, bi, ci, di)`` (or with
``n1i``/``n2i`` in place of ``bi``/``di``), including ``add``, ``to``, ``drop00`` and ``vtype``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from .._checks import check_choice, check_flag, count_violations
from ._common import (
    FloatArray,
    RuleViolation,
    check_lengths,
    check_to,
    correction_mask,
    float_arg,
    inf_to_nan,
    raise_problems,
    result_frame,
)

__all__ = ["two_arm_es", "BINARY_MEASURES"]

BINARY_MEASURES = ("OR", "RR", "RD")
_VTYPES = {"OR": ("LS",), "RR": ("LS",), "RD": ("LS", "UB", "AV")}


def _wmean(x: FloatArray, w: FloatArray) -> float:
    ok = ~(np.isnan(x) | np.isnan(w))
    return float(np.sum(x[ok] * w[ok]) / np.sum(w[ok])) if ok.any() else float("nan")


def cell_effects(measure: str, a: FloatArray, b: FloatArray, c: FloatArray, d: FloatArray,
                 vtype: str = "LS") -> tuple[FloatArray, FloatArray]:
    """``(yi, vi)`` of OR, RR or RD from 2x2 cells already corrected (metafor ``escalc``'s formulas).

    The one place the two-arm formulas live: :func:`two_arm_es` and the Mantel-Haenszel fit's
    per-study effect sizes (:func:`metaoutcome.pool_mh`) both call it.

    >>> yi, vi = cell_effects("OR", *(np.array([x], dtype=float) for x in (4, 119, 11, 128)))
    >>> round(float(yi[0]), 4), round(float(vi[0]), 4)
    (-0.9387, 0.3571)
    """
    n1 = a + b
    n2 = c + d
    with np.errstate(divide="ignore", invalid="ignore"):
        p1 = a / n1
        p2 = c / n2
        if measure == "OR":
            yi = np.log(p1 / (1 - p1)) - np.log(p2 / (1 - p2))
            vi = 1 / a + 1 / b + 1 / c + 1 / d
        elif measure == "RR":
            yi = np.log(p1) - np.log(p2)
            vi = 1 / a - 1 / n1 + 1 / c - 1 / n2
        else:
            yi = p1 - p2
            if vtype == "LS":
                vi = p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2
            elif vtype == "UB":
                vi = p1 * (1 - p1) / (n1 - 1) + p2 * (1 - p2) / (n2 - 1)
            else:
                m1 = _wmean(p1, n1)
                m2 = _wmean(p2, n2)
                vi = m1 * (1 - m1) / n1 + m2 * (1 - m2) / n2
    return yi, vi


def other_cell(a: FloatArray, cell: ArrayLike | None, total: ArrayLike | None, cell_name: str,
               total_name: str, a_name: str) -> FloatArray:
    """The second cell of an arm: given (checked to add up to ``total``), or ``total - a``.

    The one 2x2 completion rule, shared by :func:`two_arm_es`, :func:`metaoutcome.pool_mh` and
    :func:`metaoutcome.pool_peto`.

    >>> other_cell(np.array([4.0]), None, [123], "bi", "n1i", "ai")
    array([119.])
    """
    if cell is None and total is None:
        raise ValueError(f"give either {cell_name} (non-events) or {total_name} (group size)")
    if total is not None:
        nt = float_arg(total_name, total)
        check_lengths(**{a_name: a, total_name: nt})
        if cell is not None:
            b = float_arg(cell_name, cell)
            check_lengths(**{a_name: a, cell_name: b})
            with np.errstate(invalid="ignore"):
                bad = np.abs(a + b - nt) > 0
            raise_problems([RuleViolation(total_name, f"equal to {a_name} + {cell_name}", bad,
                                    {total_name: nt, a_name: a, cell_name: b})])
            return b
        # the one count rule: the group size is a whole number > 0 and holds the events
        raise_problems([RuleViolation(arg, rule, mask, shown) for arg, rule, mask, shown in
                        count_violations({a_name: a}, {total_name: nt}, [(a_name, total_name)])])
        return nt - a
    return float_arg(cell_name, cell)


def two_arm_es(
    measure: str = "OR",
    *,
    ai: ArrayLike,
    ci: ArrayLike,
    bi: ArrayLike | None = None,
    di: ArrayLike | None = None,
    n1i: ArrayLike | None = None,
    n2i: ArrayLike | None = None,
    add: float = 0.5,
    to: str = "only0",
    drop00: bool = False,
    vtype: str = "LS",
) -> pd.DataFrame:
    """Log odds ratio, log risk ratio or risk difference from two 2x2 arms (metafor ``escalc``).

    Parameters
    ----------
    measure : {"OR", "RR", "RD"}, default "OR"
        Log odds ratio, log risk ratio, or risk difference (group 1 minus group 2).
    ai, ci : array_like
        Events in group 1 (experimental) and group 2 (control).
    bi, di : array_like, optional
        Non-events in group 1 and group 2; or give ``n1i``, ``n2i``.
    n1i, n2i : array_like, optional
        Group sizes; if given with ``bi``/``di`` they must equal ``ai + bi`` / ``ci + di``.
    add : float, default 0.5
        Continuity correction added to all four cells of the rows chosen by ``to``.
    to : {"only0", "all", "if0all", "none"}, default "only0"
        Rows with a zero cell, all rows, all rows if any row has a zero cell, or none.
    drop00 : bool, default False
        Set rows with no events (or only events) in both groups to NaN, as metafor ``drop00``.
    vtype : str, default "LS"
        For RD: "LS" (large sample), "UB" (unbiased) or "AV" (from the weighted average
        proportions); OR and RR accept only "LS".

    Returns
    -------
    pandas.DataFrame
        ``yi``, ``vi``, ``measure``, ``ni`` (total sample size before correction) and
        ``corrected``; ``attrs["measure"]`` is the measure.

    Notes
    -----
    With :math:`p_1 = a/(a+b)`, :math:`p_2 = c/(c+d)` after correction:

    - OR: :math:`y = \\ln\\frac{p_1/(1-p_1)}{p_2/(1-p_2)}`, :math:`v = 1/a + 1/b + 1/c + 1/d`
    - RR: :math:`y = \\ln(p_1/p_2)`, :math:`v = 1/a - 1/n_1 + 1/c - 1/n_2`
    - RD: :math:`y = p_1 - p_2`, :math:`v = p_1(1-p_1)/n_1 + p_2(1-p_2)/n_2`

    References
    ----------
    Viechtbauer, W. (2010). Conducting meta-analyses in R with the metafor package. *Journal of
    Statistical Software*, 36(3), 1-48.

    Examples
    --------
    >>> es = two_arm_es("OR", ai=[4], bi=[119], ci=[11], di=[128])
    >>> es[["yi", "vi"]].round(4)
           yi      vi
    0 -0.9387  0.3571
    """
    m = check_choice("measure", measure, BINARY_MEASURES)
    vt = check_choice("vtype", vtype, _VTYPES[m], case_sensitive=True)
    to = check_to(to)
    add_v = float(add)
    if not np.isfinite(add_v) or add_v < 0:
        raise ValueError(f"add={add!r} must be a finite number >= 0 (metafor's default is 1/2)")
    a = float_arg("ai", ai)
    c = float_arg("ci", ci)
    check_lengths(ai=a, ci=c)
    b = other_cell(a, bi, n1i, "bi", "n1i", "ai")
    d = other_cell(c, di, n2i, "di", "n2i", "ci")
    check_lengths(ai=a, bi=b, ci=c, di=d)
    raise_problems([RuleViolation(arg, rule, mask, shown) for arg, rule, mask, shown in
                    count_violations({"ai": a, "bi": b, "ci": c, "di": d})])
    ni_u = a + b + c + d
    if check_flag("drop00", drop00):
        id00 = ((a == 0) & (c == 0)) | ((b == 0) & (d == 0))
        a, b, c, d = (np.where(id00, np.nan, x) for x in (a, b, c, d))
    zero = (a == 0) | (b == 0) | (c == 0) | (d == 0)
    corr = correction_mask(zero, to, add_v) & ~np.isnan(a + b + c + d)
    a, b, c, d = (x + add_v * corr for x in (a, b, c, d))
    yi, vi = cell_effects(m, a, b, c, d, vt)
    yi, vi = inf_to_nan(np.asarray(yi, dtype=float), np.asarray(vi, dtype=float), f"measure {m!r}")
    return result_frame(yi, vi, m, ni=ni_u, corrected=corr)
