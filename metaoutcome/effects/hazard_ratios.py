"""Hazard ratios as trials print them -> (yi = ln HR, vi = SE^2).

From an HR and its CI at any level (metafor ``conv.wald``), from an HR and a two-sided p-value
(Parmar et al. 1998; Tierney et al. 2007), from logrank O - E and V, or from observed and expected
events per arm. Printed p-values ("<0.001", "P = 0.005", "0·03") are parsed by
:func:`parse_p_value`.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from .._checks import check_choice, check_flag, count_violations, positions
from ._common import (
    ON_INVALID_CHOICES,
    BoolArray,
    ConversionWarning,
    Exclusions,
    FloatArray,
    RuleViolation,
    check_frame,
    check_lengths,
    column,
    finish_frame,
    float_arg,
    handle_problems,
    LEVEL_COLUMN_RULE,
    level_array,
    level_column_percent,
    raise_problems,
    resolve_columns,
    row_labels,
    result_frame,
)

__all__ = [
    "PValue",
    "parse_p_value",
    "parse_p_values",
    "hr_from_ci",
    "hr_from_p",
    "hr_from_logrank",
    "hr_from_events",
    "from_hazard_ratios",
]

BOUNDS_CHOICES = ("both", "lower", "upper")
CHECK_TOL = 0.1  # metafor conv.wald's 'cifac': flag if |midpoint - yi| > 10% of the CI width

# --- p-values ------------------------------------------------------------------------------------

_MISSING_P = {"", "ns", "n.s.", "n.s", "nr", "na", "n/a", "nan", "none", "-", "--", "—", "–"}
_SUPERSCRIPT = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789-")
_NUMBER = r"(?:\d+(?:\.\d*)?|\.\d+)"
_P_RE = re.compile(
    rf"""^\s*
    (?:p(?:[\s-]*value)?\s*)?                       # optional 'p', 'P', 'p-value'
    (?P<rel><=|>=|=<|=>|≤|≥|⩽|⩾|<|>|=)?\s*           # optional relation
    (?P<num>{_NUMBER})                               # mantissa
    (?:\s*(?:[eE]\s*(?P<exp1>[-+]?\d+)               # 1e-5 / 1E-05
        |\s*[x×*·]\s*10\s*\^?\s*(?P<exp2>[-+]?\d+))  # 1 x 10^-5, 1×10-5
    )?
    \s*[*†‡§#]*\s*$""",
    re.IGNORECASE | re.VERBOSE,
)


@dataclass(frozen=True)
class PValue:
    """A printed p-value read as a number.

    Attributes
    ----------
    value : float
        The number printed (the bound itself for ``"<0.001"``); NaN when nothing was printed.
    relation : {"=", "<", ">"} or None
        ``"="`` for an exact value, ``"<"`` / ``">"`` for a bound (``"≤"``/``"≥"`` are read as
        ``"<"``/``">"``), ``None`` when missing.
    """

    value: float
    relation: str | None

    @property
    def is_bound(self) -> bool:
        """Whether the printed value is a bound rather than an exact p-value."""
        return self.relation in ("<", ">")


