"""Forest plots (metafor ``forest.rma``, RevMan 5 and JAMA layouts), built from the result's summary table.

A result's :meth:`~metaoutcome.results.PoolResult.summary` table already holds every study's
estimate, interval and weight on the natural scale and the pooled row with its CI and PI; this
module turns those rows into plot rows (text cells and plotted values) and
:mod:`metaoutcome.plotting._forest_draw` lays them out in inches and draws them. Nothing is
recomputed here except what the table does not hold: exact (Clopper-Pearson) study intervals of a
binomial-normal GLMM, as R meta draws them.

The figure fits a journal's double column (at most 183 mm wide at its natural size, no text
below 7 pt): the graph is narrowed, then the font, then long text rows are wrapped.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from .._checks import check_choice
from ..measures import Measure, get_measure
from ._forest_draw import MAX_WIDTH_MM, Column, Frame, Row, draw_forest
from ._forest_text import (
    _cell,
    _check_ticks,
    _check_xlim,
    _columns_from,
    _f,
    _favours,
    _fmt_ci,
    _het_text,
    _is_numeric_text,
    _overall_test_text,
    _study_note,
    _subgroup_test,
    _ticks_in,
    _to_float,
    subgroup_test_text,
)
from ._result import is_common
from ._scale import Scale, choose_limits, get_scale, refline_value
from ._style import Layout, fmt_level, fmt_num, get_layout

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["forest", "forest_plot", "forest_notes", "SORT_BY", "STUDY_CI", "exact_study_ci"]

SORT_BY = ("given", "estimate", "weight", "year")
#: how study intervals are drawn: from the summary table (Wald, the intervals the weights belong
#: to) or exact Clopper-Pearson intervals from the events (binomial-normal GLMM fits only)
STUDY_CI = ("wald", "exact")

FloatArray = NDArray[np.float64]

_LAYOUT_FIELDS = {f.name for f in fields(Layout)} - {"name", "extra"}


# -----------------------------------------------------------------------------------------------
# a result's rows, read from its summary table
# -----------------------------------------------------------------------------------------------


@dataclass
class _Model:
    """One fitted model: its summary table split into study, pooled and excluded rows."""

    res: Any
    studies: pd.DataFrame
    pooled: pd.Series
    excluded: pd.DataFrame

    @property
    def common(self) -> bool:
        return is_common(self.res)


@dataclass
class _Group:
    name: str | None
    models: list[_Model]
    start: int  # position of its first study in the concatenated study order

    @property
    def k(self) -> int:
        return len(self.models[0].studies)


def model_word(res: Any) -> str:
    """RevMan's wording of the method and model: "IV, Random", "IV, Fixed", "M-H, Fixed", "Peto, Fixed"."""
    model = str(getattr(res, "model", "")).lower()
    method = str(getattr(res, "method", "")).upper()
    if model == "mh" or method == "MH":
        return "M-H, Fixed"
    if model == "peto" or method == "PETO":
        return "Peto, Fixed"
    if model == "glmm":
        return "GLMM, Random"
    return "IV, Fixed" if is_common(res) else "IV, Random"


def _model_of(res: Any, argname: str) -> _Model:
    summary = getattr(res, "summary", None)
    if not callable(summary) or not hasattr(res, "measure"):
        raise ValueError(
            f"{argname} must be a pooled result (what metaoutcome.pool, pool_mh, pool_peto or pool_glmm return); "
            f"got {type(res).__name__}, which has no summary table"
        )
    t = summary()
    studies = t.loc[t["row_type"] == "study"].reset_index(drop=True)
    pooled = t.loc[t["row_type"] == "pooled"]
    if len(studies) == 0 or int(getattr(res, "k", len(studies)) or 0) == 0:
        raise ValueError(f"{argname} has no studies (k = 0); there is nothing to plot")
    if len(pooled) != 1:
        raise ValueError(f"{argname}.summary() must have one pooled row; it has {len(pooled)}")
    return _Model(res, studies, pooled.iloc[0], t.loc[t["row_type"] == "excluded"])


def _as_list(res: Any) -> list[Any]:
    if isinstance(res, (list, tuple)):
        if len(res) == 0:
            raise ValueError("result is an empty list; pass at least one pooled result")
        return list(res)
    return [res]


