"""Priors for the between-study standard deviation tau (and the effect mu).

Every tau prior here is *proper* (it integrates to one), because the posterior is computed by
integrating over the prior's probability scale (see :mod:`metaoutcome.bayes.model`). Improper
choices (a uniform prior without an upper bound, a scale <= 0) are refused with a
``ValueError`` naming the argument.

The families are the ones bayesmeta users pass as ``tau.prior`` (Röver 2020, Section 2.2):
half-normal, half-Cauchy, half-Student-t, uniform on [0, upper] and log-normal, plus the
Turner et al. (2015) empirical log-normal priors for log odds ratios.

>>> p = half_normal(0.5)
>>> round(float(p.quantile(0.95)), 4)   # tau <= 0.98 with 95% prior probability (Röver 2020)
0.98
>>> turner_prior("surgical", "pharmacological", "placebo / control").label
'log-normal(mu=-1.070, sigma=0.870) [Turner et al. 2015]'
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

__all__ = [
    "TauPrior",
    "half_normal",
    "half_cauchy",
    "half_t",
    "uniform",
    "log_normal",
    "turner_prior",
    "TURNER_OUTCOMES",
    "TURNER_COMPARISONS",
    "get_tau_prior",
]

FloatArray = NDArray[np.float64]


def _positive(name: str, value: Any) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a positive number; got {value!r}") from None
    if not math.isfinite(v) or v <= 0:
        raise ValueError(f"{name} must be a finite number > 0 for a proper prior; got {value!r}")
    return v


@dataclass(frozen=True)
class TauPrior:
    """A proper prior distribution for the heterogeneity tau (>= 0).

    Attributes
    ----------
    family : str
        ``"half-normal"``, ``"half-Cauchy"``, ``"half-t"``, ``"uniform"`` or ``"log-normal"``.
    params : dict
        The family's parameters (``scale``; ``df``; ``upper``; ``mu``/``sigma`` on log tau).
    label : str
        How the prior prints, e.g. ``"half-normal(scale=0.5)"``.
    """

    family: str
    params: dict[str, float]
    label: str
    _dist: Any = field(repr=False, compare=False)

    @property
    def upper(self) -> float:
        """Upper end of the support (``inf`` except for the uniform prior)."""
        return float(self.params["upper"]) if self.family == "uniform" else math.inf

    def logpdf(self, tau: ArrayLike) -> FloatArray:
        """Log prior density (``-inf`` outside the support); plain numpy, no per-call overhead."""
        t = np.asarray(tau, dtype=float)
        p = self.params
        with np.errstate(divide="ignore", invalid="ignore"):
            if self.family == "half-normal":
                out = math.log(math.sqrt(2.0 / math.pi) / p["scale"]) - 0.5 * (t / p["scale"]) ** 2
            elif self.family == "half-Cauchy":
                out = math.log(2.0 / (math.pi * p["scale"])) - np.log1p((t / p["scale"]) ** 2)
            elif self.family == "half-t":
                df, sc = p["df"], p["scale"]
                c = math.lgamma((df + 1) / 2) - math.lgamma(df / 2) - 0.5 * math.log(df * math.pi)
                out = math.log(2.0 / sc) + c - (df + 1) / 2 * np.log1p((t / sc) ** 2 / df)
            elif self.family == "uniform":
                out = np.where(t <= p["upper"], -math.log(p["upper"]), -np.inf)
            else:  # log-normal
                lt = np.log(t)
                out = -lt - math.log(p["sigma"] * math.sqrt(2 * math.pi)) - 0.5 * ((lt - p["mu"]) / p["sigma"]) ** 2
            out = np.where(t < 0, -np.inf, out)
        return np.asarray(out, dtype=float)

    def pdf(self, tau: ArrayLike) -> FloatArray:
        """Prior density at ``tau`` (0 below 0)."""
        t = np.asarray(tau, dtype=float)
        return np.asarray(np.where(t < 0, 0.0, self._dist.pdf(t)), dtype=float)

    def cdf(self, tau: ArrayLike) -> FloatArray:
        """Prior distribution function at ``tau``."""
        t = np.asarray(tau, dtype=float)
        return np.asarray(np.where(t < 0, 0.0, self._dist.cdf(np.maximum(t, 0.0))), dtype=float)

    def quantile(self, p: ArrayLike) -> FloatArray:
        """Prior quantile function."""
        return np.asarray(self._dist.ppf(np.asarray(p, dtype=float)), dtype=float)

    def mean(self) -> float:
        """Prior mean (``inf`` for the half-Cauchy)."""
        return float(self._dist.mean())


def half_normal(scale: float = 0.5) -> TauPrior:
    """Half-normal prior with the given ``scale`` (bayesmeta ``dhalfnormal(t, scale)``).

    >>> round(float(half_normal(1).pdf(0.0)), 6)   # 2 * dnorm(0)
    0.797885
    """
    s = _positive("scale", scale)
    return TauPrior("half-normal", {"scale": s}, f"half-normal(scale={s:g})", stats.halfnorm(scale=s))


def half_cauchy(scale: float = 0.5) -> TauPrior:
    """Half-Cauchy prior with the given ``scale`` (bayesmeta ``dhalfcauchy``).

    >>> round(float(half_cauchy(1).quantile(0.5)), 6)
    1.0
    """
    s = _positive("scale", scale)
    return TauPrior("half-Cauchy", {"scale": s}, f"half-Cauchy(scale={s:g})", stats.halfcauchy(scale=s))


def half_t(df: float = 3.0, scale: float = 0.5) -> TauPrior:
    """Half-Student-t prior with ``df`` degrees of freedom and ``scale`` (bayesmeta ``dhalft``).

    >>> round(float(half_t(1, 2).quantile(0.5)), 6)   # df = 1 is the half-Cauchy
    2.0
    """
    d = _positive("df", df)
    s = _positive("scale", scale)
    return TauPrior("half-t", {"df": d, "scale": s}, f"half-t(df={d:g}, scale={s:g})", _HalfT(d, s))


def uniform(upper: float = 2.0) -> TauPrior:
    """Uniform prior on [0, ``upper``]; an unbounded uniform is improper and refused.

    >>> uniform(float("inf"))
    Traceback (most recent call last):
    ...
    ValueError: upper must be a finite number > 0 for a proper prior; got inf
    """
    u = _positive("upper", upper)
    return TauPrior("uniform", {"upper": u}, f"uniform(0, {u:g})", stats.uniform(loc=0.0, scale=u))


def log_normal(mu: float, sigma: float) -> TauPrior:
    """Log-normal prior on tau: log(tau) ~ N(mu, sigma^2), with the given ``mu`` and ``sigma``.

    >>> round(float(log_normal(0.0, 1.0).quantile(0.5)), 6)
    1.0
    """
    try:
        m = float(mu)
    except (TypeError, ValueError):
        raise ValueError(f"mu must be a number; got {mu!r}") from None
    if not math.isfinite(m):
        raise ValueError(f"mu must be finite; got {mu!r}")
    s = _positive("sigma", sigma)
    return TauPrior("log-normal", {"mu": m, "sigma": s}, f"log-normal(mu={m:.3f}, sigma={s:.3f})",
                    stats.lognorm(s=s, scale=math.exp(m)))


class _HalfT:
    """|T| * scale for T ~ Student t(df)."""

    def __init__(self, df: float, scale: float) -> None:
        self._t = stats.t(df)
        self.df, self.scale = df, scale

    def pdf(self, x: ArrayLike) -> FloatArray:
        x = np.asarray(x, dtype=float)
        return np.asarray(np.where(x < 0, 0.0, 2.0 * self._t.pdf(x / self.scale) / self.scale), dtype=float)

    def cdf(self, x: ArrayLike) -> FloatArray:
        x = np.asarray(x, dtype=float)
        return np.asarray(np.where(x < 0, 0.0, 2.0 * self._t.cdf(x / self.scale) - 1.0), dtype=float)

    def ppf(self, p: ArrayLike) -> FloatArray:
        return np.asarray(self.scale * self._t.ppf(0.5 + 0.5 * np.asarray(p, dtype=float)), dtype=float)

    def mean(self) -> float:
        if self.df <= 1:
            return math.inf
        t = self._t
        return float(2.0 * self.scale * t.expect(lambda v: v, lb=0.0))


# Turner et al. (2015), Statistics in Medicine 34(6):984-998, Table IV: log-normal priors for
# tau^2 (log-OR), by outcome type (rows) and type of comparison (columns). Values as tabulated
# in bayesmeta's TurnerEtAlParameters (bayesmeta 3.4, R/bayesmeta.R), which cites Table IV.
TURNER_OUTCOMES = (
    "all-cause mortality",
    "obstetric outcomes",
    "cause-specific mortality / major morbidity event / composite (mortality or morbidity)",
    "resource use / hospital stay / process",
    "surgical / device related success / failure",
    "withdrawals / drop-outs",
    "internal / structure-related outcomes",
    "general physical health indicators",
    "adverse events",
    "infection / onset of new disease",
    "signs / symptoms reflecting continuation / end of condition",
    "pain",
    "quality of life / functioning (dichotomized)",
    "mental health indicators",
    "biological markers (dichotomized)",
    "subjective outcomes (various)",
)
TURNER_COMPARISONS = (
    "pharmacological vs. placebo / control",
    "pharmacological vs. pharmacological",
    "non-pharmacological vs. placebo / control",
    "non-pharmacological vs. pharmacological",
    "non-pharmacological vs. non-pharmacological",
)
_TURNER_MU = (  # one tuple per comparison, one value per outcome (tau^2 scale)
    (-3.95, -3.52, -3.71, -2.34, -2.14, -2.99, -2.71, -2.29, -1.87, -2.49, -2.06, -1.83, -2.54, -2.12, -1.77, -2.70),
    (-4.18, -3.75, -3.95, -2.58, -2.37, -3.23, -2.94, -2.53, -2.10, -2.73, -2.29, -2.06, -2.78, -2.35, -2.00, -2.93),
    (-4.17, -3.74, -3.93, -2.56, -2.36, -3.21, -2.93, -2.51, -2.10, -2.71, -2.28, -2.05, -2.77, -2.34, -1.99, -2.92),
    (-2.92, -2.49, -2.68, -1.31, -1.11, -1.96, -1.67, -1.26, -0.84, -1.46, -1.03, -0.80, -1.51, -1.09, -0.74, -1.67),
    (-3.50, -3.08, -3.27, -1.90, -1.69, -2.55, -2.26, -1.85, -1.43, -2.05, -1.61, -1.38, -2.10, -1.67, -1.33, -2.26),
)
_TURNER_SIGMA = (
    (1.34, 1.74, 1.74, 1.74, 1.74, 1.74, 1.74, 1.53, 1.52, 1.52, 1.51, 1.52, 1.54, 1.53, 1.52, 1.52),
    (1.41, 1.79, 1.79, 1.79, 1.79, 1.79, 1.79, 1.58, 1.58, 1.58, 1.58, 1.58, 1.60, 1.60, 1.58, 1.58),
    (1.55, 1.91, 1.91, 1.91, 1.91, 1.91, 1.92, 1.72, 1.71, 1.71, 1.71, 1.71, 1.73, 1.72, 1.71, 1.71),
    (1.02, 1.50, 1.51, 1.50, 1.50, 1.51, 1.51, 1.25, 1.24, 1.24, 1.24, 1.25, 1.27, 1.27, 1.24, 1.25),
    (1.26, 1.68, 1.68, 1.68, 1.68, 1.68, 1.68, 1.46, 1.45, 1.45, 1.45, 1.45, 1.47, 1.47, 1.45, 1.45),
)
# the "marginal" setting (no covariates), Turner et al. (2015) p. 993
_TURNER_MARGINAL = (-2.56, 1.74)
_COMPARATORS = ("pharmacological", "non-pharmacological", "placebo / control")
# (comparator1, comparator2) -> column of Table IV
_PAIR = {
    ("pharmacological", "placebo / control"): 0,
    ("pharmacological", "pharmacological"): 1,
    ("non-pharmacological", "placebo / control"): 2,
    ("non-pharmacological", "pharmacological"): 3,
    ("non-pharmacological", "non-pharmacological"): 4,
}


def _match(name: str, value: str, allowed: tuple[str, ...]) -> str:
    """Partial (prefix) matching, as R's ``match.arg``."""
    v = str(value).strip().lower()
    hits = [a for a in allowed if a.lower() == v] or [a for a in allowed if a.lower().startswith(v)]
    if len(hits) != 1:
        raise ValueError(f"{name}={value!r} is not one of (a unique prefix of): " + "; ".join(allowed))
    return hits[0]