def parse_p_value(text: Any) -> PValue:
    """Read a p-value as printed: ``"0.0199"``, ``"<0.001"``, ``"P<0.0001"``, ``"p = 0.005"``.

    Parameters
    ----------
    text : str or float or None
        The printed p-value. Also understood: ``"≤0.05"``, ``"p-value < .001"``, the Lancet's
        decimal point ``"0·03"``, ``"1.2e-5"``, ``"1.2 × 10^-5"``, ``"3x10-4"``, trailing
        footnote marks (``"0.02*"``). Missing: None, NaN, ``""``, ``"NS"``, ``"NR"``, ``"NA"``.
        A number is taken as an exact value.

    Returns
    -------
    PValue
        ``value`` and ``relation``.

    Raises
    ------
    ValueError
        If the text cannot be read, or the value is outside (0, 1].

    Examples
    --------
    >>> parse_p_value("P<0.0001")
    PValue(value=0.0001, relation='<')
    >>> parse_p_value("p = 0.005")
    PValue(value=0.005, relation='=')
    >>> parse_p_value("0·03")
    PValue(value=0.03, relation='=')
    """
    if text is None or text is pd.NA:
        return PValue(float("nan"), None)
    if isinstance(text, (int, float, np.integer, np.floating)) and not isinstance(text, bool):
        v = float(text)
        if math.isnan(v):
            return PValue(v, None)
        _check_p_range(v, text)
        return PValue(v, "=")
    if not isinstance(text, str):
        raise ValueError(f"p_value={text!r} must be a string as printed (e.g. '<0.001') or a number")
    t = text.strip()
    if t.lower() in _MISSING_P:
        return PValue(float("nan"), None)
    t = t.translate(_SUPERSCRIPT).replace("−", "-").replace("–", "-")
    t = re.sub(r"(?<=\d)·(?=\d)|(?<=^)·(?=\d)|(?<=[<>=\s])·(?=\d)", ".", t)
    mt = _P_RE.match(t)
    if mt is None:
        raise ValueError(
            f"p_value={text!r} is not a p-value that can be read; expected forms like '0.0199', "
            "'<0.001', 'P<0.0001', 'p = 0.005', '1.2e-5', or a missing marker ('', 'NS', 'NR')"
        )
    v = float(mt.group("num"))
    exp = mt.group("exp1") or mt.group("exp2")
    if exp is not None:
        v *= 10.0 ** int(exp)
    rel = mt.group("rel") or "="
    rel = {"<=": "<", "=<": "<", "≤": "<", "⩽": "<", ">=": ">", "=>": ">", "≥": ">", "⩾": ">"}.get(rel, rel)
    _check_p_range(v, text)
    return PValue(v, rel)


def _check_p_range(v: float, text: Any) -> None:
    if not (0.0 < v <= 1.0):
        raise ValueError(f"p_value={text!r} must be in (0, 1]; got {v!r}")


def parse_p_values(texts: Sequence[Any] | pd.Series | ArrayLike, errors: str = "raise") -> pd.DataFrame:
    """Vectorised :func:`parse_p_value`.

    Parameters
    ----------
    texts : sequence of str or float
        Printed p-values.
    errors : {"raise", "coerce"}, default "raise"
        Unreadable values raise ``ValueError`` naming their positions, or become NaN with
        relation ``None``.

    Returns
    -------
    pandas.DataFrame
        Columns ``p`` (float) and ``relation`` ({"=", "<", ">"} or None), one row per input
        (the index of a Series is kept).

    Examples
    --------
    >>> parse_p_values(["0.0199", "<0.001", None])
            p relation
    0  0.0199        =
    1  0.0010        <
    2     NaN      NaN
    """
    errors = check_choice("errors", errors, ("raise", "coerce"))
    index = texts.index if isinstance(texts, pd.Series) else None
    items = list(texts.tolist() if isinstance(texts, (pd.Series, np.ndarray)) else texts)  # type: ignore[union-attr, arg-type]
    values: list[float] = []
    rels: list[str | None] = []
    bad: list[int] = []
    msgs: list[str] = []
    for i, t in enumerate(items):
        try:
            pv = parse_p_value(t)
        except ValueError as e:
            bad.append(i)
            msgs.append(str(e))
            pv = PValue(float("nan"), None)
        values.append(pv.value)
        rels.append(pv.relation)
    if bad and errors == "raise":
        mask = np.zeros(len(items), dtype=bool)
        mask[bad] = True
        raise ValueError(f"p_value at positions {positions(mask)} cannot be read: {msgs[0]}")
    return pd.DataFrame({"p": values, "relation": pd.Series(rels, dtype=object).to_numpy()}, index=index)


# --- HR + CI ------------------------------------------------------------------------------------


