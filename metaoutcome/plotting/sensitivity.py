"""Forest plots of sensitivity analyses: leave-one-out and cumulative meta-analysis.

One row per refit of the model: "Omitting <study>" (metafor ``leave1out``, R meta's ``metainf``)
or "+ <study>" in the order the studies were added (metafor ``cumul``, R meta's ``metacum``),
each with its pooled estimate and CI on the natural scale, a reference line at the estimate of
all studies, and text columns (estimate [CI], tau^2, I^2, ...). The figure is drawn by
:func:`metaoutcome.plotting.forest` (same layouts, fonts and sizing): every refit is handed to it
as a "study" whose interval is the refit's CI, and the model of all studies is its pooled
diamond.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from ..measures import Measure, get_measure
from ..options import COMMON_METHODS
from ._result import back_pooled
from ._scale import get_scale
from ._style import fmt_num, fmt_tau2, get_layout

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["loo_forest", "cumulative_forest", "SENSITIVITY_COLUMNS"]

FloatArray = NDArray[np.float64]

#: Text columns the sensitivity forests can print, with their headers.
SENSITIVITY_COLUMNS: dict[str, str] = {
    "k": "k",
    "tau2": "\u03c4\u00b2",
    "i2": "I\u00b2",
    "h2": "H\u00b2",
    "q": "Q",
    "pvalue": "p",
}
_COMMON = COMMON_METHODS


@dataclass(frozen=True)
class _RefitRows:
    """The refits of a sensitivity analysis dressed as a pooled result for :func:`forest`.

    Each refit is a "study" with ``yi`` its estimate and ``vi`` chosen so that forest's Wald
    interval ``yi +/- z sqrt(vi)`` is the refit's own CI (z, t or Knapp-Hartung: the refit's CI
    is symmetric about its estimate on the analysis scale). The pooled fields are the model of
    all studies.
    """

    yi: FloatArray
    vi: FloatArray
    labels: tuple[str, ...]
    measure: str
    level: float
    method: str
    ci_method: str
    model: str
    estimate: float
    ci_low: float
    ci_high: float
    pi_low: float = math.nan
    pi_high: float = math.nan
    se: float = math.nan
    statistic: float = math.nan
    pvalue: float = math.nan
    tau2: float = math.nan
    i2: float = math.nan
    i2_ci_low: float = math.nan
    i2_ci_high: float = math.nan
    q: float = math.nan
    q_df: float = math.nan
    q_pvalue: float = math.nan
    weights: FloatArray = field(default_factory=lambda: np.array([]))
    ni: FloatArray | None = None
    excluded: tuple[Any, ...] = ()

    @property
    def k(self) -> int:
        return int(self.yi.size)

    def summary(self) -> Any:
        """The tidy table :func:`forest` draws (the columns of ``PoolResult.summary``)."""
        from scipy import stats  # imported here: scipy.stats costs ~0.3 s to import
        import pandas as pd

        m = get_measure(self.measure)
        z = float(stats.norm.isf((1 - self.level / 100.0) / 2))
        se = np.sqrt(self.vi)
        pct = 100.0 if m.percent else 1.0
        lo_a, hi_a = self.yi - z * se, self.yi + z * se
        n = self.yi.size
        nat = [back_pooled(m, v, None) * pct for v in (self.yi, lo_a, hi_a)]
        pooled = back_pooled(m, np.array([self.estimate, self.ci_low, self.ci_high, self.pi_low, self.pi_high]),
                             None) * pct
        w = self.weights if self.weights.size == n else np.full(n, np.nan)
        study = pd.DataFrame({
            "row_type": "study", "label": list(self.labels), "yi": self.yi, "vi": self.vi, "weight": w,
            "estimate_natural": nat[0], "ci_low_natural": np.fmin(nat[1], nat[2]),
            "ci_high_natural": np.fmax(nat[1], nat[2]), "pi_low_natural": np.nan, "pi_high_natural": np.nan,
            "exclusion_reason": "",
        })
        plo, phi = (np.sort(pooled[3:5]) if np.isfinite(pooled[3:5]).all() else pooled[3:5])
        row = pd.DataFrame({
            "row_type": ["pooled"], "label": ["pooled"], "yi": [self.estimate], "vi": [self.se**2], "weight": [100.0],
            "estimate_natural": [pooled[0]], "ci_low_natural": [min(pooled[1:3])], "ci_high_natural": [max(pooled[1:3])],
            "pi_low_natural": [plo], "pi_high_natural": [phi], "exclusion_reason": [""],
        })
        return pd.concat([study, row], ignore_index=True)


_RESULT_FIELDS = ("labels", "estimate", "ci_low", "ci_high", "tau2", "i2", "q", "method", "test", "level")


def _check_rows(res: Any, what: str, fn: str) -> None:
    missing = [a for a in _RESULT_FIELDS if not hasattr(res, a)]
    if missing:
        raise ValueError(
            f"{fn}() needs the result of metaoutcome.{what}(...); got {type(res).__name__} without "
            f"{', '.join(missing)}"
        )
    n = len(res.labels)
    if n == 0:
        raise ValueError(f"the {what} result has no rows; there is nothing to plot")
    for name in ("estimate", "ci_low", "ci_high"):
        if np.asarray(getattr(res, name)).size != n:
            raise ValueError(f"result.{name} has {np.asarray(getattr(res, name)).size} values for {n} rows")


def _measure(res: Any, overall: Any | None, measure: str | None) -> Measure:
    names = [("measure=", measure), ("result.measure", getattr(res, "measure", None)),
             ("overall.measure", getattr(overall, "measure", None) if overall is not None else None)]
    given = [(src, str(m)) for src, m in names if m]
    if len({m.upper() for _, m in given}) > 1:
        raise ValueError("the measures disagree: " + ", ".join(f"{src} {m!r}" for src, m in given))
    m = get_measure(given[0][1] if given else "GEN")
    if m.needs_ni:
        raise ValueError(
            f"measure {m.name!r} needs the study sizes of every refit to back-transform; sensitivity forests "
            "do not support it (pool the proportions on the logit scale, measure='PLO')"
        )
    return m


def _check_overall(res: Any, overall: Any, n_studies: int, fn: str) -> None:
    for a in ("estimate", "ci_low", "ci_high", "labels", "method", "level"):
        if not hasattr(overall, a):
            raise ValueError(f"{fn}(): overall must be the pooled result of all studies (metaoutcome.pool(...)); "
                             f"got {type(overall).__name__} without {a!r}")
    labs = [str(s) for s in overall.labels]
    if len(labs) != n_studies or sorted(labs) != sorted(str(s) for s in res.labels):
        raise ValueError(f"{fn}(): overall pools other studies than the analysis ({len(labs)} vs {n_studies}); "
                         "pass the result the analysis was run on")
    if str(overall.method).upper() != str(res.method).upper():
        raise ValueError(f"{fn}(): overall uses method={overall.method!r} but the analysis {res.method!r}")
    o_test = str(getattr(overall, "ci_method", getattr(overall, "test", res.test)))
    if o_test != str(res.test):
        raise ValueError(f"{fn}(): overall uses ci_method={o_test!r} but the analysis test={res.test!r}")
    if abs(float(overall.level) - float(res.level)) > 1e-9:
        raise ValueError(f"{fn}(): overall has level {overall.level:g} but the analysis {res.level:g}")


def _cell(key: str, v: float) -> str:
    if not np.isfinite(v):
        return "NA"
    if key == "tau2":
        return fmt_tau2(v)
    if key == "i2":
        return f"{fmt_num(v, 0)}%"
    if key == "k":
        return f"{int(round(v))}"
    if key == "pvalue":
        from ..printer import fmt_p_journal

        return fmt_p_journal(v)
    return fmt_num(v, 2)


def _columns(res: Any, columns: Sequence[str], ks: Sequence[int]) -> dict[str, list[str]]:
    if isinstance(columns, str):
        columns = [columns]
    out: dict[str, list[str]] = {}
    for key in columns:
        if key not in SENSITIVITY_COLUMNS:
            listed = ", ".join(repr(c) for c in SENSITIVITY_COLUMNS)
            raise ValueError(f"columns: {key!r} is not one of the allowed values: {listed}")
        vals = np.asarray(ks, dtype=float) if key == "k" else np.asarray(getattr(res, key), dtype=float)
        out[SENSITIVITY_COLUMNS[key]] = [_cell(key, float(v)) for v in vals]
    return out


def _draw(
    res: Any,
    row_labels: list[str],
    pooled: Mapping[str, Any],
    measure: Measure,
    *,
    columns: dict[str, list[str]],
    left_columns: Any,
    study_header: str,
    all_label: tuple[str, str],
    refline: float | str | None,
    layout: Any,
    ax: Axes | None,
    null_line: bool,
    forest_kwargs: dict[str, Any],
) -> Figure:
    from scipy import stats  # imported here: scipy.stats costs ~0.3 s to import
    from .forest import forest

    level = float(res.level)
    z = float(stats.norm.isf((1 - level / 100.0) / 2))
    est = np.asarray(res.estimate, dtype=float)
    lo, hi = np.asarray(res.ci_low, dtype=float), np.asarray(res.ci_high, dtype=float)
    with np.errstate(invalid="ignore"):
        vi = ((hi - lo) / (2 * z)) ** 2
    method = str(res.method)
    model = "common" if method.upper() in _COMMON else "random"
    rows = _RefitRows(yi=est, vi=vi, labels=tuple(row_labels), measure=measure.name, level=level, method=method,
                   ci_method=str(res.test), model=model, weights=np.full(est.size, np.nan), **pooled)
    sc = get_scale(forest_kwargs.get("scale"), measure)
    if isinstance(refline, str) and refline == "overall":
        ref_nat = back_pooled(measure, np.array([pooled["estimate"]]), None)
        ref: float | str | None = float(sc.to_plot(ref_nat)[0])
    else:
        ref = refline
    kw = dict(forest_kwargs)
    lay = get_layout(layout)
    kw.setdefault("study_header", study_header)
    kw.setdefault("null_style", "--")
    if lay.name == "default":
        kw.setdefault("random_label", all_label[1])
        kw.setdefault("common_label", all_label[0])
    kw.setdefault("favours", False)
    # every refit is drawn with the same square (there are no study weights to show); the measure's
    # null as a thin solid line over the rows when the reference line is elsewhere
    null_x = float(sc.to_plot(measure.null)) if null_line and measure.null is not None and ref != "null" else None
    return forest(rows, layout=layout, right_columns=columns or None, left_columns=left_columns, refline=ref,
                  show_weights=False, ax=ax, squares="equal", nullline=null_x, **kw)


def _pooled_from(overall: Any) -> dict[str, Any]:
    def f(name: str) -> float:
        v = getattr(overall, name, None)
        try:
            return math.nan if v is None else float(v)
        except (TypeError, ValueError):
            return math.nan

    return {name: f(name) for name in ("estimate", "ci_low", "ci_high", "pi_low", "pi_high", "se", "statistic",
                                       "pvalue", "tau2", "i2", "i2_ci_low", "i2_ci_high", "q", "q_df", "q_pvalue")}


def loo_forest(
    result: Any,
    overall: Any | None = None,
    *,
    measure: str | None = None,
    columns: Sequence[str] = ("tau2", "i2"),
    left_columns: Mapping[str, Sequence[Any]] | Any | None = None,
    layout: str | Any = "default",
    sort_by: str | None = None,
    refline: float | str | None = "overall",
    label_format: str = "Omitting {study}",
    show_pi: bool = False,
    null_line: bool = True,
    ax: Axes | None = None,
    **kwargs: Any,
) -> Figure:
    """Forest plot of a leave-one-out analysis (metafor ``leave1out``; R meta ``forest(metainf(m))``).

    Parameters
    ----------
    result : LeaveOneOutResult
        What :func:`metaoutcome.leave_one_out` returns.
    overall : PoolResult, optional
        The pooled result the analysis was run on (all studies). Required unless ``result``
        carries it as ``result.overall``: it gives the reference line, the diamond of all
        studies and the measure, and must be the same model (studies, method, test, level).
    measure : str, optional
        Measure name, if neither ``result`` nor ``overall`` has one (e.g. ``"HR"``).
    columns : sequence of {"k", "tau2", "i2", "h2", "q", "pvalue"}, default ("tau2", "i2")
        Text columns right of the estimate [CI], each without the omitted study.
    left_columns : dict of str to sequence, or DataFrame, optional
        Extra columns left of the graph, one value per row (in the result's row order).
    layout : {"default", "revman", "jama"} or Layout, default "default"
        As :func:`~metaoutcome.plotting.forest`.
    sort_by : {"given", "estimate"}, optional
        Row order: as the studies (default) or by the estimate without the study.
    refline : "overall", float, None or "null", default "overall"
        Reference line: at the estimate of all studies (dashed), the measure's null, a value on
        the plotted scale, or none.
    label_format : str, default "Omitting {study}"
        Row label; ``{study}`` is the omitted study.
    show_pi : bool, default False
        Draw the prediction interval of all studies under their diamond.
    null_line : bool, default True
        Also draw the measure's null (e.g. HR = 1) as a thin solid line over the rows when it
        is inside the axis and the reference line is elsewhere.
    ax : matplotlib Axes, optional
        Draw the graph into this Axes (text columns beside it), as ``forest``.
    **kwargs
        Passed to :func:`~metaoutcome.plotting.forest` (``scale``, ``xlim``, ``xticks``,
        ``xlabel``, ``digits``, ``effect_label``, ``show_heterogeneity``, ``favours`` (default
        False) and layout fields such as ``fontsize``).

    Returns
    -------
    matplotlib.figure.Figure
        ``fig.axes[0]`` is the graph when the figure was created here. Row ``i`` has artist
        ids ``label|study-i`` (its label) and ``estimate|study-i`` (its estimate [CI]).

    Raises
    ------
    ValueError
        For a result that is not a leave-one-out analysis, no ``overall`` (and none on the
        result), an ``overall`` of other studies or another model, disagreeing measures, a
        measure that needs study sizes (PFT), or an unknown column or ``sort_by``.

    Notes
    -----
    Row ``i`` is the model refitted without study ``i`` (same estimator, test and level): its
    estimate and CI are back-transformed to the natural scale like any pooled value. The
    reference line and the diamond are the model of all k studies, so a row whose CI does not
    reach the line marks a study whose omission moves the result beyond the CI of the rest.

    References
    ----------
    Viechtbauer W, Cheung MWL (2010). Outlier and influence diagnostics for meta-analysis.
    *Research Synthesis Methods* 1:112-125.

    Examples
    --------
    >>> import numpy as np, metaoutcome as mo
    >>> from metaoutcome.plotting import loo_forest
    >>> res = mo.pool(np.log([0.59, 0.73, 0.73, 0.71, 0.87]), [0.022, 0.011, 0.0077, 0.0117, 0.0093],
    ...               measure="HR", labels=["CM017", "CM057", "OAK", "KN010", "JAVELIN"])
    >>> fig = loo_forest(mo.leave_one_out(res), res)
    >>> [t.get_text() for t in fig.axes[0].texts if t.get_gid() == "label|study-2"]
    ['Omitting OAK']
    """
    _check_rows(result, "leave_one_out", "loo_forest")
    if overall is None:
        overall = getattr(result, "overall", None)
    if overall is None:
        raise ValueError(
            "loo_forest() needs overall=, the pooled result of all studies the leave-one-out analysis was run "
            "on (it gives the reference line and the diamond)"
        )
    n = len(result.labels)
    _check_overall(result, overall, n, "loo_forest")
    m = _measure(result, overall, measure)
    if sort_by not in (None, "given", "estimate"):
        raise ValueError(f"sort_by={sort_by!r} is not one of the allowed values: 'given', 'estimate'")
    labels = [label_format.format(study=s) for s in result.labels]
    cols = _columns(result, columns, [n - 1] * n)
    return _draw(
        result, labels, _pooled_from(overall), m, columns=cols, left_columns=left_columns,
        study_header="Study omitted", all_label=("All studies (common effect)", "All studies (random effects)"),
        refline=refline, layout=layout, ax=ax, null_line=null_line,
        forest_kwargs={**kwargs, "sort_by": sort_by, "show_pi": show_pi},
    )


def cumulative_forest(
    result: Any,
    overall: Any | None = None,
    *,
    measure: str | None = None,
    columns: Sequence[str] = ("k", "tau2", "i2"),
    left_columns: Mapping[str, Sequence[Any]] | Any | None = None,
    layout: str | Any = "default",
    refline: float | str | None = "overall",
    label_format: str = "+ {study}",
    show_pi: bool = False,
    null_line: bool = True,
    ax: Axes | None = None,
    **kwargs: Any,
) -> Figure:
    """Forest plot of a cumulative meta-analysis (metafor ``forest(cumul(res))``; R meta ``metacum``).

    Parameters
    ----------
    result : CumulativeResult
        What :func:`metaoutcome.cumulative` returns; rows are drawn in its order (the order the
        studies were added, e.g. by year).
    overall : PoolResult, optional
        The pooled result of all studies (default ``result.overall`` if present, else the last
        row, which is the model of all studies). Must be the same model as the last row.
    measure : str, optional
        Measure name, if neither ``result`` nor ``overall`` has one (e.g. ``"HR"``).
    columns : sequence of {"k", "tau2", "i2", "h2", "q", "pvalue"}, default ("k", "tau2", "i2")
        Text columns right of the estimate [CI]: number of studies so far and heterogeneity of
        the first k studies.
    left_columns : dict of str to sequence, or DataFrame, optional
        Extra columns left of the graph, one value per row in the cumulative order (e.g. the
        year each study was added).
    layout : {"default", "revman", "jama"} or Layout, default "default"
        As :func:`~metaoutcome.plotting.forest`.
    refline : "overall", float, None or "null", default "overall"
        Reference line: at the estimate of all studies (dashed), the measure's null, a value on
        the plotted scale, or none.
    label_format : str, default "+ {study}"
        Row label; ``{study}`` is the study added in that row.
    show_pi : bool, default False
        Draw the prediction interval of all studies (only with ``overall``).
    null_line : bool, default True
        Also draw the measure's null (e.g. HR = 1) as a thin solid line over the rows when it
        is inside the axis and the reference line is elsewhere.
    ax : matplotlib Axes, optional
        Draw the graph into this Axes (text columns beside it), as ``forest``.
    **kwargs
        Passed to :func:`~metaoutcome.plotting.forest` (``scale``, ``xlim``, ``xticks``,
        ``xlabel``, ``digits``, ``effect_label``, ``show_heterogeneity``, ``favours`` (default
        False) and layout fields). Rows keep the cumulative order (no ``sort_by``).

    Returns
    -------
    matplotlib.figure.Figure
        ``fig.axes[0]`` is the graph when the figure was created here. Row ``j`` (the first
        ``j + 1`` studies) has artist ids ``label|study-j`` and ``estimate|study-j``.

    Raises
    ------
    ValueError
        For a result that is not a cumulative analysis, an ``overall`` of other studies or
        another model, or whose estimate differs from the last row, disagreeing measures, a
        measure that needs study sizes (PFT), an unknown column, or ``sort_by``.

    Notes
    -----
    Row ``j`` is the model fitted to the first ``j + 1`` studies in the cumulative order (the
    first row is the first study alone), back-transformed to the natural scale; a row whose CI
    is not finite is drawn without it, with a note in the row. The last row is the model of
    all studies, so the reference line is where the cumulative estimates end up.

    References
    ----------
    Lau J, Antman EM, Jimenez-Silva J, et al. (1992). Cumulative meta-analysis of therapeutic
    trials for myocardial infarction. *New England Journal of Medicine* 327:248-254.

    Examples
    --------
    >>> import numpy as np, metaoutcome as mo
    >>> from metaoutcome.plotting import cumulative_forest
    >>> res = mo.pool(np.log([0.59, 0.73, 0.73, 0.71]), [0.022, 0.011, 0.0077, 0.0117], measure="HR",
    ...               labels=["CM017", "CM057", "OAK", "KN010"])
    >>> fig = cumulative_forest(mo.cumulative(res, order=[2015, 2015, 2017, 2016]), res)
    >>> [t.get_text() for t in fig.axes[0].texts if t.get_gid() == "label|study-3"]
    ['+ OAK']
    """
    _check_rows(result, "cumulative", "cumulative_forest")
    if "sort_by" in kwargs:
        raise ValueError("cumulative_forest() keeps the cumulative order; sort_by is not available "
                         "(order the studies with metaoutcome.cumulative(..., order=))")
    n = len(result.labels)
    if overall is None:
        overall = getattr(result, "overall", None)
    if overall is not None:
        _check_overall(result, overall, n, "cumulative_forest")
        last = float(np.asarray(result.estimate, dtype=float)[-1])
        if not np.isclose(float(overall.estimate), last, rtol=1e-6, atol=1e-10):
            raise ValueError(f"cumulative_forest(): overall.estimate = {float(overall.estimate):.6g} differs from "
                             f"the last cumulative row ({last:.6g}), which is the model of all studies")
        pooled = _pooled_from(overall)
    else:
        if show_pi:
            raise ValueError("cumulative_forest(show_pi=True) needs overall= (the cumulative result has no "
                             "prediction interval)")

        def last_of(name: str) -> float:
            v = getattr(result, name, None)
            return math.nan if v is None else float(np.asarray(v, dtype=float)[-1])

        pooled = {name: last_of(name) for name in ("estimate", "ci_low", "ci_high", "se", "statistic", "pvalue",
                                                   "tau2", "i2", "q", "q_pvalue")}
        pooled["q_df"] = float(n - 1)
    m = _measure(result, overall, measure)
    labels = [label_format.format(study=s) for s in result.labels]
    cols = _columns(result, columns, list(range(1, n + 1)))
    return _draw(
        result, labels, pooled, m, columns=cols, left_columns=left_columns, study_header="Study added",
        all_label=("All studies (common effect)", "All studies (random effects)"), refline=refline,
        layout=layout, ax=ax, null_line=null_line, forest_kwargs={**kwargs, "show_pi": show_pi},
    )