def turner_prior(outcome: str | None = None, comparator1: str = "pharmacological",
                 comparator2: str = "placebo / control") -> TauPrior:
    """Turner et al. (2015) empirical log-normal prior for tau (log odds ratio meta-analyses).

    Turner et al. give log-normal predictive distributions for tau^2; taking the square root halves
    the log-scale mean and SD, so tau ~ log-normal(mu/2, sigma/2) (as bayesmeta's
    ``TurnerEtAlPrior``).

    Parameters
    ----------
    outcome : str or None
        Outcome type (a unique prefix is enough, e.g. ``"surgical"``), one of
        :data:`TURNER_OUTCOMES`; ``None`` gives the marginal prior (mu = -2.56, sigma = 1.74).
    comparator1, comparator2 : str
        ``"pharmacological"``, ``"non-pharmacological"`` or ``"placebo / control"`` (not both
        placebo).

    References
    ----------
    Turner, R. M., Jackson, D., Wei, Y., Thompson, S. G., & Higgins, J. P. T. (2015). Predictive
    distributions for between-study heterogeneity and simple methods for their application in
    Bayesian meta-analysis. *Statistics in Medicine*, 34(6), 984-998 (Table IV).

    Examples
    --------
    >>> p = turner_prior("surgical", "pharmacological", "placebo / control")
    >>> [round(float(q), 5) for q in p.quantile([0.025, 0.5, 0.975])]   # Röver (2020), p. 31
    [0.06234, 0.34301, 1.88734]
    """
    if outcome is None:
        m2, s2 = _TURNER_MARGINAL
    else:
        o = _match("outcome", outcome, TURNER_OUTCOMES)
        c1 = _match("comparator1", comparator1, _COMPARATORS)
        c2 = _match("comparator2", comparator2, _COMPARATORS)
        key = (c1, c2) if (c1, c2) in _PAIR else (c2, c1)
        if key not in _PAIR:
            raise ValueError("comparator1 and comparator2 cannot both be 'placebo / control'")
        col, row = _PAIR[key], TURNER_OUTCOMES.index(o)
        m2, s2 = _TURNER_MU[col][row], _TURNER_SIGMA[col][row]
    p = log_normal(m2 / 2.0, s2 / 2.0)
    return TauPrior(p.family, p.params, p.label + " [Turner et al. 2015]", p._dist)


_FAMILIES: dict[str, Callable[..., TauPrior]] = {"half-normal": half_normal, "halfnormal": half_normal, "half-cauchy": half_cauchy,
             "halfcauchy": half_cauchy, "half-t": half_t, "uniform": uniform, "log-normal": log_normal}


def get_tau_prior(prior: TauPrior | str, **params: float) -> TauPrior:
    """A :class:`TauPrior` as is, or one built from a family name and its parameters.

    >>> get_tau_prior("half-normal", scale=1).label
    'half-normal(scale=1)'
    >>> get_tau_prior("Jeffreys")
    Traceback (most recent call last):
    ...
    ValueError: tau_prior='Jeffreys' is not supported: use a proper prior, one of half-normal, half-Cauchy, half-t, uniform, log-normal (or a TauPrior, e.g. turner_prior(...))
    """
    if isinstance(prior, TauPrior):
        return prior
    key = str(prior).strip().lower()
    if key not in _FAMILIES:
        raise ValueError(
            f"tau_prior={prior!r} is not supported: use a proper prior, one of half-normal, half-Cauchy, "
            "half-t, uniform, log-normal (or a TauPrior, e.g. turner_prior(...))"
        )
    return _FAMILIES[key](**params)
