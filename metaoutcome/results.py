"""The result of a pooled analysis and its views (tables, text, HTML, Markdown).

:class:`PoolResult` holds everything a fit produced, as declared fields; every view is computed
from it. One report structure (:meth:`PoolResult.report`, a :class:`metaoutcome.printer.Report`)
feeds ``__repr__``/``__str__`` (text like metafor's ``print.rma``), ``_repr_html_`` (Jupyter),
``to_markdown`` and ``to_latex``. Numbers are never rounded in the result or its tables; only
the renderer (:mod:`metaoutcome.printer`) formats them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from .measures import Measure, get_measure
from .printer import Lines, Printable, Report, Table, fmt_p, fmt_x

__all__ = ["PoolResult", "ExcludedRow", "NaturalScale"]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class ExcludedRow:
    """A row of the input that was not pooled, and why.

    Attributes
    ----------
    row : int
        The input frame's index label of the row when the index is integer (so a row of a
        filtered frame still points at its line in the original table), else its 0-based
        position.
    label : str
        Its label.
    reason : str
        Why it was excluded (from the effect-size step's ``exclusion_reason`` where present).
    """

    row: int
    label: str
    reason: str


@dataclass(frozen=True)
class NaturalScale:
    """The pooled estimate, CI and PI back-transformed to the measure's natural scale.

    Proportions are in percent, ratios as ratios (HR, OR, RR), medians in months.

    Attributes
    ----------
    measure : str
        Measure name.
    estimate, ci_low, ci_high, pi_low, pi_high : float
        Back-transformed values (NaN where the analysis-scale value is NaN).
    unit : str
        Axis label of the natural scale, e.g. ``"Hazard ratio"`` or ``"Proportion (%)"``.
    """

    measure: str
    estimate: float
    ci_low: float
    ci_high: float
    pi_low: float
    pi_high: float
    unit: str


def _readonly(a: Any) -> FloatArray:
    arr = np.array(a, dtype=float, copy=True)
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True, eq=False, repr=False)
class PoolResult(Printable):
    """Result of :func:`metaoutcome.pooling.pool` (and of ``pool_mh``, ``pool_peto``, ``pool_glmm``).

    All values are on the analysis scale (log HR, logit proportion, ...) unless the name ends in
    ``_natural``; :meth:`back_transform` gives the pooled values on the natural scale.

    Attributes
    ----------
    k : int
        Number of studies pooled.
    estimate, se : float
        Pooled estimate and its standard error (HKSJ-adjusted for ``ci_method="knha"/"adhoc"``).
    statistic, pvalue : float
        z or t statistic for H0: estimate = 0 and its two-sided p-value.
    ci_low, ci_high : float
        Confidence interval for the pooled estimate.
    pi_low, pi_high : float
        Prediction interval for the effect in a new study (NaN for common-effect models).
    tau2, tau2_se, tau2_ci_low, tau2_ci_high : float
        Between-study variance, its standard error and Q-profile CI.
    tau, tau_ci_low, tau_ci_high : float
        Square root of the above.
    i2, i2_ci_low, i2_ci_high : float
        I^2 in percent and its CI.
    h2, h2_ci_low, h2_ci_high : float
        H^2 and its CI.
    q, q_df, q_pvalue : float, int, float
        Cochran's Q test for heterogeneity.
    weights : ndarray
        Study weights in percent (sum 100).
    method : str
        ``"FE"``/``"EE"``/``"CE"`` (common effect), a tau^2 estimator, ``"MH"``, ``"PETO"`` or
        ``"GLMM"``.
    ci_method : str
        ``"z"``, ``"t"``, ``"knha"`` or ``"adhoc"``.
    level : float
        Confidence level in percent.
    measure : str
        Measure name (see :mod:`metaoutcome.measures`).
    converged : bool
        Whether the tau^2 solver converged (True for closed forms).
    iterations : int
        Solver evaluations used (0 for closed forms).
    yi, vi : ndarray
        Per-study effect sizes and sampling variances that were pooled.
    labels : tuple of str
        Study labels.
    ni : ndarray or None
        Study sizes, if given (needed to back-transform PFT).
    excluded : tuple of ExcludedRow
        Input rows that were not pooled, with the reason.
    pi_method : str
        ``"default"`` (metafor's ``predict``) or ``"hts"`` (Higgins-Thompson-Spiegelhalter).
    df : float
        Degrees of freedom of the t reference distribution (NaN for z).
    model : str
        ``"common"``, ``"random"``, ``"MH"``, ``"Peto"`` or ``"GLMM"``.
    tau2_ci_signs : tuple of str
        metafor's ``lb.sign``/``ub.sign``: ``">"`` when a Q-profile bound is the end of the
        search interval, ``"<"`` when at 0 and the interval is empty.
    tau2_ci_empty : bool
        The Q-profile interval is the empty set (metafor's ``ci.null``).
    vt : float
        Typical within-study variance used for I^2 and H^2.
    notes : tuple of str
        Every warning issued while fitting.
    tables : ndarray or None
        The 2x2 tables (k x 4: ``ai``, ``bi``, ``ci``, ``di``) of a Mantel-Haenszel or Peto fit,
        from which leave-one-out and cumulative analyses refit it; None otherwise.
    extra : mapping
        Model-specific statistics (e.g. Cochran-Mantel-Haenszel and Tarone tests, the GLMM's
        likelihood-ratio heterogeneity test).
    """

    k: int
    estimate: float
    se: float
    statistic: float
    pvalue: float
    ci_low: float
    ci_high: float
    pi_low: float
    pi_high: float
    tau2: float
    tau2_se: float
    tau2_ci_low: float
    tau2_ci_high: float
    tau: float
    tau_ci_low: float
    tau_ci_high: float
    i2: float
    i2_ci_low: float
    i2_ci_high: float
    h2: float
    h2_ci_low: float
    h2_ci_high: float
    q: float
    q_df: int
    q_pvalue: float
    weights: FloatArray
    method: str
    ci_method: str
    level: float
    measure: str
    converged: bool
    iterations: int
    yi: FloatArray
    vi: FloatArray
    labels: tuple[str, ...]
    ni: FloatArray | None = None
    excluded: tuple[ExcludedRow, ...] = ()
    pi_method: str = "default"
    df: float = math.nan
    model: str = "random"
    tau2_ci_signs: tuple[str, str] = ("", "")
    tau2_ci_empty: bool = False
    vt: float = math.nan
    notes: tuple[str, ...] = ()
    extra: Mapping[str, float] = field(default_factory=dict)
    tables: FloatArray | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "weights", _readonly(self.weights))
        object.__setattr__(self, "yi", _readonly(self.yi))
        object.__setattr__(self, "vi", _readonly(self.vi))
        for name in ("ni", "tables"):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, _readonly(getattr(self, name)))
        object.__setattr__(self, "labels", tuple(str(s) for s in self.labels))
        object.__setattr__(self, "extra", dict(self.extra))

    # ----------------------------------------------------------------------------------------
    # natural scale
    # ----------------------------------------------------------------------------------------

    @property
    def measure_info(self) -> Measure:
        """The :class:`~metaoutcome.measures.Measure` of this result."""
        return get_measure(self.measure)

    def _back(self, values: FloatArray, ni: Any) -> FloatArray:
        m = self.measure_info
        v = np.asarray(values, dtype=float)
        if m.needs_ni and ni is None:
            return np.full(v.shape, np.nan)
        out = np.asarray(m.back(v, ni=ni), dtype=float)
        out = np.where(np.isnan(v), np.nan, out)
        return out * 100.0 if m.percent else out

    def pooled_ni(self) -> float | None:
        """Study size used to back-transform pooled PFT values: the harmonic mean of ``ni``."""
        if self.ni is None:
            return None
        return float(1.0 / np.mean(1.0 / self.ni))

    def back_transform(self) -> NaturalScale:
        """Pooled estimate, CI and PI on the natural scale.

        Proportions are returned in percent. For the Freeman-Tukey measure (PFT) the inversion
        uses the harmonic mean of the study sizes (metafor ``transf.ipft.hm``); without ``ni`` the
        values are NaN.

        Returns
        -------
        NaturalScale
        """
        vals = self._back(
            np.array([self.estimate, self.ci_low, self.ci_high, self.pi_low, self.pi_high]), self.pooled_ni()
        )
        lo, hi = np.sort(vals[1:3]) if not np.isnan(vals[1:3]).any() else vals[1:3]
        plo, phi = np.sort(vals[3:5]) if not np.isnan(vals[3:5]).any() else vals[3:5]
        return NaturalScale(
            measure=self.measure,
            estimate=float(vals[0]),
            ci_low=float(lo),
            ci_high=float(hi),
            pi_low=float(plo),
            pi_high=float(phi),
            unit=self.measure_info.axis_label,
        )

    # ----------------------------------------------------------------------------------------
    # tidy tables
    # ----------------------------------------------------------------------------------------

    def summary(self) -> pd.DataFrame:
        """Tidy per-study and pooled table.

        Returns
        -------
        pandas.DataFrame
            One row per pooled study (``row_type="study"``), one for the pooled estimate
            (``row_type="pooled"``) and one per excluded input row (``row_type="excluded"``,
            numbers NaN). Columns:

            - ``row_type``, ``label``;
            - ``yi``, ``vi``, ``se``, ``ci_low``, ``ci_high``: analysis scale; study CIs are
              ``yi -/+ z sqrt(vi)`` at the result's level, the pooled row carries the model's CI;
            - ``pi_low``, ``pi_high``: prediction interval (pooled row only);
            - ``weight``: percent (pooled row 100);
            - ``estimate_natural``, ``ci_low_natural``, ``ci_high_natural``, ``pi_low_natural``,
              ``pi_high_natural``: back-transformed (percent for proportions, ratios, months);
            - ``exclusion_reason``: why a row was not pooled (empty otherwise).
        """
        from .engine.dist import norm_isf

        z = float(norm_isf((1 - self.level / 100.0) / 2))
        se = np.sqrt(self.vi)
        n = self.yi.size
        study = pd.DataFrame(
            {
                "row_type": ["study"] * n,
                "label": list(self.labels),
                "yi": self.yi,
                "vi": self.vi,
                "se": se,
                "ci_low": self.yi - z * se,
                "ci_high": self.yi + z * se,
                "pi_low": np.nan,
                "pi_high": np.nan,
                "weight": self.weights if self.weights.size == n else np.full(n, np.nan),
            }
        )
        ni = self.ni if self.ni is not None and self.ni.size == n else None
        for col in ("yi", "ci_low", "ci_high"):
            name = "estimate_natural" if col == "yi" else f"{col}_natural"
            vals = self._back(study[col].to_numpy(), ni)
            study[name] = vals
        lo_n, hi_n = study["ci_low_natural"].to_numpy(), study["ci_high_natural"].to_numpy()
        study["ci_low_natural"], study["ci_high_natural"] = np.fmin(lo_n, hi_n), np.fmax(lo_n, hi_n)
        study["pi_low_natural"] = np.nan
        study["pi_high_natural"] = np.nan
        study["exclusion_reason"] = ""
        nat = self.back_transform()
        pooled = pd.DataFrame(
            {
                "row_type": ["pooled"],
                "label": [self._model_label()],
                "yi": [self.estimate],
                "vi": [self.se**2],
                "se": [self.se],
                "ci_low": [self.ci_low],
                "ci_high": [self.ci_high],
                "pi_low": [self.pi_low],
                "pi_high": [self.pi_high],
                "weight": [100.0 if self.weights.size else np.nan],
                "estimate_natural": [nat.estimate],
                "ci_low_natural": [nat.ci_low],
                "ci_high_natural": [nat.ci_high],
                "pi_low_natural": [nat.pi_low],
                "pi_high_natural": [nat.pi_high],
                "exclusion_reason": [""],
            }
        )
        frames = [study, pooled]
        if self.excluded:
            ex = pd.DataFrame(
                {
                    "row_type": ["excluded"] * len(self.excluded),
                    "label": [e.label for e in self.excluded],
                    "exclusion_reason": [e.reason for e in self.excluded],
                }
            )
            frames.append(ex.reindex(columns=study.columns))
            frames[-1]["exclusion_reason"] = frames[-1]["exclusion_reason"].astype(object)
        out = pd.concat(frames, ignore_index=True)
        out["exclusion_reason"] = out["exclusion_reason"].fillna("")
        return out

    def heterogeneity(self) -> pd.DataFrame:
        """Tidy heterogeneity table.

        Returns
        -------
        pandas.DataFrame
            Rows ``tau2``, ``tau``, ``i2`` (percent), ``h2``; columns ``statistic``,
            ``estimate``, ``se`` (tau2 only), ``ci_low``, ``ci_high``.
        """
        return pd.DataFrame(
            {
                "statistic": ["tau2", "tau", "i2", "h2"],
                "estimate": [self.tau2, self.tau, self.i2, self.h2],
                "se": [self.tau2_se, np.nan, np.nan, np.nan],
                "ci_low": [self.tau2_ci_low, self.tau_ci_low, self.i2_ci_low, self.h2_ci_low],
                "ci_high": [self.tau2_ci_high, self.tau_ci_high, self.i2_ci_high, self.h2_ci_high],
            }
        )

    # ----------------------------------------------------------------------------------------
    # report (single source for text / HTML / Markdown)
    # ----------------------------------------------------------------------------------------

    def _model_label(self) -> str:
        return {
            "common": "Common effect",
            "random": "Random effects",
            "MH": "Mantel-Haenszel",
            "Peto": "Peto",
            "GLMM": "Binomial-normal GLMM",
        }.get(self.model, self.model)

    def report(self) -> Report:
        """The display structure every view renders (:class:`metaoutcome.printer.Report`).

        ``__repr__``/``__str__`` (laid out like metafor's ``print.rma``), ``_repr_html_``,
        :meth:`to_markdown` and :meth:`to_latex` are its renderings. Blocks, in order: the
        heterogeneity statistics; the test(s) for heterogeneity (Q; for a GLMM the Wald-type and
        the likelihood-ratio tests, labelled ``Wld``/``LRT`` as metafor's ``print.rma.glmm``);
        the model results on the analysis scale (metafor's column names); the natural scale;
        for a Mantel-Haenszel odds ratio the Cochran-Mantel-Haenszel and Tarone tests (as
        ``print.rma.mh``); the excluded rows. Notes last.
        """
        if self.model == "common":
            title = {"FE": "Fixed-Effects Model", "EE": "Equal-Effects Model", "CE": "Common-Effects Model"}.get(
                self.method, "Common-Effect Model"
            ) + f" (k = {self.k})"
        elif self.model == "random":
            title = f"Random-Effects Model (k = {self.k}; tau^2 estimator: {self.method})"
        else:
            title = f"{self._model_label()} Model (k = {self.k})"
        random = self.model in ("random", "GLMM")
        het: list[tuple[str, tuple[float, float, float, float]]] = []
        if random:
            het.append(("tau^2", (self.tau2, self.tau2_se, self.tau2_ci_low, self.tau2_ci_high)))
            het.append(("tau", (self.tau, math.nan, self.tau_ci_low, self.tau_ci_high)))
        het.append(("I^2 (%)", (self.i2, math.nan, self.i2_ci_low, self.i2_ci_high)))
        het.append(("H^2", (self.h2, math.nan, self.h2_ci_low, self.h2_ci_high)))
        het_items = []
        for name, (est, se, lo, hi) in het:
            d = 2 if name.startswith("I") else 4
            txt = fmt_x(est, d)
            if not math.isnan(se):
                txt += f" (SE = {fmt_x(se)})"
            if not (math.isnan(lo) and math.isnan(hi)):
                txt += f"  {self.level:g}% CI [{fmt_x(lo, d)}, {fmt_x(hi, d)}]"
            het_items.append((name, txt))
        blocks: list[Lines | Table] = [Lines(tuple(het_items), align=True)]

        q_lrt = float(self.extra.get("q_lrt", math.nan)) if self.model == "GLMM" else math.nan
        if self.model == "GLMM" and not math.isnan(q_lrt):
            qs = [fmt_x(self.q), fmt_x(q_lrt)]
            w = max(len(v) for v in qs)
            blocks.append(Lines((
                ("", f"Wld(df = {self.q_df}) = {qs[0]:>{w}}, p-val {fmt_p(self.q_pvalue, showeq=True)}"),
                ("", f"LRT(df = {self.q_df}) = {qs[1]:>{w}}, p-val "
                     f"{fmt_p(self.extra.get('q_lrt_pvalue', math.nan), showeq=True)}"),
            ), heading="Tests for Heterogeneity:"))
        else:
            blocks.append(Lines(
                (("", f"Q(df = {self.q_df}) = {fmt_x(self.q)}, p-val {fmt_p(self.q_pvalue, showeq=True)}"),),
                heading="Test for Heterogeneity:",
            ))

        stat_name = "zval" if self.ci_method == "z" else "tval"
        cols: dict[str, Any] = {"estimate": self.estimate, "se": self.se, stat_name: self.statistic}
        if self.ci_method != "z":
            cols["df"] = f"{self.df:g}"
        cols.update({"pval": self.pvalue, "ci.lb": self.ci_low, "ci.ub": self.ci_high})
        if random:
            cols.update({"pi.lb": self.pi_low, "pi.ub": self.pi_high})
        m = self.measure_info
        blocks.append(Table(pd.DataFrame([cols]), heading=f"Model Results ({m.scale} scale):"))
        if m.scale != "raw" or m.percent:
            nat = self.back_transform()
            ncols = {"estimate": nat.estimate, "ci.lb": nat.ci_low, "ci.ub": nat.ci_high}
            if random:
                ncols.update({"pi.lb": nat.pi_low, "pi.ub": nat.pi_high})
            blocks.append(Table(pd.DataFrame([ncols]), heading=f"Natural scale ({m.axis_label}):"))
        if self.model == "MH" and "cmh" in self.extra and not math.isnan(self.extra["cmh"]):
            mh = [("", f"Cochran-Mantel-Haenszel Test:    CMH = {fmt_x(self.extra['cmh'])}, df = 1,  "
                       f"p-val {fmt_p(self.extra.get('cmh_pvalue', math.nan), showeq=True)}")]
            ta = float(self.extra.get("tarone", math.nan))
            if not math.isnan(ta):
                kpos = int(self.extra.get("tarone_df", self.q_df))
                mh.append(("", f"Tarone's Test for Heterogeneity: X^2 = {fmt_x(ta)}, df = {kpos}, "
                               f"p-val {fmt_p(self.extra.get('tarone_pvalue', math.nan), showeq=True)}"))
            blocks.append(Lines(tuple(mh)))
        if self.excluded:
            blocks.append(Lines(tuple(("", f"row {e.row} ({e.label}): {e.reason}") for e in self.excluded),
                                heading=f"Excluded rows ({len(self.excluded)}):", indent=2))
        return Report(title, tuple(blocks), tuple(self.notes))
