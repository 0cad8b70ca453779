"""Forest plots (metafor ``forest.rma``, RevMan 5 and JAMA layouts).

The figure is laid out in inches: each row has a fixed height from the font size, text columns
are as wide as their widest cell (measured with the font, not guessed), and the figure grows with
the number of rows, so that k = 3 and k = 150 are both legible and nothing is clipped on save.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any, cast

import numpy as np
from numpy.typing import NDArray

from .._checks import check_choice
from ._result import (
    back_pooled,
    back_study,
    check_result,
    fget,
    is_common,
    level_of,
    measure_of,
    model_word,
    study_ci,
)
from ._scale import Scale, choose_limits, get_scale, refline_value, tick_labels
from ._style import Layout, fmt_level, fmt_num, fmt_p, fmt_tau2, get_layout, new_figure, plot_style, text_width

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["forest", "forest_plot", "SORT_BY"]

SORT_BY = ("given", "estimate", "weight", "year")

FloatArray = NDArray[np.float64]

_LAYOUT_FIELDS = {f.name for f in fields(Layout)} - {"name", "extra"}

# spacing, in inches
_MARGIN = 0.1
_COL_GAP = 0.14
_PANEL_GAP = 0.16


# -----------------------------------------------------------------------------------------------
# input normalisation
# -----------------------------------------------------------------------------------------------


@dataclass
class _Group:
    name: str | None
    results: list[Any]
    yi: FloatArray
    vi: FloatArray
    ni: FloatArray | None
    labels: list[str]
    start: int  # position of its first study in the concatenated study order

    @property
    def k(self) -> int:
        return int(self.yi.size)


def _as_list(res: Any) -> list[Any]:
    if isinstance(res, (list, tuple)):
        if len(res) == 0:
            raise ValueError("result is an empty list; pass at least one pooled result")
        return list(res)
    return [res]


def _make_group(name: str | None, res: Any, start: int, argname: str) -> _Group:
    results = _as_list(res)
    first = check_result(results[0], argname)
    for j, r in enumerate(results[1:], start=1):
        other = check_result(r, f"{argname}[{j}]")
        if other.k != first.k or not np.allclose(other.yi, first.yi, equal_nan=True):
            raise ValueError(
                f"{argname}[{j}] pools different studies from {argname}[0]; a list of results must "
                "be models of the same studies (e.g. random and common effect)"
            )
    return _Group(name, results, first.yi, first.vi, first.ni, first.labels, start)


def _columns_from(arg: Any, argname: str, k: int) -> dict[str, list[str]]:
    """Normalise a dict of sequences or a DataFrame to {header: [str] * k}."""
    if arg is None:
        return {}
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover
        pd = None  # type: ignore[assignment]
    if pd is not None and isinstance(arg, pd.DataFrame):
        items = [(str(c), list(arg[c])) for c in arg.columns]
    elif isinstance(arg, Mapping):
        items = [(str(c), list(v) if not isinstance(v, str) else [v]) for c, v in arg.items()]
    else:
        raise ValueError(
            f"{argname} must be a dict {{column header: values}} or a pandas DataFrame; got "
            f"{type(arg).__name__}"
        )
    out: dict[str, list[str]] = {}
    for name, vals in items:
        if len(vals) != k:
            raise ValueError(f"{argname}[{name!r}] has {len(vals)} entries but there are {k} studies")
        out[name] = [_cell(v) for v in vals]
    return out


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and math.isnan(v):
        return ""
    try:
        import pandas as pd

        if v is pd.NA or v is pd.NaT:
            return ""
    except ImportError:  # pragma: no cover
        pass
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


# -----------------------------------------------------------------------------------------------
# rows and columns
# -----------------------------------------------------------------------------------------------


@dataclass
class _Row:
    kind: str  # header | heading | study | pooled | pi | text | spacer
    rid: str
    label: str = ""
    cells: dict[str, str] = field(default_factory=dict)
    bold: bool = False
    height: float = 1.0
    y: float = 0.0
    # plotted (natural-scale x factor) values
    est: float = math.nan
    lo: float = math.nan
    hi: float = math.nan
    weight: float = math.nan
    common: bool = False
    small: bool = False


@dataclass
class _Column:
    key: str
    header: str
    align: str  # left | right | center
    side: str  # left | right
    width: float = 0.0
    x: float = 0.0  # anchor, inches from the panel's left (side left) or right (side right) edge


def _fmt_ci(layout: Layout, est: float, lo: float, hi: float, digits: int, with_est: bool = True) -> str:
    e, a, b = (fmt_num(v, digits) for v in (est, lo, hi))
    fmt = layout.ci_format
    if not with_est:  # an interval only, e.g. the prediction interval
        fmt = fmt[fmt.index("{lo}") - 1 :].replace("{hi}", "{hi}")
    if layout.ci_sep_negative != ", " and (lo < 0 or hi < 0):
        fmt = fmt.replace("{lo}-{hi}", "{lo}" + layout.ci_sep_negative + "{hi}")
    return fmt.format(est=e, lo=a, hi=b)


def _het_text(layout: Layout, res: Any, k: int) -> str:
    if k < 2:  # one study: heterogeneity is undefined, say so instead of printing NA fields
        return f"Heterogeneity: not applicable (k = {k})"
    i2, i2l, i2h = fget(res, "i2"), fget(res, "i2_ci_low"), fget(res, "i2_ci_high")
    tau2, q, qdf, qp = fget(res, "tau2"), fget(res, "q"), fget(res, "q_df"), fget(res, "q_pvalue")
    df_s = "NA" if not np.isfinite(qdf) else f"{int(round(qdf))}"
    have_ci = np.isfinite(i2l) and np.isfinite(i2h)
    style = layout.het_style
    p = fmt_p(qp, layout.p_style)
    i2_s = fmt_num(i2, 0)
    if style == "revman":
        ci = f" [{fmt_num(i2l, 0)}%, {fmt_num(i2h, 0)}%]" if have_ci else ""
        return (
            f"Heterogeneity (k = {k}): Tau\u00b2 = {fmt_tau2(tau2)}; Chi\u00b2 = {fmt_num(q, 2)}, "
            f"df = {df_s} ({p}); I\u00b2 = {i2_s}%{ci}"
        )
    if style == "jama":
        ci = f" ({fmt_level(level_of(res))}% CI, {fmt_num(i2l, 0)}%-{fmt_num(i2h, 0)}%)" if have_ci else ""
        return (
            f"Heterogeneity (k = {k}): I\u00b2 = {i2_s}%{ci}; \u03c4\u00b2 = {fmt_tau2(tau2)}; "
            f"Q = {fmt_num(q, 2)}, df = {df_s}, {p}"
        )
    ci = f" [{fmt_num(i2l, 0)}%, {fmt_num(i2h, 0)}%]" if have_ci else ""
    return (
        f"Heterogeneity (k = {k}): I\u00b2 = {i2_s}%{ci}, \u03c4\u00b2 = {fmt_tau2(tau2)}, "
        f"Q = {fmt_num(q, 2)}, df = {df_s}, {p}"
    )


def _overall_test_text(layout: Layout, res: Any) -> str:
    stat, p = fget(res, "statistic"), fget(res, "pvalue")
    name = "Z" if str(getattr(res, "ci_method", "z")).lower() == "z" else "t"
    if layout.p_style == "default":
        name = name.lower()
    return f"Test for overall effect: {name} = {fmt_num(stat, 2)} ({fmt_p(p, layout.p_style)})"


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
                "subgroup_test must be (Q_between, df, p), a dict with keys q, df, p, or an object "
                f"with attributes q, q_df, q_pvalue; got {type(arg).__name__}"
            )
    try:
        q, df, p = (float(v) for v in vals)
    except (TypeError, ValueError):
        raise ValueError(f"subgroup_test values must be numbers; got {vals!r}") from None
    return q, df, p


def _subgroup_text(layout: Layout, q: float, df: float, p: float) -> str:
    ps = fmt_p(p, layout.p_style)
    df_s = f"{int(round(df))}" if np.isfinite(df) else "NA"
    if layout.het_style == "revman":
        i2 = max(0.0, (q - df) / q) * 100 if q > 0 else 0.0
        return f"Test for subgroup differences: Chi\u00b2 = {fmt_num(q, 2)}, df = {df_s} ({ps}), I\u00b2 = {fmt_num(i2, 0)}%"
    return f"Test for subgroup differences: Q = {fmt_num(q, 2)}, df = {df_s}, {ps}"


# -----------------------------------------------------------------------------------------------
# the public function
# -----------------------------------------------------------------------------------------------


def forest(
    result: Any,
    *,
    labels: Sequence[Any] | None = None,
    left_columns: Mapping[str, Sequence[Any]] | Any | None = None,
    right_columns: Mapping[str, Sequence[Any]] | Any | None = None,
    overall: Any | None = None,
    subgroup_test: Any | None = None,
    layout: str | Layout = "default",
    sort_by: str | None = None,
    year: Sequence[Any] | None = None,
    descending: bool = False,
    scale: str | None = None,
    xlim: tuple[float, float] | None = None,
    xticks: Sequence[float] | None = None,
    refline: float | str | None = "null",
    xlabel: str | None = None,
    favours: tuple[str, str] | bool | None = True,
    effect_label: str | None = None,
    digits: int | None = None,
    show_weights: bool = True,
    show_estimates: bool = True,
    show_pi: bool = True,
    show_heterogeneity: bool = True,
    show_overall_test: bool | None = None,
    show_excluded: bool = True,
    ax: Axes | None = None,
    **kwargs: Any,
) -> Figure:
    """Forest plot of a pooled result: one row per study, pooled diamond(s), heterogeneity.

    Parameters
    ----------
    result : PoolResult, list of PoolResult, or mapping of str to either
        What :func:`metaoutcome.pool` returns. A list draws one diamond per model of the same
        studies (e.g. random and common effect). A mapping ``{subgroup name: result}`` draws one
        block per subgroup (heading, studies, diamond, k and heterogeneity line); studies are
        taken in the mapping's order. Only the attribute names of ``PoolResult`` are used.
    labels : sequence of str, optional
        Study labels (default ``result.labels``), one per study (all subgroups, in order).
    left_columns, right_columns : dict of str to sequence, or DataFrame, optional
        Extra text columns (header -> one value per study) left of the graph (after the study
        label) and right of it (after the estimate and weight). E.g. regimen, events/n, n.
    overall : PoolResult or list of PoolResult, optional
        With subgroups: the result over all studies, drawn as an overall diamond. When its
        studies are the subgroups' studies in order, its weights are printed per study.
    subgroup_test : (Q_between, df, p) or dict or object, optional
        The test for subgroup differences, printed under the overall diamond.
    layout : {"default", "revman", "jama"} or Layout, default "default"
        ``"default"``: metafor-like, graph in the middle, estimate [CI] and weight right.
        ``"revman"``: Cochrane RevMan 5, all text left of the graph, "Total (95% CI)",
        "Test for overall effect". ``"jama"``: JAMA style, estimate (CI) left, weight right,
        "Favors", ``P = .03``.
    sort_by : {"given", "estimate", "weight", "year"}, optional
        Order of the studies within each block; "year" needs ``year=`` or a column named "year"
        in ``left_columns``/``right_columns``. Default as given.
    year : sequence, optional
        Publication year per study, for ``sort_by="year"``.
    descending : bool, default False
        Reverse the sort.
    scale : {"log", "linear", "percent"}, optional
        Axis of the natural scale; default from the measure (log for HR/OR/RR, percent for
        proportions, linear otherwise). The log axis needs positive values.
    xlim : (float, float), optional
        Axis limits on the plotted scale (percent for proportions); whiskers that leave them end
        in an arrow. Default: readable ticks around the estimates and pooled intervals.
    xticks : sequence of float, optional
        Tick positions on the plotted scale.
    refline : float, None or "null", default "null"
        Reference line; "null" puts it at the measure's null (1 for ratios; none for single-arm
        proportions and medians), None draws none.
    xlabel : str, optional
        Axis label (default the measure's axis label; RevMan layout: none).
    favours : (str, str), bool, default True
        Texts under the axis left and right of the null line, e.g. ``("nivolumab", "docetaxel")``
        (prefixed with "Favours"/"Favors" unless they start with it). True gives "Favours
        experimental" / "Favours control"; False hides them. Shown only where there is a null.
    effect_label : str, optional
        The effect's name in column headers (default the measure's axis label).
    digits : int, optional
        Decimals of estimates (default 2 for ratios, 1 for percent and months).
    show_weights, show_estimates, show_pi, show_heterogeneity : bool, default True
        Whether to print the weight and estimate columns, draw the prediction interval (random
        effects, k >= 3) and print the heterogeneity line.
    show_overall_test : bool, optional
        Print the test for the overall effect (default: RevMan layout only).
    show_excluded : bool, default True
        List rows the result excluded from pooling (``result.excluded``) in a footnote.
    ax : matplotlib Axes, optional
        Draw the graph into this Axes; the text columns are placed beside it (leave room, or save
        with ``bbox_inches="tight"``). By default a new Figure is created with a size computed from
        the rows and columns; pyplot's current figure is never touched.
    **kwargs
        Overrides of the layout's fields: ``fontsize``, ``fontfamily``, ``plot_width`` (inches),
        ``row_spacing``, ``square_color``, ``ci_color``, ``diamond_color``, ``pi_color``,
        ``null_color``, ``study_header``, ``weight_header``, ``ci_format``, ...

    Returns
    -------
    matplotlib.figure.Figure
        The figure; ``fig.axes[0]`` is the graph when the figure was created here.

    Raises
    ------
    ValueError
        On an empty result, labels or columns whose length differs from the number of studies,
        an unknown ``layout``, ``scale`` or ``sort_by``, a non-positive ``xlim``, ``xticks`` or
        ``refline`` on a log axis, or pooled values that a log axis cannot show.

    Notes
    -----
    Per-study intervals are Wald intervals ``y_i +/- z sqrt(v_i)`` at the pooled result's level,
    whatever level the studies reported theirs at, back-transformed with the measure; pooled
    values are back-transformed from the result (PFT with the harmonic mean of ``ni``). Square
    areas are proportional to the weights. An interval that cannot be drawn (NaN, infinite, or
    not positive on a log axis) is printed as NA with a note in its row.

    Examples
    --------
    >>> import numpy as np, metaoutcome as mo
    >>> from metaoutcome.plotting import forest
    >>> res = mo.pool(np.log([0.73, 0.59, 0.70]), [0.0101, 0.0166, 0.0089], measure="HR",
    ...               labels=["CheckMate 017", "CheckMate 057", "OAK"])
    >>> fig = forest(res, layout="jama", favours=("immunotherapy", "docetaxel"))
    >>> [t.get_text() for t in fig.axes[0].texts if t.get_gid() == "label|study-2"]
    ['OAK']
    """
    bad = sorted(set(kwargs) - _LAYOUT_FIELDS)
    if bad:
        raise TypeError(
            f"forest() got unexpected keyword argument(s) {', '.join(map(repr, bad))}; layout options are: "
            f"{', '.join(sorted(_LAYOUT_FIELDS))}"
        )
    lay = get_layout(layout, **kwargs)
    sort_key = "given" if sort_by is None else check_choice("sort_by", sort_by, SORT_BY)

    # -- groups ---------------------------------------------------------------------------------
    groups: list[_Group] = []
    subgrouped = isinstance(result, Mapping)
    if subgrouped:
        if len(result) == 0:
            raise ValueError("result is an empty mapping; pass {subgroup name: pooled result}")
        start = 0
        for name, r in result.items():
            g = _make_group(str(name), r, start, f"result[{name!r}]")
            groups.append(g)
            start += g.k
    else:
        if overall is not None:
            raise ValueError("overall is only used with subgroups (result given as {name: result})")
        if subgroup_test is not None:
            raise ValueError("subgroup_test is only used with subgroups (result given as {name: result})")
        groups.append(_make_group(None, result, 0, "result"))
    n_models = len(groups[0].results)
    for g in groups[1:]:
        if len(g.results) != n_models:
            raise ValueError(
                f"every subgroup must hold the same number of results; {g.name!r} has {len(g.results)}, "
                f"{groups[0].name!r} has {n_models}"
            )
    overall_list = _as_list(overall) if overall is not None else []
    if overall_list:
        for j, r in enumerate(overall_list):
            check_result(r, f"overall[{j}]" if len(overall_list) > 1 else "overall")

    all_results = [r for g in groups for r in g.results] + overall_list
    measure = measure_of(all_results[0])
    for r in all_results[1:]:
        if measure_of(r).name != measure.name:
            raise ValueError(
                f"all results must use one measure; found {measure.name!r} and {measure_of(r).name!r}"
            )
    level = level_of(all_results[0])
    for r in all_results[1:]:
        if abs(level_of(r) - level) > 1e-9:
            raise ValueError(f"all results must use one level; found {level:g} and {level_of(r):g}")
    sc = get_scale(scale, measure)
    k_total = sum(g.k for g in groups)

    # -- labels and text columns ----------------------------------------------------------------
    study_labels = [lab for g in groups for lab in g.labels]
    if labels is not None:
        if isinstance(labels, str) or len(labels) != k_total:
            n = 1 if isinstance(labels, str) else len(labels)
            raise ValueError(f"labels has {n} entries but there are {k_total} studies")
        study_labels = [_cell(v) for v in labels]
    lcols = _columns_from(left_columns, "left_columns", k_total)
    rcols = _columns_from(right_columns, "right_columns", k_total)
    years: list[float] | None = None
    if year is not None:
        if isinstance(year, str) or len(year) != k_total:
            raise ValueError(f"year has {1 if isinstance(year, str) else len(year)} entries but there are {k_total} studies")
        years = [_to_float(v) for v in year]
    elif sort_key == "year":
        for cols in (lcols, rcols):
            for name, vals in cols.items():
                if name.strip().lower() == "year":
                    years = [_to_float(v) for v in vals]
        if years is None:
            raise ValueError('sort_by="year" needs year= or a column named "year" in left_columns/right_columns')

    # -- numbers on the plotted scale -------------------------------------------------------------
    yi_all = np.concatenate([g.yi for g in groups])
    vi_all = np.concatenate([g.vi for g in groups])
    lo_a, hi_a = study_ci(yi_all, vi_all, level)
    ni_all: FloatArray | None = None
    if measure.needs_ni:
        parts = [g.ni for g in groups]
        if any(p is None for p in parts):
            raise ValueError(f"measure {measure.name!r} needs ni to back-transform; the result has no ni")
        ni_all = np.concatenate([p for p in parts if p is not None])
    s_est = sc.to_plot(back_study(measure, yi_all, ni_all))
    s_lo = sc.to_plot(back_study(measure, lo_a, ni_all))
    s_hi = sc.to_plot(back_study(measure, hi_a, ni_all))
    # PFT and other non-monotone edge cases: keep lo <= hi
    swap = np.isfinite(s_lo) & np.isfinite(s_hi) & (s_lo > s_hi)
    s_lo, s_hi = np.where(swap, s_hi, s_lo), np.where(swap, s_lo, s_hi)

    def pooled_vals(r: Any) -> tuple[float, float, float, float, float]:
        ni = getattr(r, "ni", None)
        y = np.array([fget(r, "estimate"), fget(r, "ci_low"), fget(r, "ci_high"), fget(r, "pi_low"), fget(r, "pi_high")])
        v = sc.to_plot(back_pooled(measure, y, None if ni is None else np.asarray(ni, dtype=float)))
        lo, hi = sorted(v[1:3]) if np.isfinite(v[1:3]).all() else (v[1], v[2])
        plo, phi = sorted(v[3:5]) if np.isfinite(v[3:5]).all() else (v[3], v[4])
        return float(v[0]), float(lo), float(hi), float(plo), float(phi)

    pooled_cache = {id(r): pooled_vals(r) for r in all_results}
    if sc.log:
        if measure.null is not None and measure.null <= 0:
            raise ValueError(
                f"scale='log' cannot show measure {measure.name!r}: its null value {measure.null:g} is not "
                "positive; use scale='linear'"
            )
        for r in all_results:
            e, lo, hi, _, _ = pooled_cache[id(r)]
            if not (e > 0 and lo > 0 and hi > 0):
                raise ValueError(
                    f"scale='log' needs positive values, but a pooled estimate/CI of measure {measure.name!r} "
                    f"is ({fmt_num(e, 3)}, {fmt_num(lo, 3)}, {fmt_num(hi, 3)}); use scale='linear'"
                )

    # -- weights ----------------------------------------------------------------------------------
    use_overall_w = bool(overall_list) and len(overall_list) == n_models and all(
        np.asarray(r.yi, dtype=float).size == k_total and np.allclose(np.asarray(r.yi, dtype=float), yi_all, equal_nan=True)
        for r in overall_list
    )
    w_cols: list[FloatArray] = []
    for j in range(n_models):
        if use_overall_w:
            w = np.asarray(getattr(overall_list[j], "weights", np.full(k_total, np.nan)), dtype=float)
        else:
            w = np.concatenate(
                [np.asarray(getattr(g.results[j], "weights", np.full(g.k, np.nan)), dtype=float) for g in groups]
            )
        if w.size != k_total:
            w = np.full(k_total, np.nan)
        w_cols.append(w)

    # -- order within each block --------------------------------------------------------------------
    orders: list[list[int]] = []
    for g in groups:
        idx = list(range(g.start, g.start + g.k))
        if sort_key != "given":
            if sort_key == "estimate":
                key = yi_all
            elif sort_key == "weight":
                key = w_cols[0]
            else:
                assert years is not None
                key = np.asarray(years, dtype=float)
            # stable, NaN last
            idx = sorted(idx, key=lambda i: (not np.isfinite(key[i]), key[i] if np.isfinite(key[i]) else 0.0))
            if descending:
                fin = [i for i in idx if np.isfinite(key[i])]
                idx = fin[::-1] + [i for i in idx if not np.isfinite(key[i])]
        elif descending:
            idx = idx[::-1]
        orders.append(idx)

    # -- texts ----------------------------------------------------------------------------------------
    dig = digits if digits is not None else (1 if (sc.name == "percent" or measure.kind == "median") else 2)
    if not isinstance(dig, (int, np.integer)) or dig < 0:
        raise ValueError(f"digits={digits!r} must be a whole number >= 0")
    lv = fmt_level(level)
    elabel = effect_label or measure.axis_label
    model0 = model_word(groups[0].results[0])
    model_short = model0.split(", ")[-1]
    est_header = lay.estimate_header.format(label=elabel, level=lv, model=model_short)
    plot_header = lay.plot_header.format(label=elabel, level=lv, model=model_short)
    show_test = lay.show_overall_test if show_overall_test is None else bool(show_overall_test)
    if measure.null is None:  # a test against 0 on the logit/log scale means nothing to a reader
        show_test = False

    def pooled_label(r: Any, sub: bool) -> str:
        common = is_common(r)
        if sub:
            tpl = lay.subtotal_common_label if common else lay.subtotal_random_label
        else:
            tpl = lay.common_label if common else lay.random_label
        text = tpl.format(level=lv)
        if n_models > 1 and tpl.startswith(("Total", "Subtotal")):
            text += " (common)" if common else " (random)"
        return text

    rows: list[_Row] = []
    for gi, g in enumerate(groups):
        if subgrouped:
            rows.append(_Row("heading", f"heading-{gi}", label=str(g.name), bold=True))
        for i in orders[gi]:
            row = _Row("study", f"study-{i}", label=study_labels[i], est=s_est[i], lo=s_lo[i], hi=s_hi[i])
            row.weight = float(w_cols[0][i])
            for name, vals in lcols.items():
                row.cells[f"L:{name}"] = vals[i]
            for name, vals in rcols.items():
                row.cells[f"R:{name}"] = vals[i]
            if np.isfinite(s_est[i]):
                row.cells["estimate"] = _fmt_ci(lay, s_est[i], s_lo[i], s_hi[i], dig)
            else:
                row.cells["estimate"] = "Not estimable"
            for j in range(n_models):
                row.cells[f"weight{j}"] = fmt_num(w_cols[j][i], 1) + ("%" if lay.name != "jama" else "")
            rows.append(row)
            msg = _study_note(sc, s_est[i], s_lo[i], s_hi[i])
            if msg:
                rows.append(_Row("note", f"note-study-{i}", label=f"\u21b3 {msg}", small=True, height=0.8))
        is_sub = subgrouped
        block_rows = _pooled_block(
            lay, g.results, f"{gi}", g.k, pooled_cache, dig, is_sub, pooled_label, show_pi, show_heterogeneity,
            show_test and not subgrouped, w_cols, list(range(g.start, g.start + g.k)) if use_overall_w else None,
        )
        rows.extend(block_rows)
        if subgrouped:
            rows.append(_Row("spacer", f"spacer-{gi}", height=0.5))
    if overall_list:
        rows.extend(
            _pooled_block(
                lay, overall_list, "overall", k_total, pooled_cache, dig, False, pooled_label, show_pi,
                show_heterogeneity, show_test, w_cols, None,
            )
        )
    if subgroup_test is not None:
        q, df, p = _subgroup_test(subgroup_test)
        rows.append(_Row("text", "subgroup-test", label=_subgroup_text(lay, q, df, p), small=True))
    if show_excluded:
        excl = [e for r in all_results for e in (getattr(r, "excluded", ()) or ())]
        seen: set[tuple[str, str]] = set()
        for n, e in enumerate(excl):
            key2 = (str(getattr(e, "label", "")), str(getattr(e, "reason", "")))
            if key2 in seen:
                continue
            seen.add(key2)
            rows.append(_Row("text", f"excluded-{n}", label=f"Not pooled: {key2[0]} ({key2[1]})", small=True))

    # -- columns ----------------------------------------------------------------------------------------
    auto: list[_Column] = []
    est_col = _Column("estimate", est_header, "right", lay.estimate_side)
    w_colsdef = [
        _Column(
            f"weight{j}",
            lay.weight_header + ("" if n_models == 1 else ("\n(common)" if is_common(groups[0].results[j]) else "\n(random)")),
            "right",
            lay.weight_side,
        )
        for j in range(n_models)
    ]
    if not show_weights:
        w_colsdef = []
    if lay.weight_first:
        auto = [*w_colsdef, est_col] if show_estimates else w_colsdef
    else:
        auto = ([est_col] if show_estimates else []) + w_colsdef
    left: list[_Column] = [_Column("label", lay.study_header, "left", "left")]
    left += [_Column(f"L:{n}", n, "right" if _is_numeric_text(v) else "left", "left") for n, v in lcols.items()]
    left += [c for c in auto if c.side == "left"]
    right: list[_Column] = [c for c in auto if c.side == "right"]
    right += [_Column(f"R:{n}", n, "right" if _is_numeric_text(v) else "left", "right") for n, v in rcols.items()]

    fs = float(lay.fontsize)
    fam = lay.fontfamily
    small_fs = fs - 1.0

    def cell_width(text: str, bold: bool, small: bool = False) -> float:
        return text_width(text, small_fs if small else fs, "bold" if bold else "normal", fam)

    for col in left + right:
        cw = cell_width(col.header, True)
        for row in rows:
            if row.kind in ("text", "note"):
                continue
            text = row.label if col.key == "label" else row.cells.get(col.key, "")
            cw = max(cw, cell_width(text, row.bold or row.kind == "pooled"))
        col.width = cw
    # place: left columns end _PANEL_GAP before the panel; right columns start _PANEL_GAP after it
    x = -_PANEL_GAP
    for col in reversed(left):
        col.x = x - col.width if col.align == "left" else (x - col.width / 2 if col.align == "center" else x)
        x -= col.width + _COL_GAP
    left_w = -(x + _COL_GAP)
    x = _PANEL_GAP
    for col in right:
        col.x = x if col.align == "left" else (x + col.width / 2 if col.align == "center" else x + col.width)
        x += col.width + _COL_GAP
    right_w = x - _COL_GAP if right else 0.0
    label_x = -left_w  # where the label column and text rows start

    # -- vertical layout ------------------------------------------------------------------------------
    y = 0.0
    for row in rows:
        row.y = y + row.height / 2
        y += row.height
    n_units = y
    row_in = fs * lay.row_spacing / 72.0
    line_in = fs * 1.25 / 72.0
    header_lines = max([c.header.count("\n") + 1 for c in left + right] + [plot_header.count("\n") + 1 if plot_header else 0])
    top_in = header_lines * line_in + 0.12
    ref = refline_value(refline, measure, sc)
    fav = _favours(favours, lay, ref)
    xl = (measure.axis_label if lay.xlabel else None) if xlabel is None else xlabel
    bottom_in = (3.5 + 3.5 + fs * 1.25) / 72.0 + (fs * 1.3 + 3) / 72.0 * (1 if fav else 0) + (
        (fs * 1.3 + 4) / 72.0 if xl else 0
    ) + 0.06
    panel_w = float(lay.plot_width)
    panel_h = n_units * row_in
    text_rows_w = max([cell_width(r.label, False, r.small) + (0.12 if r.kind == "note" else 0.0) for r in rows if r.kind in ("text", "note")] + [0.0])
    content_w = left_w + panel_w + right_w
    extra_r = max(0.0, text_rows_w - content_w)
    fav_w = max(cell_width(t, False) for t in fav) if fav else 0.0
    extra_l = 0.0
    if fav:  # favours labels may be wider than their half of the panel
        extra_l = max(0.0, fav_w - panel_w / 2 - left_w)
        extra_r = max(extra_r, fav_w - panel_w / 2 - right_w)

    # -- limits --------------------------------------------------------------------------------------------
    core = list(s_est)
    for r in all_results:
        e, lo, hi, plo, phi = pooled_cache[id(r)]
        core += [e, lo, hi]
        if show_pi and not is_common(r):
            core += [plo, phi]
    if xlim is not None:
        lim, ticks = _check_xlim(xlim, sc), None
    else:
        lim, ticks = choose_limits(sc, core, np.concatenate([s_lo, s_hi]), measure.kind, ref)
    if xticks is not None:
        ticks = _check_ticks(xticks, sc)
    elif ticks is None:
        ticks = _ticks_in(lim, sc, measure.kind)

    # -- figure ------------------------------------------------------------------------------------------
    with plot_style():
        if ax is None:
            fig_w = _MARGIN + extra_l + left_w + panel_w + right_w + extra_r + _MARGIN
            fig_h = _MARGIN + top_in + panel_h + bottom_in + _MARGIN
            fig = new_figure(fig_w, fig_h)
            ax = fig.add_axes(
                (
                    (_MARGIN + extra_l + left_w) / fig_w,
                    (_MARGIN + bottom_in) / fig_h,
                    panel_w / fig_w,
                    panel_h / fig_h,
                )
            )
        else:
            from ._style import axes_fig

            fig = axes_fig(ax)
        _draw(
            ax, fig, lay, sc, rows, left, right, lim, ticks, ref, fav, xl, label_x, left_w, right_w,
            n_units, plot_header, fs, small_fs, fam, row_in,
        )
    return fig


forest_plot = forest


def _to_float(v: Any) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def _pooled_block(
    lay: Layout,
    results: list[Any],
    tag: str,
    k: int,
    cache: dict[int, tuple[float, float, float, float, float]],
    dig: int,
    sub: bool,
    pooled_label: Any,
    show_pi: bool,
    show_het: bool,
    show_test: bool,
    w_cols: list[FloatArray],
    idx: list[int] | None,
) -> list[_Row]:
    rows: list[_Row] = []
    rows.append(_Row("spacer", f"gap-{tag}", height=0.4))
    n = len(results)
    for j, r in enumerate(results):
        e, lo, hi, plo, phi = cache[id(r)]
        row = _Row("pooled", f"pooled-{tag}-{j}", label=pooled_label(r, sub), bold=True, est=e, lo=lo, hi=hi)
        row.common = is_common(r) and n > 1
        row.cells["estimate"] = _fmt_ci(lay, e, lo, hi, dig)
        for jj in range(len(w_cols)):
            if idx is not None:  # weights of the overall model
                tot = float(np.nansum(w_cols[jj][idx]))
                txt = fmt_num(tot, 1)
            else:
                txt = "100.0" if jj == j or n == 1 else ""
            row.cells[f"weight{jj}"] = (txt + ("%" if lay.name != "jama" else "")) if txt else ""
        rows.append(row)
    for j, r in enumerate(results):
        e, lo, hi, plo, phi = cache[id(r)]
        if show_pi and not is_common(r) and np.isfinite(plo) and np.isfinite(phi) and k >= 3:
            prow = _Row("pi", f"pi-{tag}-{j}", label=lay.pi_label, lo=plo, hi=phi, height=0.8)
            prow.cells["estimate"] = _fmt_ci(lay, math.nan, plo, phi, dig, with_est=False)
            rows.append(prow)
    if show_het:
        het_res = next((r for r in results if not is_common(r)), results[0])
        rows.append(_Row("text", f"het-{tag}", label=_het_text(lay, het_res, k), small=True, height=0.9))
    if show_test:
        for j, r in enumerate(results):
            text = _overall_test_text(lay, r)
            if n > 1:
                text += " (common)" if is_common(r) else " (random)"
            rows.append(_Row("text", f"test-{tag}-{j}", label=text, small=True, height=0.9))
    return rows


def _favours(favours: Any, lay: Layout, ref: float | None) -> tuple[str, str] | None:
    if ref is None or favours is None or favours is False:
        return None
    word = lay.favours_word
    if favours is True:
        pair: tuple[Any, ...] = ("experimental", "control")
    elif isinstance(favours, (tuple, list)) and len(favours) == 2:
        pair = tuple(favours)
    else:
        raise ValueError(f"favours={favours!r} must be (left text, right text), True or False")

    def fix(t: Any) -> str:
        s = str(t)
        return s if s.lower().startswith("favo") or not s else f"{word} {s}"

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
    from ._scale import linear_ticks, log_ticks

    a, b = lim
    if sc.log:
        t = log_ticks(a, b, kind)
    else:
        t = linear_ticks(a, b, percent=sc.name == "percent")
    inside = [v for v in t if a * (1 - 1e-9) <= v <= b * (1 + 1e-9)] if sc.log else [
        v for v in t if a - 1e-9 <= v <= b + 1e-9
    ]
    return inside or [a, b]


# -----------------------------------------------------------------------------------------------
# drawing
# -----------------------------------------------------------------------------------------------


def _draw(
    ax: Axes,
    fig: Figure,
    lay: Layout,
    sc: Scale,
    rows: list[_Row],
    left: list[_Column],
    right: list[_Column],
    lim: tuple[float, float],
    ticks: list[float],
    ref: float | None,
    fav: tuple[str, str] | None,
    xl: str | None,
    label_x: float,
    left_w: float,
    right_w: float,
    n_units: float,
    plot_header: str,
    fs: float,
    small_fs: float,
    fam: str,
    row_in: float,
) -> None:
    from matplotlib import transforms
    from matplotlib.patches import Polygon
    from matplotlib.ticker import FixedLocator, NullFormatter, NullLocator

    a, b = lim
    if sc.log:
        ax.set_xscale("log")
    ax.set_xlim(a, b)
    ax.set_ylim(n_units, 0.0)
    ax.set_autoscale_on(False)
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    ax.spines["bottom"].set_linewidth(0.8)
    ax.set_yticks([])
    ax.tick_params(axis="x", labelsize=fs, length=3.5, width=0.8, pad=3.5, direction="out")
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xticks(ticks, labels=tick_labels(ticks), fontfamily=fam, fontsize=fs)
    ax.set_facecolor("none")

    blend = transforms.blended_transform_factory(ax.transAxes, ax.transData)

    def tx(dx: float) -> transforms.Transform:
        return blend + transforms.ScaledTranslation(dx, 0.0, fig.dpi_scale_trans)

    def text(base: float, dx: float, y: float, s: str, gid: str, **kw: Any) -> None:
        kw.setdefault("fontsize", fs)
        kw.setdefault("fontfamily", fam)
        kw.setdefault("va", "center")
        ax.text(base, y, s, transform=tx(dx), clip_on=False, parse_math=False, gid=gid, **kw)

    # header
    header_y = -0.15
    for col in left:
        text(0.0, col.x, header_y, col.header, f"header|{col.key}", ha=col.align, va="bottom", fontweight="bold")
    for col in right:
        text(1.0, col.x, header_y, col.header, f"header|{col.key}", ha=col.align, va="bottom", fontweight="bold")
    if plot_header:
        ax.text(0.5, header_y, plot_header, transform=blend, ha="center", va="bottom", fontsize=fs,
                fontweight="bold", fontfamily=fam, clip_on=False, parse_math=False, gid="header|plot")
    if lay.header_rule:
        _rule(ax, fig, blend, 0.0, left_w, right_w)

    # reference line, broken at text-only rows
    if ref is not None and a <= ref <= b:
        runs: list[tuple[float, float]] = []
        cur: tuple[float, float] | None = None
        for row in rows:
            top, bot = row.y - row.height / 2, row.y + row.height / 2
            drawn = row.kind in ("study", "pooled", "pi", "heading", "spacer")
            if drawn:
                cur = (cur[0], bot) if cur else (top, bot)
            elif cur:
                runs.append(cur)
                cur = None
        if cur:
            runs.append(cur)
        # trim trailing spacer rows from each run
        for t0, t1 in runs:
            ax.vlines(ref, t0, t1, colors=lay.null_color, linestyles=cast(Any, lay.null_style), linewidth=0.8, zorder=1,
                      gid="refline")

    row_pt = row_in * 72.0
    studies = [r for r in rows if r.kind == "study"]
    wmax = np.nanmax([r.weight for r in studies]) if studies and np.isfinite([r.weight for r in studies]).any() else np.nan
    sq_x, sq_y, sq_s = [], [], []
    ci_segments: list[tuple[float, float, float]] = []
    arrows_l: list[tuple[float, float]] = []
    arrows_r: list[tuple[float, float]] = []
    max_side = 0.72 * row_pt
    min_side = max(2.5, 0.18 * row_pt)
    for row in studies:
        e_ok, l_ok, h_ok = (bool(sc.drawable(v)) for v in (row.est, row.lo, row.hi))
        if l_ok and h_ok:
            x0, x1 = max(row.lo, a), min(row.hi, b)
            if x0 < x1 or (x0 == x1 and a <= x0 <= b):
                ci_segments.append((row.y, x0, x1))
            if row.lo < a and row.hi > a:
                arrows_l.append((a, row.y))
            if row.hi > b and row.lo < b:
                arrows_r.append((b, row.y))
            if row.hi <= a:
                arrows_l.append((a, row.y))
            if row.lo >= b:
                arrows_r.append((b, row.y))
        if e_ok:
            if a <= row.est <= b:
                wt = row.weight
                sq = max_side * math.sqrt(wt / wmax) if np.isfinite(wt) and np.isfinite(wmax) and wmax > 0 else min_side
                sq = max(sq, min_side)
                sq_x.append(row.est)
                sq_y.append(row.y)
                sq_s.append(sq**2)
    if ci_segments:
        ax.hlines([s[0] for s in ci_segments], [s[1] for s in ci_segments], [s[2] for s in ci_segments],
                  colors=lay.ci_color, linewidth=0.9, zorder=2, gid="study-ci")
    if sq_x:
        ax.scatter(sq_x, sq_y, s=sq_s, marker="s", c=lay.square_color, edgecolors="none", zorder=3,
                   gid="study-squares", clip_on=True)
    arrow_size = max(3.0, 0.3 * row_pt) ** 2
    if arrows_l:
        ax.scatter([p[0] for p in arrows_l], [p[1] for p in arrows_l], s=arrow_size, marker="<",
                   c=lay.ci_color, edgecolors="none", zorder=3, clip_on=False, gid="arrows-left")
    if arrows_r:
        ax.scatter([p[0] for p in arrows_r], [p[1] for p in arrows_r], s=arrow_size, marker=">",
                   c=lay.ci_color, edgecolors="none", zorder=3, clip_on=False, gid="arrows-right")
    # pooled diamonds and prediction intervals
    half = 0.36
    for row in rows:
        if row.kind == "pooled":
            if all(sc.drawable(v) for v in (row.est, row.lo, row.hi)):
                poly = Polygon(
                    [(row.lo, row.y), (row.est, row.y - half), (row.hi, row.y), (row.est, row.y + half)],
                    closed=True, facecolor="white" if row.common else lay.diamond_color,
                    edgecolor=lay.diamond_edgecolor, linewidth=0.8, zorder=4, gid=f"diamond|{row.rid}",
                )
                ax.add_patch(poly)
            else:
                ax.text(0.02, row.y, "pooled CI not drawn: " + _why(row.lo if not sc.drawable(row.lo) else row.hi, sc),
                        transform=blend, ha="left", va="center", fontsize=small_fs, fontstyle="italic",
                        color="0.3", fontfamily=fam, parse_math=False, gid=f"note|{row.rid}")
        elif row.kind == "pi":
            if sc.drawable(row.lo) and sc.drawable(row.hi):
                ax.plot([max(row.lo, a), min(row.hi, b)], [row.y, row.y], color=lay.pi_color, linewidth=2.2,
                        solid_capstyle="butt", zorder=3, gid=f"pi|{row.rid}")
                ax.plot([row.lo, row.hi], [row.y, row.y], linestyle="none", marker="|", markersize=0.45 * row_pt,
                        markeredgewidth=1.0, color=lay.pi_color, zorder=3, gid=f"pi-ends|{row.rid}")

    # text cells
    for row in rows:
        if row.kind == "spacer":
            continue
        if row.kind == "text":
            text(0.0, label_x, row.y, row.label, f"text|{row.rid}", ha="left", fontsize=small_fs)
            continue
        if row.kind == "note":
            text(0.0, label_x + 0.12, row.y, row.label, f"note|{row.rid[5:]}", ha="left", fontsize=small_fs,
                 fontstyle="italic", color="0.3")
            continue
        weight = "bold" if (row.bold or row.kind == "pooled") else "normal"
        style = "italic" if row.kind == "pi" else "normal"
        for col in left:
            s = row.label if col.key == "label" else row.cells.get(col.key, "")
            if s:
                text(0.0, col.x, row.y, s, f"{col.key}|{row.rid}", ha=col.align, fontweight=weight, fontstyle=style)
        for col in right:
            s = row.cells.get(col.key, "")
            if s:
                text(1.0, col.x, row.y, s, f"{col.key}|{row.rid}", ha=col.align, fontweight=weight, fontstyle=style)
    if lay.bottom_rule:
        _rule(ax, fig, blend, n_units, left_w, right_w)

    # favours labels and axis label
    off = (3.5 + 3.5 + fs * 1.25 + 2.0)
    if fav is not None and ref is not None:
        base = transforms.blended_transform_factory(ax.transData, ax.transAxes)
        for s, ha, sign, gid in ((fav[0], "right", -1, "favours-left"), (fav[1], "left", 1, "favours-right")):
            ax.annotate(s, xy=(ref, 0.0), xycoords=base, xytext=(sign * 4.0, -off), textcoords="offset points",
                        ha=ha, va="top", fontsize=fs, fontfamily=fam, annotation_clip=False, gid=gid)
    if xl:
        pad = 3.0 + ((fs * 1.3 + 3.0) if fav is not None else 0.0)
        ax.set_xlabel(xl, fontsize=fs, fontfamily=fam, labelpad=pad)


def _rule(ax: Axes, fig: Figure, blend: Any, y: float, left_w: float, right_w: float) -> None:
    """A horizontal rule at data row ``y`` across the text columns and the panel."""
    from matplotlib import transforms
    from matplotlib.lines import Line2D

    ax_w_in = ax.get_position().width * fig.get_figwidth()
    to_axes = transforms.Affine2D().scale(1.0 / ax_w_in, 1.0)  # inches from the panel's left edge
    ax.add_artist(
        Line2D([-left_w, ax_w_in + right_w], [y, y], transform=to_axes + blend, color="black", lw=0.8,
               clip_on=False, gid="rule")
    )


def _why(v: float, sc: Scale) -> str:
    if v is None or np.isnan(v):
        return "is NaN"
    if np.isinf(v):
        return "is infinite"
    if sc.log and v <= 0:
        return f"is {fmt_num(v, 3)} (not > 0 on a log axis)"
    return "cannot be drawn"


def _study_note(sc: Scale, est: float, lo: float, hi: float) -> str:
    """Why (part of) a study's row cannot be drawn, or "" if it can."""
    parts = []
    if not sc.drawable(est):
        parts.append(f"estimate {_why(est, sc)}")
    for v, name in ((lo, "lower"), (hi, "upper")):
        if not sc.drawable(v):
            parts.append(f"{name} limit {_why(v, sc)}")
    if not parts:
        return ""
    what = "not drawn" if not sc.drawable(est) else "CI not drawn"
    return f"{what}: " + "; ".join(parts)