def _ci_problems(hr: FloatArray, lower: FloatArray, upper: FloatArray, bounds: str,
                 names: tuple[str, str, str] = ("hr", "lower", "upper")) -> list[RuleViolation]:
    h, lo_n, up_n = names
    with np.errstate(invalid="ignore"):
        probs = [
            RuleViolation(h, "> 0 (a hazard ratio)", hr <= 0, {h: hr}),
            RuleViolation(lo_n, "> 0 (a bound of a hazard ratio)", lower <= 0, {lo_n: lower}),
            RuleViolation(up_n, "> 0 (a bound of a hazard ratio)", upper <= 0, {up_n: upper}),
            RuleViolation(lo_n, f"< {up_n} (bounds reversed?)", lower >= upper, {lo_n: lower, up_n: upper}),
            RuleViolation(h, f"within [{lo_n}, {up_n}] (the CI must contain the estimate)",
                    (hr < lower) | (hr > upper), {h: hr, lo_n: lower, up_n: upper}),
        ]
        if bounds == "lower":
            probs.append(RuleViolation(h, f"> {lo_n} when bounds='lower'", hr == lower, {h: hr, lo_n: lower}))
        if bounds == "upper":
            probs.append(RuleViolation(h, f"< {up_n} when bounds='upper'", hr == upper, {h: hr, up_n: upper}))
    return probs


def _ci_core(yi: FloatArray, lo: FloatArray, up: FloatArray, z: FloatArray,
             bounds: str) -> tuple[FloatArray, FloatArray]:
    """vi from log-scale bounds; and the conv.wald asymmetry |mid - yi| / width."""
    with np.errstate(invalid="ignore", divide="ignore"):
        if bounds == "both":
            vi = ((up - lo) / (2 * z)) ** 2
        elif bounds == "lower":
            vi = ((yi - lo) / z) ** 2
        else:
            vi = ((up - yi) / z) ** 2
        asym = np.abs((up + lo) / 2 - yi) / (up - lo)
    return np.asarray(vi, dtype=float), np.asarray(asym, dtype=float)


def _warn_asymmetric(flag: BoolArray, where: str, bounds: str, tol: float) -> None:
    if flag.any():
        warnings.warn(
            f"ln hr is not halfway between the log CI bounds (off-centre by more than "
            f"{tol:g} of the CI width) at {where}: the CI may not be a Wald interval on the log "
            f"scale, or the printed figures are rounded. vi uses bounds={bounds!r}; see column "
            "'ci_asymmetry'",
            ConversionWarning,
            stacklevel=3,
        )


