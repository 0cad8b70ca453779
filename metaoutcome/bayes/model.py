"""Bayesian normal-normal random-effects meta-analysis by numerical integration (bayesmeta-like).

Model (Röver 2020, the normal-normal hierarchical model):

.. math:: y_i \\mid \\theta_i \\sim N(\\theta_i, \\sigma_i^2),\\quad
          \\theta_i \\mid \\mu, \\tau \\sim N(\\mu, \\tau^2),\\quad
          \\mu \\sim N(\\mu_p, \\sigma_p^2) \\text{ or flat},\\quad \\tau \\sim p(\\tau).

Given tau, everything is conjugate: mu | tau, y is normal, and so are a new study's effect and the
study-specific (shrunken) effects. The marginal posterior of tau is integrated numerically in
x = log(tau), where the integrand p(tau) p(y | tau) tau is smooth and decays at both ends:
composite Gauss-Legendre panels, first over the prior's range (its 1e-12 to 1 - 1e-15 quantiles),
then again over the part that carries the posterior mass. No Monte Carlo: the same input gives
the same numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from .._checks import check_choice, check_level
from .._display import ReportMixin
from ..measures import get_measure
from . import _mixture as mx
from .priors import TauPrior, get_tau_prior

__all__ = ["BayesMetaResult", "bayesmeta"]

FloatArray = NDArray[np.float64]

_GL_X, _GL_W = np.polynomial.legendre.leggauss(16)
# node values on a panel -> coefficients of the integral (from -1) of their interpolating polynomial
_LEG = np.polynomial.legendre
_INTEGRAL = np.column_stack([_LEG.legint(_LEG.legfit(_GL_X, e, 15), lbnd=-1) for e in np.eye(16)])
_FINE_S = np.linspace(-1.0, 1.0, 129)
_FINE_V = _LEG.legvander(_FINE_S, 16)
_PANELS = 24
_PANELS_FINE = 12


def _ro(a: Any) -> FloatArray:
    arr = np.array(a, dtype=float, copy=True)
    arr.setflags(write=False)
    return arr


def _panels(lo: float, hi: float, n: int, edges: FloatArray | None = None) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Gauss-Legendre nodes/weights on n equal panels of [lo, hi] (or on the given edges)."""
    if edges is None:
        edges = np.linspace(lo, hi, n + 1)
    half = 0.5 * np.diff(edges)
    mid = 0.5 * (edges[1:] + edges[:-1])
    x = (mid[:, None] + half[:, None] * _GL_X[None, :]).ravel()
    w = (half[:, None] * _GL_W[None, :]).ravel()
    return x, w, edges