def _make_group(name: str | None, res: Any, start: int, argname: str) -> _Group:
    results = _as_list(res)
    models = [_model_of(results[0], argname)]
    for j, r in enumerate(results[1:], start=1):
        m = _model_of(r, f"{argname}[{j}]")
        a, b = m.studies["yi"].to_numpy(float), models[0].studies["yi"].to_numpy(float)
        if a.size != b.size or not np.allclose(a, b, equal_nan=True):
            raise ValueError(
                f"{argname}[{j}] pools different studies from {argname}[0]; a list of results must "
                "be models of the same studies (e.g. random and common effect)"
            )
        models.append(m)
    return _Group(name, models, start)


def _plotted(values: Any, measure: Measure, sc: Scale) -> FloatArray:
    """Summary-table natural values (percent for proportions) -> plotted x values."""
    v = np.asarray(values, dtype=float)
    if measure.percent:
        v = v / 100.0
    return sc.to_plot(v)


def exact_study_ci(res: Any, level: float | None = None) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Events and exact (Clopper-Pearson) intervals of the studies of a binomial-normal GLMM fit.

    The events are read back from the fit's logits and study sizes (``yi = logit(x / n)``; a study
    with 0 or n events carries the 1/2 correction, which is recognised); the interval is
    ``[B(a/2; x, n - x + 1), B(1 - a/2; x + 1, n - x)]`` (``x = 0`` -> lower 0, ``x = n`` ->
    upper 1), as R's ``binom.test`` and R meta's ``metaprop(method.ci = "CP")``.

    Returns
    -------
    (x, low, high) : ndarrays
        Events and the interval as proportions (0-1).

    Examples
    --------
    >>> import metaoutcome as mo
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")  # a study with n of n events
    ...     res = mo.pool_glmm([10, 4], [10, 123])
    >>> x, lo, hi = exact_study_ci(res)
    >>> x.tolist(), round(float(lo[0]), 4), float(hi[0])
    ([10.0, 4.0], 0.6915, 1.0)
    """
    from scipy import special

    if str(getattr(res, "model", "")).upper() != "GLMM" or getattr(res, "ni", None) is None:
        raise ValueError("exact study intervals need a binomial-normal GLMM fit (metaoutcome.pool_glmm(...))")
    n = np.asarray(res.ni, dtype=float)
    yi = np.asarray(res.yi, dtype=float)
    raw = n * special.expit(yi)
    x = np.round(raw)
    inner = (np.abs(raw - x) < 1e-6 * np.maximum(1.0, n)) & (x > 0) & (x < n)
    x = np.where(inner, x, np.where(yi < 0, 0.0, n))
    alpha = 1 - (float(res.level) if level is None else float(level)) / 100.0
    with np.errstate(all="ignore"):
        lo = np.where(x > 0, special.betaincinv(x, n - x + 1, alpha / 2), 0.0)
        hi = np.where(x < n, special.betaincinv(x + 1, n - x, 1 - alpha / 2), 1.0)
    return x, np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)


def _match_overall(groups: list[_Group], overall: _Model) -> list[int] | None:
    """Position in ``overall`` of every subgroup study (matched by label, yi and vi), or None."""
    o = overall.studies
    keys: dict[tuple[str, float, float], list[int]] = {}
    for i, (lab, y, v) in enumerate(zip(o["label"].astype(str), o["yi"].to_numpy(float), o["vi"].to_numpy(float))):
        keys.setdefault((lab, round(y, 12), round(v, 12)), []).append(i)
    out: list[int] = []
    for g in groups:
        s = g.models[0].studies
        for lab, y, v in zip(s["label"].astype(str), s["yi"].to_numpy(float), s["vi"].to_numpy(float)):
            hits = keys.get((lab, round(y, 12), round(v, 12)))
            if not hits:
                return None
            out.append(hits.pop(0))
    return out


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
    show_excluded: bool = False,
    study_ci: str | None = None,
    max_width: float | None = MAX_WIDTH_MM,
    squares: str = "weight",
    nullline: float | None = None,
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
        taken in the mapping's order. Rows are read from each result's ``summary()`` table.
    labels : sequence of str, optional
        Study labels (default ``result.labels``), one per study (all subgroups, in order).
    left_columns, right_columns : dict of str to sequence, or DataFrame, optional
        Extra text columns (header -> one value per study) left of the graph (after the study
        label) and right of it (after the estimate and weight). E.g. regimen, events/n, n.
    overall : PoolResult or list of PoolResult, optional
        With subgroups: the result over all studies, drawn as an overall diamond.
    subgroup_test : (Q_between, df, p), dict, object or str, optional
        The test for subgroup differences, printed under the overall diamond; a str is printed
        as given (:meth:`SubgroupResult.forest` passes its F test or common-tau^2 wording so).
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
    show_excluded : bool, default False
        List rows the result excluded from pooling (``result.excluded``) under the plot. Off by
        default: a journal figure leaves such notes to its caption (the rows are in
        ``result.summary()``, ``row_type == "excluded"``).
    study_ci : {"wald", "exact"}, optional
        Study intervals: ``"wald"`` from the summary table (``y_i +/- z sqrt(v_i)``, the intervals
        the inverse-variance weights belong to), ``"exact"`` Clopper-Pearson intervals from the
        events (binomial-normal GLMM fits only, see :func:`exact_study_ci`). Default: exact for a
        GLMM fit, as R meta's ``metaprop``, Wald otherwise.
    max_width : float or None, default 183
        Widest figure in mm (183: a journal's double column). The graph is narrowed (to 1.6 in),
        then the font (to 7 pt), then long text lines are wrapped; a warning says if it still
        does not fit. None keeps the layout's sizes. Not used with ``ax=``.
    squares : {"weight", "equal"}, default "weight"
        Square areas proportional to the weights, or one size for every study (for rows that
        have no weights, e.g. the refits of a leave-one-out analysis).
    nullline : float, optional
        A thin solid line at this x over the study and pooled rows (plotted scale), e.g. the
        null value when ``refline`` marks something else.
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
    Every number comes from the results' summary tables: per-study Wald intervals
    ``y_i +/- z sqrt(v_i)`` at the pooled result's level (whatever level the studies reported
    theirs at), back-transformed; pooled values as the result back-transforms them (PFT with the
    harmonic mean of ``ni``). Square areas are proportional to the weights.

    **Weights** are percentages of the model the column names. Without subgroups: the
    result's weights. With subgroups and ``overall=``: every study's weight in the overall model
    (matched to the subgroup studies by label and value, whatever the row order), and each
    subtotal the sum over its studies, as RevMan prints them; the column header says
    "(overall)". With subgroups and no ``overall=``, or when the overall model does not pool
    the subgroups' studies: the weight within each subgroup (each subtotal 100%), and the header
    says "(within subgroup)". A binomial-normal GLMM has no study weights of its own; the
    approximate ones (``1 / (v_i + tau^2)``) are printed under a header saying "approx.".

    A study interval, diamond or prediction interval that leaves the axis ends in an arrow at
    the limit. Tick labels that would overlap a neighbour are left out (their tick mark stays).
    An interval that cannot be drawn (NaN, infinite, or not positive on a log axis) is printed
    as NA with a note in its row.

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
    if max_width is not None:
        try:
            max_width = float(max_width)
        except (TypeError, ValueError):
            raise ValueError(f"max_width={max_width!r} must be a width in mm or None") from None
        if not (np.isfinite(max_width) and max_width > 0):
            raise ValueError(f"max_width={max_width!r} must be a positive width in mm or None")

    # -- groups: one summary table per model ------------------------------------------------------
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
    n_models = len(groups[0].models)
    for g in groups[1:]:
        if len(g.models) != n_models:
            raise ValueError(
                f"every subgroup must hold the same number of results; {g.name!r} has {len(g.models)}, "
                f"{groups[0].name!r} has {n_models}"
            )
    overall_models = [_model_of(r, f"overall[{j}]" if isinstance(overall, (list, tuple)) else "overall")
                      for j, r in enumerate(_as_list(overall))] if overall is not None else []
    all_models = [m for g in groups for m in g.models] + overall_models
    measure = get_measure(getattr(all_models[0].res, "measure", None) or "GEN")
    level = _f(all_models[0].res, "level")
    level = 95.0 if math.isnan(level) else level
    if not 0 < level < 100:
        raise ValueError(f"result.level={level!r} must be a percentage in (0, 100)")
    for m in all_models[1:]:
        other = get_measure(getattr(m.res, "measure", None) or "GEN")
        if other.name != measure.name:
            raise ValueError(f"all results must use one measure; found {measure.name!r} and {other.name!r}")
        if abs(_f(m.res, "level") - level) > 1e-9:
            raise ValueError(f"all results must use one level; found {level:g} and {_f(m.res, 'level'):g}")
    sc = get_scale(scale, measure)
    k_total = sum(g.k for g in groups)
    glmm = all(str(getattr(m.res, "model", "")).upper() == "GLMM" for m in all_models)
    ci_kind = ("exact" if glmm else "wald") if study_ci is None else check_choice("study_ci", study_ci, STUDY_CI)
    if ci_kind == "exact" and not glmm:
        raise ValueError('study_ci="exact" needs binomial-normal GLMM fits (metaoutcome.pool_glmm); '
                         'use study_ci="wald" for inverse-variance results')

    # -- labels and text columns ----------------------------------------------------------------
    study_labels = [str(lab) for g in groups for lab in g.models[0].studies["label"]]
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

    # -- plotted values, read from the summary tables --------------------------------------------
    st = [g.models[0].studies for g in groups]
    yi_all = np.concatenate([s["yi"].to_numpy(float) for s in st])
    s_est = _plotted(np.concatenate([s["estimate_natural"] for s in st]), measure, sc)
    s_lo = _plotted(np.concatenate([s["ci_low_natural"] for s in st]), measure, sc)
    s_hi = _plotted(np.concatenate([s["ci_high_natural"] for s in st]), measure, sc)
    if ci_kind == "exact":
        parts = [exact_study_ci(g.models[0].res, level) for g in groups]
        s_est = sc.to_plot(np.concatenate([p[0] for p in parts]) / np.concatenate(
            [np.asarray(g.models[0].res.ni, float) for g in groups]))
        s_lo = sc.to_plot(np.concatenate([p[1] for p in parts]))
        s_hi = sc.to_plot(np.concatenate([p[2] for p in parts]))

    def pooled_vals(m: _Model) -> tuple[float, float, float, float, float]:
        p = m.pooled
        v = _plotted([p["estimate_natural"], p["ci_low_natural"], p["ci_high_natural"], p["pi_low_natural"],
                      p["pi_high_natural"]], measure, sc)
        return float(v[0]), float(v[1]), float(v[2]), float(v[3]), float(v[4])

    pooled_cache = {id(m): pooled_vals(m) for m in all_models}
    if sc.log:
        if measure.null is not None and measure.null <= 0:
            raise ValueError(
                f"scale='log' cannot show measure {measure.name!r}: its null value {measure.null:g} is not "
                "positive; use scale='linear'"
            )
        for m in all_models:
            e, lo, hi, _, _ = pooled_cache[id(m)]
            if not (e > 0 and lo > 0 and hi > 0):
                raise ValueError(
                    f"scale='log' needs positive values, but a pooled estimate/CI of measure {measure.name!r} "
                    f"is ({fmt_num(e, 3)}, {fmt_num(lo, 3)}, {fmt_num(hi, 3)}); use scale='linear'"
                )

    # -- weights: one meaning per figure, whatever the row order (see Notes) ----------------------
    positions = None
    if subgrouped and len(overall_models) == n_models:
        positions = _match_overall(groups, overall_models[0])
    w_cols: list[FloatArray] = []
    for j in range(n_models):
        if positions is not None:
            w = overall_models[j].studies["weight"].to_numpy(float)[positions]
        else:
            w = np.concatenate([g.models[j].studies["weight"].to_numpy(float) for g in groups])
        w_cols.append(w)
    weight_scope = ("overall" if positions is not None else "within subgroup") if subgrouped else ""

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
            idx = sorted(idx, key=lambda i: (not np.isfinite(key[i]), key[i] if np.isfinite(key[i]) else 0.0))
            if descending:
                fin = [i for i in idx if np.isfinite(key[i])]
                idx = fin[::-1] + [i for i in idx if not np.isfinite(key[i])]
        elif descending:
            idx = idx[::-1]
        orders.append(idx)

    # -- rows ---------------------------------------------------------------------------------------
    dig = digits if digits is not None else (1 if (sc.name == "percent" or measure.kind == "median") else 2)
    if not isinstance(dig, (int, np.integer)) or dig < 0:
        raise ValueError(f"digits={digits!r} must be a whole number >= 0")
    lv = fmt_level(level)
    elabel = effect_label or measure.axis_label
    method_word, model_short = model_word(groups[0].models[0].res).split(", ")
    est_header = lay.estimate_header.format(label=elabel, level=lv, model=model_short, method=method_word)
    plot_header = lay.plot_header.format(label=elabel, level=lv, model=model_short, method=method_word)
    show_test = lay.show_overall_test if show_overall_test is None else bool(show_overall_test)
    if measure.null is None:  # a test against 0 on the logit/log scale means nothing to a reader
        show_test = False
    pct = "%" if lay.name != "jama" else ""

    def pooled_label(m: _Model, sub: bool) -> str:
        if sub:
            tpl = lay.subtotal_common_label if m.common else lay.subtotal_random_label
        else:
            tpl = lay.common_label if m.common else lay.random_label
        text = tpl.format(level=lv)
        if n_models > 1 and tpl.startswith(("Total", "Subtotal")):
            text += " (common)" if m.common else " (random)"
        return text

    def pooled_block(models: list[_Model], tag: str, k: int, sub: bool, idx: list[int] | None) -> list[Row]:
        rows = [Row("spacer", f"gap-{tag}", height=0.4)]
        n = len(models)
        for j, m in enumerate(models):
            e, lo, hi, _, _ = pooled_cache[id(m)]
            row = Row("pooled", f"pooled-{tag}-{j}", label=pooled_label(m, sub), bold=True, est=e, lo=lo, hi=hi)
            row.common = m.common and n > 1
            row.cells["estimate"] = _fmt_ci(lay, e, lo, hi, dig)
            for jj in range(len(w_cols)):
                if idx is not None:  # this subgroup's share of the overall model's weight
                    txt = fmt_num(float(np.nansum(w_cols[jj][idx])), 1)
                else:
                    txt = "100.0" if jj == j or n == 1 else ""
                row.cells[f"weight{jj}"] = txt + pct if txt else ""
            rows.append(row)
        for j, m in enumerate(models):
            _, _, _, plo, phi = pooled_cache[id(m)]
            if show_pi and not m.common and np.isfinite(plo) and np.isfinite(phi) and k >= 3:
                prow = Row("pi", f"pi-{tag}-{j}", label=lay.pi_label, lo=plo, hi=phi, height=0.8)
                prow.cells["estimate"] = _fmt_ci(lay, math.nan, plo, phi, dig, with_est=False)
                rows.append(prow)
        if show_heterogeneity:
            het = next((m for m in models if not m.common), models[0])
            rows.append(Row("text", f"het-{tag}", label=_het_text(lay, het.res, k, level), small=True, height=0.9))
        if show_test and not (sub and tag != "overall"):
            for j, m in enumerate(models):
                text = _overall_test_text(lay, m.res)
                if n > 1:
                    text += " (common)" if m.common else " (random)"
                rows.append(Row("text", f"test-{tag}-{j}", label=text, small=True, height=0.9))
        return rows

    rows: list[Row] = []
    for gi, g in enumerate(groups):
        if subgrouped:
            rows.append(Row("heading", f"heading-{gi}", label=str(g.name), bold=True))
        for i in orders[gi]:
            row = Row("study", f"study-{i}", label=study_labels[i], est=s_est[i], lo=s_lo[i], hi=s_hi[i],
                      weight=float(w_cols[0][i]))
            for name, vals in lcols.items():
                row.cells[f"L:{name}"] = vals[i]
            for name, vals in rcols.items():
                row.cells[f"R:{name}"] = vals[i]
            row.cells["estimate"] = _fmt_ci(lay, s_est[i], s_lo[i], s_hi[i], dig) if np.isfinite(s_est[i]) \
                else "Not estimable"
            for j in range(n_models):
                row.cells[f"weight{j}"] = fmt_num(w_cols[j][i], 1) + pct
            rows.append(row)
            msg = _study_note(sc, s_est[i], s_lo[i], s_hi[i])
            if msg:
                rows.append(Row("note", f"note-study-{i}", label=f"\u21b3 {msg}", small=True, height=0.8))
        share = list(range(g.start, g.start + g.k)) if positions is not None else None
        rows.extend(pooled_block(g.models, str(gi), g.k, subgrouped, share))
        if subgrouped:
            rows.append(Row("spacer", f"spacer-{gi}", height=0.5))
    if overall_models:
        rows.extend(pooled_block(overall_models, "overall", k_total, False, None))
    if subgroup_test is not None:
        line = subgroup_test if isinstance(subgroup_test, str) else subgroup_test_text(lay, *_subgroup_test(subgroup_test))
        rows.append(Row("text", "subgroup-test", label=line, small=True))
    if show_excluded:
        seen: set[tuple[str, str]] = set()
        for m in all_models:
            for lab, why_ in zip(m.excluded["label"].astype(str), m.excluded["exclusion_reason"].astype(str)):
                if (lab, why_) not in seen:
                    seen.add((lab, why_))
                    rows.append(Row("text", f"excluded-{len(seen) - 1}", label=f"Not pooled: {lab} ({why_})",
                                    small=True))

    # -- columns ----------------------------------------------------------------------------------------
    est_col = Column("estimate", est_header, "right", lay.estimate_side)
    w_defs = []
    for j in range(n_models):
        notes = [weight_scope] if weight_scope else []
        if n_models > 1:
            notes.append("common" if groups[0].models[j].common else "random")
        if glmm:
            notes.append("approx.")
        head = lay.weight_header + (f"\n({', '.join(notes)})" if notes else "")
        w_defs.append(Column(f"weight{j}", head, "right", lay.weight_side))
    if not show_weights:
        w_defs = []
    if lay.weight_first:
        auto = [*w_defs, est_col] if show_estimates else w_defs
    else:
        auto = ([est_col] if show_estimates else []) + w_defs
    left: list[Column] = [Column("label", lay.study_header, "left", "left")]
    left += [Column(f"L:{n}", n, "right" if _is_numeric_text(v) else "left", "left") for n, v in lcols.items()]
    left += [c for c in auto if c.side == "left"]
    right: list[Column] = [c for c in auto if c.side == "right"]
    right += [Column(f"R:{n}", n, "right" if _is_numeric_text(v) else "left", "right") for n, v in rcols.items()]

    # -- axis ---------------------------------------------------------------------------------------------
    ref = refline_value(refline, measure, sc)
    fav = _favours(favours, lay, ref)
    xl = (measure.axis_label if lay.xlabel else None) if xlabel is None else xlabel
    core = list(s_est)
    for m in all_models:
        e, lo, hi, plo, phi = pooled_cache[id(m)]
        core += [e, lo, hi]
        if show_pi and not m.common:
            core += [plo, phi]
    if xlim is not None:
        lim, ticks = _check_xlim(xlim, sc), None
    else:
        lim, ticks = choose_limits(sc, core, np.concatenate([s_lo, s_hi]), measure.kind, ref)
    if xticks is not None:
        ticks = _check_ticks(xticks, sc)
    elif ticks is None:
        ticks = _ticks_in(lim, sc, measure.kind)
    sq = check_choice("squares", squares, ("weight", "equal"))
    if nullline is not None:
        nullline = _to_float(nullline)
        if not np.isfinite(nullline) or (sc.log and nullline <= 0):
            raise ValueError(f"nullline={nullline!r} must be a finite number{' > 0 on a log axis' if sc.log else ''}")
    frame = Frame(lay, sc, lim, list(ticks), ref, fav, xl, plot_header, max_width, sq == "equal", nullline)
    return draw_forest(rows, left, right, frame, ax)


forest_plot = forest


def forest_notes(result: Any, overall: Any | None = None) -> list[str]:
    """The notes a journal puts in a forest plot's caption rather than in the figure: one
    ``"Not pooled: <label> (<reason>)"`` per row the result(s) excluded, each once.

    Parameters
    ----------
    result : PoolResult, list or mapping of them
        What :func:`forest` draws.
    overall : PoolResult, optional
        With subgroups, the overall result.

    Returns
    -------
    list of str

    Examples
    --------
    >>> import numpy as np, metaoutcome as mo
    >>> res = mo.pool(np.log([0.73, 0.59]), [0.0101, 0.0166], measure="HR", labels=["A", "B"])
    >>> forest_notes(res)
    []
    """
    results = list(result.values()) if isinstance(result, Mapping) else [result]
    flat = [r for item in results for r in _as_list(item)] + ([] if overall is None else _as_list(overall))
    notes: list[str] = []
    for r in flat:
        t = _model_of(r, "result").excluded
        for lab, why_ in zip(t["label"].astype(str), t["exclusion_reason"].astype(str)):
            note = f"Not pooled: {lab} ({why_})"
            if note not in notes:
                notes.append(note)
    return notes