def hr_from_ci(
    hr: ArrayLike,
    lower: ArrayLike,
    upper: ArrayLike,
    level: ArrayLike = 95,
    *,
    bounds: str = "both",
    check: bool = True,
    check_tol: float = CHECK_TOL,
) -> pd.DataFrame:
    """Log hazard ratio and its variance from an HR and its confidence interval.

    Parameters
    ----------
    hr, lower, upper : array_like
        Hazard ratio and CI bounds as printed (natural scale). NaN gives a NaN row.
    level : float or array_like, default 95
        CI level in percent, one value or one per row (e.g. 96 for CheckMate 057's OS CI).
    bounds : {"both", "lower", "upper"}, default "both"
        Which printed figures give the SE. "both" uses the CI width and ignores where the
        estimate sits, as metafor ``conv.wald`` does; "lower" / "upper" use the distance from the
        estimate to that bound only (for a CI whose other bound is mis-printed or truncated).
    check : bool, default True
        metafor ``conv.wald``'s check: warn (:class:`ConversionWarning`) where ln HR is further
        than ``check_tol`` times the CI width from the midpoint of the log CI.
    check_tol : float, default 0.1
        Threshold of the check (metafor's ``cifac``).

    Returns
    -------
    pandas.DataFrame
        ``yi`` (ln HR), ``vi``, ``measure`` ("HR"), ``ci_asymmetry`` (absolute midpoint - ln HR, over the width
        on the log scale) and ``ci_asymmetric`` (``ci_asymmetry > check_tol``).

    Notes
    -----
    With :math:`z = \\Phi^{-1}\\{(1 + \\text{level}/100)/2\\}` (1.959964 for 95%, 2.053749 for
    96%), "both" gives :math:`SE = (\\ln U - \\ln L)/(2z)`; "lower" :math:`(\\ln HR - \\ln L)/z`;
    "upper" :math:`(\\ln U - \\ln HR)/z`. :math:`v = SE^2`.

    References
    ----------
    Parmar, M. K. B., Torri, V., & Stewart, L. (1998). Extracting summary statistics to perform
    meta-analyses of the published literature for survival endpoints. *Statistics in Medicine*,
    17(24), 2815-2834.

    Tierney, J. F., Stewart, L. A., Ghersi, D., Burdett, S., & Sydes, M. R. (2007). Practical
    methods for incorporating summary time-to-event data into meta-analysis. *Trials*, 8, 16.

    Examples
    --------
    >>> es = hr_from_ci([0.73, 0.59], [0.59, 0.44], [0.89, 0.79], level=[96, 95])
    >>> es[["yi", "vi", "ci_asymmetric"]].round(5)
            yi       vi  ci_asymmetric
    0 -0.31471  0.01002          False
    1 -0.52763  0.02229          False
    """
    b = check_choice("bounds", bounds, BOUNDS_CHOICES)
    h = float_arg("hr", hr)
    lo = float_arg("lower", lower)
    up = float_arg("upper", upper)
    k = check_lengths(hr=h, lower=lo, upper=up)
    lv = level_array(level, k)
    raise_problems(_ci_problems(h, lo, up, b))
    from ._common import z_crit

    yi = np.log(h)
    vi, asym = _ci_core(yi, np.log(lo), np.log(up), z_crit(lv), b)
    flag = asym > check_tol
    if check_flag("check", check):
        _warn_asymmetric(flag, f"positions {positions(flag)}", b, check_tol)
    return result_frame(yi, vi, "HR", ci_asymmetry=asym, ci_asymmetric=flag)


# --- HR + p ------------------------------------------------------------------------------------