class _Conditional:
    """Everything that is closed-form given tau."""

    def __init__(self, y: FloatArray, v: FloatArray, mu_mean: float, mu_sd: float) -> None:
        self.y, self.v = y, v
        self.m0, self.s0 = mu_mean, mu_sd
        self.flat = not math.isfinite(mu_sd)

    def at(self, tau: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        """log marginal likelihood, conditional mean and variance of mu, for each tau."""
        t2 = tau[:, None] ** 2
        vt = self.v[None, :] + t2
        w = 1.0 / vt
        prec = w.sum(axis=1)
        wy = (w * self.y[None, :]).sum(axis=1)
        wyy = (w * self.y[None, :] ** 2).sum(axis=1)
        if not self.flat:
            p0 = 1.0 / self.s0**2
            prec = prec + p0
            wy = wy + p0 * self.m0
            wyy = wyy + p0 * self.m0**2
        mean = wy / prec
        ll = -0.5 * np.log(vt).sum(axis=1) - 0.5 * np.log(prec) - 0.5 * (wyy - mean * mean * prec)
        return ll, mean, 1.0 / prec


@dataclass(frozen=True, eq=False, repr=False)
class BayesMetaResult(ReportMixin):
    """Result of :func:`bayesmeta`: marginal posteriors of mu and tau, prediction, shrinkage.

    All values are on the analysis scale (log HR, logit proportion, ...); :meth:`summary` adds
    natural-scale columns. Intervals are ``interval``-type credible intervals at ``level``.

    Attributes
    ----------
    k : int
        Number of studies.
    yi, vi : ndarray
        The estimates and their sampling variances.
    labels : tuple of str
        Study labels.
    measure : str
        Measure name (:mod:`metaoutcome.measures`).
    level : float
        Credible level in percent.
    interval : str
        ``"shortest"`` (bayesmeta's default) or ``"central"``.
    tau_prior : str
        Label of the heterogeneity prior.
    mu_prior_mean, mu_prior_sd : float
        Normal prior of mu (``mu_prior_sd = inf``: the improper flat prior).
    table : DataFrame
        One row per parameter (``mu``, ``tau``, ``theta_new`` then one ``theta[<label>]`` per
        study): ``parameter, mean, sd, median, ci_low, ci_high`` (and ``yi``, ``sei`` for studies).
    notes : tuple of str
        Warnings issued while computing.
    """

    k: int
    yi: FloatArray
    vi: FloatArray
    labels: tuple[str, ...]
    measure: str
    level: float
    interval: str
    tau_prior: str
    mu_prior_mean: float
    mu_prior_sd: float
    table: pd.DataFrame
    notes: tuple[str, ...]
    _w: FloatArray
    _m: FloatArray
    _s: FloatArray
    _tau: Any

    # -- convenient fields ---------------------------------------------------------------------
    def _row(self, name: str) -> pd.Series:
        return self.table.set_index("parameter").loc[name]

    @property
    def mu(self) -> pd.Series:
        """Posterior summary of the overall effect mu."""
        return self._row("mu")

    @property
    def tau(self) -> pd.Series:
        """Posterior summary of the heterogeneity tau."""
        return self._row("tau")

    @property
    def prediction(self) -> pd.Series:
        """Posterior predictive summary of a new study's effect theta_new."""
        return self._row("theta_new")

    def _index(self, parameter: str) -> int:
        names = ["mu", "theta_new"] + [f"theta[{lab}]" for lab in self.labels]
        if parameter in ("prediction", "predict"):
            parameter = "theta_new"
        if parameter == "tau":
            return -1
        if parameter not in names:
            raise ValueError(f"parameter={parameter!r} is not one of mu, tau, theta_new, " + ", ".join(names[2:]))
        return names.index(parameter)

    def cdf(self, x: ArrayLike, parameter: str = "mu") -> FloatArray:
        """Posterior distribution function of ``parameter`` at ``x`` (analysis scale).

        ``parameter``: ``"mu"``, ``"tau"``, ``"theta_new"`` or ``"theta[<label>]"``.
        """
        xs = np.atleast_1d(np.asarray(x, dtype=float))
        d = self._index(parameter)
        if d < 0:
            return np.asarray(self._tau.cdf(xs), dtype=float)
        return mx.cdf(xs[None, :], self._w, self._m[d : d + 1], self._s[d : d + 1])[0]

    def pdf(self, x: ArrayLike, parameter: str = "mu") -> FloatArray:
        """Posterior density of ``parameter`` at ``x`` (analysis scale)."""
        xs = np.atleast_1d(np.asarray(x, dtype=float))
        d = self._index(parameter)
        if d < 0:
            return np.asarray(self._tau.pdf(xs), dtype=float)
        return mx.pdf(xs[None, :], self._w, self._m[d : d + 1], self._s[d : d + 1])[0]

    def quantile(self, p: ArrayLike, parameter: str = "mu") -> FloatArray:
        """Posterior quantiles of ``parameter``."""
        ps = np.atleast_1d(np.asarray(p, dtype=float))
        if ((ps <= 0) | (ps >= 1)).any():
            raise ValueError(f"p must be in (0, 1); got {ps.tolist()}")
        d = self._index(parameter)
        if d < 0:
            return np.asarray(self._tau.quantile(ps), dtype=float)
        return mx.quantile(ps[None, :], self._w, self._m[d : d + 1], self._s[d : d + 1])[0]

    def prob(self, threshold: float, parameter: str = "mu", *, natural: bool = True, below: bool = True) -> float:
        """Posterior probability that ``parameter`` lies below (or above) ``threshold``.

        With ``natural=True`` the threshold is on the measure's natural scale (e.g. a hazard
        ratio: ``prob(0.8)`` is P(HR < 0.8)); otherwise on the analysis scale.

        >>> r = bayesmeta(yi=[-0.3, -0.2, -0.1], sei=[0.1, 0.1, 0.15], measure="HR")
        >>> round(r.prob(1.0), 3), round(r.prob(0.8), 3)   # P(HR < 1), P(HR < 0.8)
        (0.944, 0.469)
        """
        t = float(threshold)
        if natural and self.measure != "GEN":
            m = get_measure(self.measure)
            if m.scale == "log":
                if t <= 0:
                    raise ValueError(f"threshold must be > 0 on the {m.axis_label} scale; got {threshold!r}")
                t = math.log(t)
            elif m.scale == "logit":
                if not 0 < t < 1:
                    raise ValueError(f"threshold must be a proportion in (0, 1); got {threshold!r}")
                t = math.log(t / (1 - t))
        c = float(self.cdf(t, parameter)[0])
        return c if below else 1.0 - c

    def summary(self) -> pd.DataFrame:
        """The tidy table plus natural-scale columns (``*_natural``) for mu, theta_new, studies."""
        t = self.table.copy()
        if self.measure != "GEN" and not get_measure(self.measure).needs_ni:
            back = get_measure(self.measure).back
            nat = t["parameter"] != "tau"
            for c in ("median", "ci_low", "ci_high"):
                t[f"{c}_natural"] = np.where(nat, back(t[c].to_numpy()), np.nan)
        return t

    def studies(self) -> pd.DataFrame:
        """Observed estimates next to the shrunken (study-specific posterior) estimates."""
        t = self.table.iloc[3:].reset_index(drop=True)
        return t.assign(label=list(self.labels))[["label", "yi", "sei", "mean", "sd", "median", "ci_low", "ci_high"]]

    def report(self) -> dict[str, Any]:
        mu_p = "flat (improper uniform)" if not math.isfinite(self.mu_prior_sd) else \
            f"normal(mean={self.mu_prior_mean:g}, sd={self.mu_prior_sd:g})"
        return {
            "title": f"Bayesian random-effects meta-analysis (normal-normal model; k = {self.k}; measure {self.measure})",
            "lines": [("tau prior", self.tau_prior), ("mu prior", mu_p),
                      ("intervals", f"{self.level:g}% {self.interval} credible intervals")],
            "table": self.table[["parameter", "mean", "sd", "median", "ci_low", "ci_high"]],
            "notes": self.notes,
        }


class _TauPosterior:
    """Marginal posterior of tau, integrated in x = log(tau) on Gauss-Legendre panels.

    Within a panel, the density (in x) is the degree-15 polynomial through its 16 node values;
    the CDF integrates that polynomial exactly, so quantiles need no new likelihood evaluations.
    """

    def __init__(self, prior: TauPrior, cond: _Conditional, edges: FloatArray, shift: float,
                 h: FloatArray, gw: FloatArray) -> None:
        self.prior, self.cond, self.edges, self.shift = prior, cond, edges, shift
        self.z = float((h * gw).sum())
        npan = len(edges) - 1
        self.half = 0.5 * np.diff(edges)
        dens = (h / self.z).reshape(npan, -1)
        self.icoef = dens @ _INTEGRAL.T  # (panels, 17) Legendre coefficients of the within-panel CDF
        self.fine = self.icoef @ _FINE_V.T  # the within-panel CDF on 129 points, for starting values
        mass = self.fine[:, -1] * self.half
        self.cum = np.concatenate([[0.0], np.cumsum(mass)])
        self.cum = self.cum / self.cum[-1]
        self.total = float(np.sum(mass))

    def logf(self, t: FloatArray) -> FloatArray:
        """log posterior density of tau times z (shifted)."""
        t = np.asarray(t, dtype=float)
        with np.errstate(divide="ignore"):
            return np.asarray(self.prior.logpdf(t) + self.cond.at(np.maximum(t, 0.0))[0] - self.shift, dtype=float)

    def _cdf_x(self, x: float, exact: bool = True) -> float:
        """CDF at x = log(tau): the panels below plus this panel's part, integrated by 16-point
        Gauss-Legendre on [edge, x] (``exact``) or from the interpolating polynomial (a guess)."""
        if x <= self.edges[0]:
            return 0.0
        if x >= self.edges[-1]:
            return 1.0
        j = int(min(np.searchsorted(self.edges, x, side="right") - 1, len(self.half) - 1))
        if not exact:
            s = (x - self.edges[j]) / self.half[j] - 1.0
            return float(self.cum[j] + _LEG.legval(s, self.icoef[j]) * self.half[j] / self.total)
        half = 0.5 * (x - self.edges[j])
        xs = self.edges[j] + half + half * _GL_X
        part = float((np.exp(self.logf(np.exp(xs)) + xs) * _GL_W).sum() * half) / self.z
        return float(self.cum[j] + part / self.total)

    def _cdf_pdf_x(self, x: float) -> tuple[float, float]:
        """Exact CDF and density (both in x = log tau) at x, from one likelihood evaluation."""
        j = int(min(max(np.searchsorted(self.edges, x, side="right") - 1, 0), len(self.half) - 1))
        half = 0.5 * (x - self.edges[j])
        xs = np.append(self.edges[j] + half + half * _GL_X, x)
        hx = np.exp(self.logf(np.exp(xs)) + xs) / (self.z * self.total)
        return float(self.cum[j] + (hx[:-1] * _GL_W).sum() * half), float(hx[-1])

    def cdf(self, t: FloatArray) -> FloatArray:
        t = np.atleast_1d(np.asarray(t, dtype=float))
        return np.clip([self._cdf_x(math.log(ti)) if ti > 0 else 0.0 for ti in t], 0.0, 1.0)

    def pdf(self, t: FloatArray) -> FloatArray:
        t = np.atleast_1d(np.asarray(t, dtype=float))
        return np.asarray(np.where(t < 0, 0.0, np.exp(self.logf(t)) / self.z), dtype=float)

    def quantile(self, p: FloatArray, start: FloatArray | None = None) -> FloatArray:
        """Quantiles: a start from the interpolating polynomial, then Newton steps on the exact CDF."""
        p = np.atleast_1d(np.asarray(p, dtype=float))
        out = np.empty_like(p)
        for i, pi in enumerate(p):
            j = int(min(max(np.searchsorted(self.cum, pi, side="right") - 1, 0), len(self.half) - 1))
            lo, hi = self.edges[j], self.edges[j + 1]
            if start is not None and start[i] > 0:
                x = math.log(float(start[i]))
            else:  # linear interpolation of the interpolating polynomial's CDF on 129 points
                c = self.cum[j] + self.fine[j] * self.half[j] / self.total
                x = float(np.interp(pi, np.maximum.accumulate(c), lo + (_FINE_S + 1.0) * self.half[j]))
            for _ in range(20):
                f, d = self._cdf_pdf_x(x)
                f -= pi
                if not d > 0:
                    break
                step = f / d
                x -= step
                if abs(step) < 1e-13 * (1 + abs(x)):
                    break
            out[i] = math.exp(x)
        return out

    def interval(self, level: float, kind: str) -> tuple[float, float]:
        alpha = 1 - level
        if kind == "central":
            lo, hi = self.quantile(np.array([alpha / 2, 1 - alpha / 2]))
            return float(lo), float(hi)
        # shortest: one-sided [0, q(level)] when the density at 0 is at least that at q(level)
        up = float(self.quantile(np.array([level]))[0])
        if float(self.pdf(np.array([0.0]))[0]) >= float(self.pdf(np.array([up]))[0]):
            return 0.0, up
        # else f(a) = f(b): Newton steps in the lower tail probability p (see _mixture.shortest)
        p = alpha / 2
        ab = self.quantile(np.array([p, p + level]))
        for _ in range(60):
            f = self.pdf(ab)
            eps = 1e-6 * ab
            dl = (self.logf(ab + eps) - self.logf(ab - eps)) / (2 * eps)
            d1 = 1 / f[1] - 1 / f[0]
            d2 = -dl[1] / f[1] ** 2 + dl[0] / f[0] ** 2
            pn = p - d1 / d2 if d2 > 0 else p
            pn = min(max(pn, alpha * 1e-9), alpha * (1 - 1e-9))
            moved = abs(pn - p)
            if moved < 1e-14:
                break
            # first-order update of the endpoints, then exact Newton polishing from there
            guess = ab + (pn - p) / np.maximum(f, 1e-300)
            p = pn
            ab = self.quantile(np.array([p, p + level]), start=np.where(guess > 0, guess, ab))
            if moved < 1e-12:
                break
        return float(ab[0]), float(ab[1])


def bayesmeta(
    data: pd.DataFrame | None = None,
    *,
    yi: ArrayLike | str | None = None,
    vi: ArrayLike | str | None = None,
    sei: ArrayLike | str | None = None,
    labels: Any = None,
    measure: str | None = None,
    tau_prior: TauPrior | str = "half-normal",
    tau_prior_scale: float | None = None,
    mu_prior_mean: float = 0.0,
    mu_prior_sd: float | None = None,
    level: float = 95,
    interval: str = "shortest",
) -> BayesMetaResult:
    """Bayesian random-effects meta-analysis of ``yi`` (normal-normal model), as R's bayesmeta.

    Parameters
    ----------
    data : DataFrame, optional
        An effect-size frame (columns ``yi``, ``vi``; ``measure`` and a label column used when
        present; rows without yi/vi are excluded and listed in the notes), as :func:`pool` takes.
    yi, vi, sei : array-like or str, optional
        Estimates and their variances (or standard errors), or column names of ``data``.
    labels : sequence or str, optional
        Study labels.
    measure : str, optional
        Measure name (for natural-scale summaries), e.g. ``"HR"``, ``"OR"``, ``"PLO"``.
    tau_prior : TauPrior or str, default "half-normal"
        Prior for tau: a :class:`~metaoutcome.bayes.priors.TauPrior` (``half_normal(0.5)``,
        ``half_cauchy``, ``half_t``, ``uniform(upper)``, ``log_normal``, ``turner_prior``) or a
        family name with ``tau_prior_scale``. Improper priors are refused.
    tau_prior_scale : float, optional
        Scale of a named half-normal/half-Cauchy prior (default 0.5, the weakly informative choice
        for log odds and hazard ratios, Friede et al. 2017).
    mu_prior_mean, mu_prior_sd : float
        Normal prior of mu; ``mu_prior_sd=None`` (default) is bayesmeta's flat prior.
    level : float, default 95
        Credible level (percent, or a proportion in (0.5, 1)).
    interval : {"shortest", "central"}, default "shortest"
        Interval type (bayesmeta quotes shortest intervals).

    Returns
    -------
    BayesMetaResult
        ``table`` columns: ``parameter, yi, sei, mean, sd, median, ci_low, ci_high``.

    Notes
    -----
    Given tau, mu | tau, y ~ N(m(tau), V(tau)) with precision sum_i 1/(sigma_i^2 + tau^2)
    (+ 1/sigma_p^2); a new study's effect is N(m, V + tau^2); study i's effect is
    N((1 - B_i) y_i + B_i m, (1 - B_i) sigma_i^2 + B_i^2 V), B_i = sigma_i^2 / (sigma_i^2 + tau^2).
    The marginal posterior of tau, p(tau) p(y | tau), is integrated in log(tau) with 16-point
    Gauss-Legendre panels (24 over the prior's range, then 12 over the region holding the mass).

    References
    ----------
    Röver, C. (2020). Bayesian random-effects meta-analysis using the bayesmeta R package.
    *Journal of Statistical Software*, 93(6), 1-51.
    Friede, T., Röver, C., Wandel, S., & Neuenschwander, B. (2017). Meta-analysis of few small
    studies in orphan diseases. *Research Synthesis Methods*, 8(1), 79-91.

    Examples
    --------
    >>> import numpy as np
    >>> from metaoutcome.bayes import bayesmeta, half_normal
    >>> y = [-2.3097, -0.4595, -2.3026, -1.7554, -1.2622, -2.4204]   # Röver (2020), Table 3
    >>> s = [0.5995, 0.5564, 0.8790, 0.4582, 0.6398, 1.5328]
    >>> r = bayesmeta(yi=y, sei=s, tau_prior=half_normal(0.5), mu_prior_mean=0, mu_prior_sd=4)
    >>> round(float(r.mu["median"]), 2), round(float(r.tau["median"]), 2)
    (-1.57, 0.34)
    """
    from .._frontdoor import resolve  # the one front door, as pool() and meta_regression() use

    if data is not None and yi is not None and not isinstance(yi, str):
        raise ValueError("pass the effect sizes either as data= or as yi=, not both")
    inp = resolve(yi, vi, sei, data, labels, None, measure)
    y, v, labs, mname, excluded = inp.y, inp.v, inp.labels, inp.measure, inp.excluded
    lvl = check_level(level)
    kind = check_choice("interval", interval, ("shortest", "central"))
    if isinstance(tau_prior, TauPrior):
        if tau_prior_scale is not None:
            raise ValueError("tau_prior_scale is only for a named tau_prior; a TauPrior carries its own parameters")
        prior = tau_prior
    else:
        name = str(tau_prior).strip().lower()
        params = {"scale": 0.5 if tau_prior_scale is None else tau_prior_scale}
        if name in ("uniform",):
            params = {"upper": 2.0 if tau_prior_scale is None else tau_prior_scale}
        prior = get_tau_prior(name, **params) if name not in ("log-normal",) else get_tau_prior(name)
    m0 = float(mu_prior_mean)
    if not math.isfinite(m0):
        raise ValueError(f"mu_prior_mean must be finite; got {mu_prior_mean!r}")
    if mu_prior_sd is None:
        s0 = math.inf
    else:
        s0 = float(mu_prior_sd)
        if not (s0 > 0):
            raise ValueError(f"mu_prior_sd must be > 0 (None for the flat prior); got {mu_prior_sd!r}")
    notes = [f"{len(excluded)} row(s) excluded: " + "; ".join(f"{e.label}: {e.reason}" for e in excluded)] \
        if excluded else []
    return _fit(y, v, labs, mname, prior, m0, s0, lvl, kind, notes)


def _fit(y: FloatArray, v: FloatArray, labs: tuple[str, ...], mname: str, prior: TauPrior, m0: float,
         s0: float, lvl: float, kind: str, notes: list[str]) -> BayesMetaResult:
    cond = _Conditional(y, v, m0, s0)
    # pass 1: x = log(tau) over the prior's range; pass 2: where the posterior mass is
    lo_x = math.log(float(prior.quantile(1e-12)))
    hi_x = math.log(min(float(prior.quantile(1.0 - 1e-15)), prior.upper))

    def log_h(x: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        t = np.exp(x)
        ll, mean, var = cond.at(t)
        with np.errstate(divide="ignore"):
            return prior.logpdf(t) + ll + x, mean, var

    x, gw, edges = _panels(lo_x, hi_x, _PANELS)
    lh = log_h(x)[0]
    keep = lh > lh.max() - 46.0  # 1e-20 of the largest integrand value
    pan = np.flatnonzero(keep.reshape(_PANELS, -1).any(axis=1))
    a, b = edges[max(pan.min() - 1, 0)], edges[min(pan.max() + 2, _PANELS)]
    # pass 2 locates the core (within e^-20 of the peak); pass 3: 12 panels on the core and 3 on
    # each tail (log(tau) -> -inf decays only like tau, so the left tail is long but light)
    x, gw, edges = _panels(a, b, _PANELS_FINE)
    lh = log_h(x)[0]
    core = np.flatnonzero((lh > lh.max() - 20.0).reshape(_PANELS_FINE, -1).any(axis=1))
    c, d = edges[max(core.min() - 1, 0)], edges[min(core.max() + 2, _PANELS_FINE)]
    parts = [np.linspace(a, c, 4)[:-1]] if c > a else []
    parts.append(np.linspace(c, d, _PANELS_FINE + 1))
    if d < b:
        parts.append(np.linspace(d, b, 4)[1:])
    x, gw, edges = _panels(a, b, 0, edges=np.concatenate(parts))
    lh, mean, var = log_h(x)
    shift = float(lh.max())
    h = np.exp(lh - shift)
    w = h * gw
    w = w / w.sum()
    tau = np.exp(x)
    tpost = _TauPosterior(prior, cond, edges, shift, h, gw)
    # nodes with < 1e-12 of the largest weight (the far tails; together < 1e-10 of the mass) are
    # dropped from the mixtures of mu, theta_new and theta_i, for speed; tau keeps every node
    big = w > 1e-12 * w.max()
    w, tau, mean, var = w[big] / w[big].sum(), tau[big], mean[big], var[big]
    t2 = tau**2
    B = v[:, None] / (v[:, None] + t2[None, :])  # (k, J)
    M = np.vstack([mean, mean, (1 - B) * y[:, None] + B * mean[None, :]])
    S = np.sqrt(np.vstack([var, var + t2, (1 - B) * v[:, None] + B**2 * var[None, :]]))
    mom_mean, mom_sd = mx.moments(w, M, S)
    med = mx.quantile(np.full((M.shape[0], 1), 0.5), w, M, S)[:, 0]
    ci = mx.shortest(lvl, w, M, S) if kind == "shortest" else mx.central(lvl, w, M, S)

    tau_mean = float(w @ tau)
    tau_sd = float(math.sqrt(max(w @ t2 - tau_mean**2, 0.0)))
    # an infinite prior mean survives in the posterior only when the likelihood is flat in tau
    # (flat mu prior and k = 1)
    if not math.isfinite(prior.mean()) and math.isinf(s0) and len(y) == 1:
        tau_mean = tau_sd = math.inf
        notes.append("with k = 1, a flat mu prior and a heavy-tailed tau prior, tau's posterior is its prior: "
                     "the posterior mean and SD of tau (and of mu) are infinite")
        mom_mean[:2] = np.nan
        mom_sd[:2] = math.inf
    tau_ci = tpost.interval(lvl, kind)
    tau_med = float(tpost.quantile(np.array([0.5]))[0])

    names = ["mu", "theta_new"] + [f"theta[{lab}]" for lab in labs]
    rows = []
    for d, nm in enumerate(names):
        rows.append(dict(parameter=nm, yi=y[d - 2] if d >= 2 else np.nan, sei=math.sqrt(v[d - 2]) if d >= 2 else np.nan,
                         mean=mom_mean[d], sd=mom_sd[d], median=med[d], ci_low=ci[d, 0], ci_high=ci[d, 1]))
    rows.insert(1, dict(parameter="tau", yi=np.nan, sei=np.nan, mean=tau_mean, sd=tau_sd, median=tau_med,
                        ci_low=tau_ci[0], ci_high=tau_ci[1]))
    table = pd.DataFrame(rows)
    # order: mu, tau, theta_new, studies
    table = pd.concat([table.iloc[[0, 1, 2]], table.iloc[3:]]).reset_index(drop=True)
    if len(y) == 1:
        notes.append("k = 1: tau is informed by its prior only; the study-specific estimate shrinks towards mu")
    return BayesMetaResult(
        k=len(y), yi=_ro(y), vi=_ro(v), labels=tuple(labs), measure=mname, level=lvl * 100, interval=kind,
        tau_prior=prior.label, mu_prior_mean=m0, mu_prior_sd=s0, table=table, notes=tuple(notes),
        _w=_ro(w), _m=_ro(M), _s=_ro(S), _tau=tpost,
    )