def _p_core(yi: FloatArray, p: FloatArray) -> FloatArray:
    from scipy.special import ndtri  # (norm.isf(q) = -ndtri(q), without importing scipy.stats)

    z = -ndtri(p / 2.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        vi = (yi / z) ** 2
    vi = np.where(np.isfinite(vi) & (vi > 0), vi, np.nan)
    return np.asarray(np.where(np.isnan(yi) | np.isnan(p), np.nan, vi), dtype=float)


def _p_problems(hr: FloatArray, p: FloatArray, rel: Sequence[str | None], hr_name: str = "hr",
                p_name: str = "p") -> list[RuleViolation]:
    gt = np.array([r == ">" for r in rel], dtype=bool)
    with np.errstate(invalid="ignore"):
        return [
            RuleViolation(hr_name, "> 0 (a hazard ratio)", hr <= 0, {hr_name: hr}),
            RuleViolation(p_name, "in (0, 1]", (p <= 0) | (p > 1), {p_name: p}),
            RuleViolation(p_name, "an exact value or an upper bound ('<'); a lower bound ('>') gives no "
                    "usable SE", gt, {p_name: p}),
        ]


def hr_from_p(hr: ArrayLike, p: Sequence[Any] | ArrayLike) -> pd.DataFrame:
    """Log hazard ratio and its variance from an HR and a two-sided p-value.

    Parameters
    ----------
    hr : array_like
        Hazard ratios as printed.
    p : array_like of float or str
        Two-sided p-values of the Wald or logrank test: numbers, or strings as printed
        (parsed with :func:`parse_p_value`). A bound such as ``"<0.001"`` is used as if it were
        the p-value, which makes the SE conservative (too large), and the row is flagged in
        ``p_bound``. A lower bound (``">0.05"``) is an error: it gives no usable SE.

    Returns
    -------
    pandas.DataFrame
        ``yi`` (ln HR), ``vi``, ``measure`` ("HR"), ``p`` (the value used) and ``p_bound``
        (whether it was a ``"<"`` bound). ``vi`` is NaN, with a :class:`ConversionWarning`,
        where it is undefined (p = 1, or HR = 1 with p < 1).

    Notes
    -----
    :math:`z = \\Phi^{-1}(1 - p/2)`, :math:`SE = |\\ln HR| / z`, :math:`v = SE^2`
    (metafor ``conv.wald`` with ``pval``; Tierney et al. 2007).

    References
    ----------
    Parmar, M. K. B., Torri, V., & Stewart, L. (1998). *Statistics in Medicine*, 17(24),
    2815-2834.

    Tierney, J. F., et al. (2007). Practical methods for incorporating summary time-to-event
    data into meta-analysis. *Trials*, 8, 16.

    Examples
    --------
    >>> es = hr_from_p([0.73, 0.59], ["0.0199", "<0.001"])
    >>> es[["yi", "vi", "p", "p_bound"]].round(5)
            yi       vi       p  p_bound
    0 -0.31471  0.01827  0.0199    False
    1 -0.52763  0.02571  0.0010     True
    """
    h = float_arg("hr", hr)
    pv, rel = _p_input(p)
    check_lengths(hr=h, p=pv)
    raise_problems(_p_problems(h, pv, rel))
    yi = np.log(h)
    vi = _p_core(yi, pv)
    undefined = np.isnan(vi) & ~np.isnan(yi) & ~np.isnan(pv)
    if undefined.any():
        warnings.warn(
            f"vi is undefined where p = 1 or hr = 1 (positions {positions(undefined)}); set to NaN",
            ConversionWarning,
            stacklevel=2,
        )
    bound = np.array([r == "<" for r in rel], dtype=bool)
    return result_frame(yi, vi, "HR", p=pv, p_bound=bound)


def _p_input(p: Sequence[Any] | ArrayLike) -> tuple[FloatArray, list[str | None]]:
    items = p.tolist() if isinstance(p, (pd.Series, np.ndarray)) else p
    if isinstance(items, (str, float, int)):
        items = [items]
    items = list(items)  # type: ignore[arg-type]
    if any(isinstance(x, str) for x in items):
        parsed = parse_p_values(items)
        return parsed["p"].to_numpy(dtype=float), list(parsed["relation"])
    arr = float_arg("p", items)
    return arr, [None if np.isnan(x) else "=" for x in arr]


# --- logrank / observed and expected ---------------------------------------------------------


def hr_from_logrank(o_minus_e: ArrayLike, v: ArrayLike) -> pd.DataFrame:
    """Log hazard ratio from the logrank statistic O - E and its variance V (Peto method).

    Parameters
    ----------
    o_minus_e : array_like
        Observed minus expected events in the experimental arm.
    v : array_like
        Logrank variance V (> 0).

    Returns
    -------
    pandas.DataFrame
        ``yi`` = (O - E) / V, ``vi`` = 1 / V, ``measure`` ("HR").

    Notes
    -----
    :math:`\\ln HR = (O - E)/V`, :math:`\\operatorname{var}(\\ln HR) = 1/V`.

    References
    ----------
    Tierney, J. F., et al. (2007). *Trials*, 8, 16.

    Examples
    --------
    >>> hr_from_logrank([-10.0], [40.0])[["yi", "vi"]]
         yi     vi
    0 -0.25  0.025
    """
    oe = float_arg("o_minus_e", o_minus_e)
    vv = float_arg("v", v)
    check_lengths(o_minus_e=oe, v=vv)
    with np.errstate(invalid="ignore"):
        raise_problems([RuleViolation("v", "> 0 (a logrank variance)", vv <= 0, {"v": vv})])
    return result_frame(oe / vv, 1.0 / vv, "HR")


def hr_from_events(observed1: ArrayLike, expected1: ArrayLike, observed2: ArrayLike,
                   expected2: ArrayLike) -> pd.DataFrame:
    """Log hazard ratio from observed and (logrank) expected events in each arm.

    Parameters
    ----------
    observed1, expected1 : array_like
        Observed and expected events in the experimental arm (> 0).
    observed2, expected2 : array_like
        The same in the control arm.

    Returns
    -------
    pandas.DataFrame
        ``yi``, ``vi``, ``measure`` ("HR").

    Notes
    -----
    :math:`\\ln HR = \\ln\\{(O_1/E_1)/(O_2/E_2)\\}`,
    :math:`\\operatorname{var}(\\ln HR) = 1/E_1 + 1/E_2` (Parmar et al. 1998; Tierney et al. 2007).

    References
    ----------
    Parmar, M. K. B., Torri, V., & Stewart, L. (1998). *Statistics in Medicine*, 17(24),
    2815-2834.

    Examples
    --------
    >>> hr_from_events([40], [50], [60], [50])[["yi", "vi"]].round(5)
            yi    vi
    0 -0.405470  0.04
    """
    arrs = {name: float_arg(name, x) for name, x in
            (("observed1", observed1), ("expected1", expected1), ("observed2", observed2),
             ("expected2", expected2))}
    check_lengths(**arrs)
    with np.errstate(invalid="ignore"):
        raise_problems([RuleViolation(name, "> 0", x <= 0, {name: x}) for name, x in arrs.items()])
    # observed events are counts (the one count rule); expected events are not
    raise_problems([RuleViolation(a, r, mk, sh) for a, r, mk, sh in
                    count_violations({"observed1": arrs["observed1"], "observed2": arrs["observed2"]})])
    o1, e1, o2, e2 = arrs.values()
    return result_frame(np.log(o1 / e1) - np.log(o2 / e2), 1 / e1 + 1 / e2, "HR")


# --- DataFrame entry point ---------------------------------------------------------------------

HR_COLUMNS: dict[str, str | None] = {
    "hr": "hr",
    "ci_low": "ci_low",
    "ci_high": "ci_high",
    "ci_level": "ci_level",
    "p_value": "p_value",
    "n_experimental": "n_experimental",
    "n_control": "n_control",
    "p_sided": "p_sided",
}


def from_hazard_ratios(
    frame: pd.DataFrame,
    *,
    columns: Mapping[str, str | None] | None = None,
    level: float = 95,
    prefer: str = "ci",
    bounds: str = "both",
    check: bool = True,
    check_tol: float = CHECK_TOL,
    on_invalid: str = "raise",
) -> pd.DataFrame:
    """Add ln HR effect sizes to a frame (a curated ``hazard_ratios`` table or your own).

    Each row uses its CI if both bounds are given (at the row's ``ci_level``), else its p-value;
    ``prefer="p"`` reverses the order.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per comparison.
    columns : mapping, optional
        Column names, overriding the defaults ``hr``, ``ci_low``, ``ci_high``, ``ci_level``,
        ``p_value``, ``p_sided``, ``n_experimental``, ``n_control`` (keys and default names are
        equal). Any but ``hr`` may be absent; without ``p_sided`` p-values are taken as two-sided.
    level : float, default 95
        CI level (percent) for rows whose ``ci_level`` is missing; such rows are flagged in
        ``ci_level_assumed``.
    prefer : {"ci", "p"}, default "ci"
        Which source to use when a row has both (metafor ``conv.wald`` prefers the CI).
    bounds, check, check_tol
        As in :func:`hr_from_ci`.
    on_invalid : {"raise", "exclude"}, default "raise"
        Impossible values (HR <= 0, reversed CI, CI not containing the HR, p outside (0, 1],
        unreadable p-value) raise ``ValueError`` naming the column and rows, or are kept as
        excluded rows.

    Returns
    -------
    pandas.DataFrame
        A copy of ``frame`` with ``yi`` (ln HR), ``vi``, ``measure`` ("HR"), ``se_source``
        ("ci", "ci lower bound", "ci upper bound", "p-value", "p-value bound" or None),
        ``ci_level_used``, ``ci_level_assumed``, ``ci_asymmetry``, ``ci_asymmetric``,
        ``p_bound``, ``p_doubled`` (a one-sided p-value, ``p_sided == 1``, doubled to the
        two-sided value before use), ``ni`` (n_experimental + n_control) and ``exclusion_reason``.
        Rows that cannot be converted stay, with ``yi``/``vi`` NaN and the reason; an
        :class:`ExclusionWarning` lists them.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"hr": [0.73, 0.59, 0.80], "ci_low": [0.59, None, None],
    ...                    "ci_high": [0.89, None, None], "ci_level": [96, None, None],
    ...                    "p_value": ["0.002", "<0.001", None]})
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     out = from_hazard_ratios(df)
    >>> out[["yi", "vi", "se_source"]].round(5)
            yi       vi      se_source
    0 -0.31471  0.01002             ci
    1 -0.52763  0.02571  p-value bound
    2      NaN      NaN            NaN
    >>> out.loc[2, "exclusion_reason"]
    'no CI (both bounds) and no usable p-value to give the SE'
    """
    frame = check_frame(frame)
    b = check_choice("bounds", bounds, BOUNDS_CHOICES)
    prefer = check_choice("prefer", prefer, ("ci", "p"))
    on_invalid = check_choice("on_invalid", on_invalid, ON_INVALID_CHOICES)
    cols = resolve_columns(HR_COLUMNS, columns)
    default_level = level_array(level, 1)[0]
    k = len(frame)
    labels = row_labels(frame)
    colnames = {key: str(v) for key, v in cols.items()}
    colnames = {**colnames, **{v: v for v in colnames.values()}}
    h = column(frame, cols, "hr", required=True)
    lo = column(frame, cols, "ci_low", required=False)
    up = column(frame, cols, "ci_high", required=False)
    lvl = column(frame, cols, "ci_level", required=False)
    n1 = column(frame, cols, "n_experimental", required=False)
    n2 = column(frame, cols, "n_control", required=False)
    excl = Exclusions(k)

    # p-values: parse row by row so that an unreadable one names its row
    pcol = cols.get("p_value")
    pv = np.full(k, np.nan)
    rel: list[str | None] = [None] * k
    if pcol is not None and pcol in frame.columns:
        unreadable = np.zeros(k, dtype=bool)
        for i, t in enumerate(frame[pcol].tolist()):
            try:
                parsed = parse_p_value(t)
            except ValueError:
                unreadable[i] = True
                continue
            pv[i], rel[i] = parsed.value, parsed.relation
        handle_problems([RuleViolation("p_value", "a readable p-value in (0, 1] (e.g. '0.02', '<0.001')",
                                 unreadable)], excl, on_invalid, labels, colnames)
    # one-sided p-values (KEYNOTE-240 prints them) are doubled to the two-sided value the
    # SE formula needs; this assumes the one-sided test is in the direction of the observed HR
    one_sided = np.zeros(k, dtype=bool)
    scol = cols.get("p_sided")
    if scol is not None and scol in frame.columns:
        sided = pd.to_numeric(frame[scol], errors="coerce").to_numpy(dtype=float)
        bad_sided = ~np.isnan(sided) & ~np.isin(sided, (1.0, 2.0))
        handle_problems([RuleViolation("p_sided", "1 or 2 (one- or two-sided)", bad_sided, {"p_sided": sided})],
                        excl, on_invalid, labels, colnames)
        one_sided = sided == 1.0
        pv = np.where(one_sided, np.minimum(2.0 * pv, 1.0), pv)

    excl.add(np.isnan(h), f"{cols['hr']} missing")
    has_ci = ~np.isnan(lo) & ~np.isnan(up)
    has_p = ~np.isnan(pv) & np.array([r in ("=", "<") for r in rel], dtype=bool)
    use_ci = has_ci & (~has_p if prefer == "p" else np.ones(k, dtype=bool))
    use_p = has_p & ~use_ci
    lower_bound_p = np.array([r == ">" for r in rel], dtype=bool) & ~use_ci
    excl.add(~np.isnan(h) & ~use_ci & ~use_p & lower_bound_p,
             f"{cols['p_value']} is a lower bound ('>'), which gives no usable SE, and there is no CI")
    excl.add(~np.isnan(h) & ~use_ci & ~use_p & ~lower_bound_p,
             "no CI (both bounds) and no usable p-value to give the SE")

    assumed = use_ci & np.isnan(lvl)
    lvl_pct, lvl_bad = level_column_percent(lvl)
    lvl_used = np.where(use_ci, np.where(np.isnan(lvl), default_level * 100, np.where(lvl_bad, lvl, lvl_pct)), np.nan)
    with np.errstate(invalid="ignore"):
        bad_level = use_ci & ~((lvl_used > 0) & (lvl_used < 100))
    bad_level = bad_level | (use_ci & lvl_bad)
    problems = [RuleViolation("ci_level", LEVEL_COLUMN_RULE, bad_level, {"ci_level": lvl_used})]
    nan_ci = np.where(use_ci, 1.0, np.nan)
    problems += _ci_problems(h * nan_ci, lo * nan_ci, up * nan_ci, b, (colnames["hr"], colnames["ci_low"], colnames["ci_high"]))
    nan_p = np.where(use_p, 1.0, np.nan)
    problems += _p_problems(h * nan_p, pv * nan_p, [r if u else None for r, u in zip(rel, use_p)],
                            colnames["hr"], colnames["p_value"])
    handle_problems(problems, excl, on_invalid, labels, colnames)
    ok = ~excl.mask
    from ._common import z_crit

    yi = np.where(ok, np.log(np.where(h > 0, h, np.nan)), np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = z_crit(np.where(use_ci & ok & ~bad_level, lvl_used, np.nan) / 100.0)
        vi_ci, asym = _ci_core(yi, np.log(np.where(lo > 0, lo, np.nan)),
                               np.log(np.where(up > 0, up, np.nan)), z, b)
        vi_p = _p_core(yi, np.where(use_p & ok, pv, np.nan))
    use_ci &= ok
    use_p &= ok
    vi = np.where(use_ci, vi_ci, np.where(use_p, vi_p, np.nan))
    asym = np.where(use_ci, asym, np.nan)
    flag = asym > check_tol
    if check_flag("check", check) and flag.any():
        _warn_asymmetric(flag, f"rows {[labels[i] for i in np.flatnonzero(flag)][:10]}", b, check_tol)
    bound = np.array([r == "<" for r in rel], dtype=bool) & use_p
    ci_src = {"both": "ci", "lower": "ci lower bound", "upper": "ci upper bound"}[b]
    src = np.full(k, None, dtype=object)
    src[use_p] = "p-value"
    src[use_p & bound] = "p-value bound"
    src[use_ci] = ci_src
    excl.add(use_p & np.isnan(vi), "vi undefined from the p-value (p = 1 or hr = 1)")
    res = result_frame(
        yi, vi, "HR",
        se_source=pd.Series(src, dtype=object).to_numpy(),
        ci_level_used=lvl_used,
        ci_level_assumed=assumed,
        ci_asymmetry=asym,
        ci_asymmetric=flag,
        p_bound=bound,
        p_doubled=one_sided & use_p,
        ni=n1 + n2,
    )
    return finish_frame(frame, res, excl, "HR", "from_hazard_ratios")
