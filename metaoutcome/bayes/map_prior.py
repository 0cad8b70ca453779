"""Meta-analytic-predictive (MAP) prior for a response rate from historical arms (RBesT-like).

Binomial-normal hierarchical model (RBesT ``gMAP(cbind(r, n - r) ~ 1 | study, family = binomial)``):

.. math:: r_i \\sim \\mathrm{Bin}(n_i, \\mathrm{expit}\\,\\theta_i),\\quad
          \\theta_i \\sim N(\\mu, \\tau^2),\\quad \\mu \\sim N(m_0, s_0^2),\\quad \\tau \\sim p(\\tau),

and the MAP prior is the posterior predictive of a new arm's rate expit(theta*), theta* ~ N(mu, tau^2).
RBesT samples this by MCMC (Stan); here it is integrated deterministically: each study's integral
over theta_i by 20-point adaptive Gauss-Hermite quadrature (centred on the mode, scaled by the
curvature), and (mu, log tau) on Gauss-Legendre panels re-placed over the region holding the
posterior mass. As in RBesT, the MAP prior is then approximated by a mixture of beta densities
(here by minimising the Kullback-Leibler divergence from the exact MAP on 1000 of its quantiles;
RBesT runs EM on MCMC draws), robustified by a vague component, and its effective sample size
computed by the elir, moment or Morita methods (RBesT ``ess``).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import optimize, stats
from scipy.special import betaln, digamma, expit, gammaln, logsumexp

from .._checks import as_float_array, check_choice
from .._display import ReportMixin
from . import _mixture as mx
from .priors import TauPrior, get_tau_prior

__all__ = ["BetaMixture", "MAPPrior", "map_prior"]

FloatArray = NDArray[np.float64]

_GH_X, _GH_W = np.polynomial.hermite.hermgauss(20)
_GL8_X, _GL8_W = np.polynomial.legendre.leggauss(8)


@dataclass(frozen=True)
class BetaMixture:
    """A mixture of beta densities ``sum_k w_k Beta(a_k, b_k)`` (RBesT ``mixbeta``).

    >>> m = BetaMixture([0.6167463, 0.3832537], [19.1916387, 3.5278745], [57.7779318, 9.3735980])
    >>> round(m.ess("elir")), round(m.ess("moment")), round(m.ess("morita"))   # RBesT vignette, AS example
    (37, 26, 63)
    """

    w: tuple[float, ...]
    a: tuple[float, ...]
    b: tuple[float, ...]
    labels: tuple[str, ...] = field(default=())

    def __init__(self, w: ArrayLike, a: ArrayLike, b: ArrayLike, labels: tuple[str, ...] = ()) -> None:
        wa = as_float_array("w", w, nonnegative=True)
        aa = as_float_array("a", a, positive=True)
        ba = as_float_array("b", b, positive=True)
        if not (len(wa) == len(aa) == len(ba)) or len(wa) == 0:
            raise ValueError("w, a and b must have one value per component (at least one)")
        if not math.isclose(float(wa.sum()), 1.0, rel_tol=1e-9, abs_tol=1e-9):
            raise ValueError(f"the weights w must sum to 1; they sum to {wa.sum()!r}")
        object.__setattr__(self, "w", tuple(float(x) for x in wa))
        object.__setattr__(self, "a", tuple(float(x) for x in aa))
        object.__setattr__(self, "b", tuple(float(x) for x in ba))
        object.__setattr__(self, "labels", tuple(labels) or tuple(f"comp{i + 1}" for i in range(len(wa))))

    def _arr(self) -> tuple[FloatArray, FloatArray, FloatArray]:
        return np.array(self.w), np.array(self.a), np.array(self.b)

    def logpdf(self, x: ArrayLike) -> FloatArray:
        w, a, b = self._arr()
        xs = np.clip(np.asarray(x, dtype=float), 1e-300, 1 - 1e-16)[..., None]
        with np.errstate(divide="ignore"):
            comp = np.log(w) + (a - 1) * np.log(xs) + (b - 1) * np.log1p(-xs) - betaln(a, b)
        return np.asarray(logsumexp(comp, axis=-1), dtype=float)

    def pdf(self, x: ArrayLike) -> FloatArray:
        """Density."""
        return np.exp(self.logpdf(x))

    def cdf(self, x: ArrayLike) -> FloatArray:
        """Distribution function."""
        w, a, b = self._arr()
        return np.asarray((stats.beta.cdf(np.asarray(x, dtype=float)[..., None], a, b) * w).sum(axis=-1), dtype=float)

    @property
    def mean(self) -> float:
        w, a, b = self._arr()
        return float((w * a / (a + b)).sum())

    @property
    def sd(self) -> float:
        w, a, b = self._arr()
        m2 = (w * a * (a + 1) / ((a + b) * (a + b + 1))).sum()
        return float(math.sqrt(max(m2 - self.mean**2, 0.0)))

    def quantile(self, p: ArrayLike) -> FloatArray:
        """Quantiles by root-finding on the CDF."""
        ps = np.atleast_1d(np.asarray(p, dtype=float))
        return np.array([optimize.brentq(lambda x: float(self.cdf(x)) - q, 0.0, 1.0, xtol=1e-14) for q in ps])

    def _info(self, x: FloatArray) -> FloatArray:
        """-(d^2/dx^2) log density (RBesT ``betaMixInfo``)."""
        w, a, b = self._arr()
        x = np.clip(np.asarray(x, dtype=float), np.finfo(float).eps, 1 - np.finfo(float).eps)[..., None]
        with np.errstate(divide="ignore"):
            lc = np.log(w) + (a - 1) * np.log(x) + (b - 1) * np.log1p(-x) - betaln(a, b)
        pi = np.exp(lc - logsumexp(lc, axis=-1, keepdims=True))
        g = (a - 1) / x - (b - 1) / (1 - x)
        h = -(a - 1) / x**2 - (b - 1) / (1 - x) ** 2
        return np.asarray((pi * g).sum(axis=-1) ** 2 - (pi * (g * g + h)).sum(axis=-1), dtype=float)

    def mode(self) -> float:
        """The highest mode (a warning when the mixture has several)."""
        xs = np.linspace(1e-6, 1 - 1e-6, 20001)
        ld = self.logpdf(xs)
        peaks = np.flatnonzero((ld[1:-1] > ld[:-2]) & (ld[1:-1] >= ld[2:])) + 1
        i = int(np.argmax(ld))
        if len(peaks) > 1:
            warnings.warn("the mixture has several modes; the ESS is computed at the highest one (as RBesT)",
                          RuntimeWarning, stacklevel=3)
        lo, hi = xs[max(i - 1, 0)], xs[min(i + 1, len(xs) - 1)]
        res = optimize.minimize_scalar(lambda x: -float(self.logpdf(x)), bounds=(lo, hi), method="bounded",
                                       options={"xatol": 1e-12})
        return float(res.x)

    def ess(self, method: str = "elir", s: float = 100.0) -> float:
        """Effective sample size as RBesT ``ess`` defines it.

        ``"elir"`` (default): expected local-information ratio, integral of f(x) i(x) x (1 - x)
        (Neuenschwander et al. 2020); ``"moment"``: a + b of the beta with the mixture's mean and
        SD; ``"morita"``: Morita et al. (2008) at the mode, with a flattened Beta(x/s, (1 - x)/s).

        References
        ----------
        Neuenschwander, B., Weber, S., Schmidli, H., & O'Hagan, A. (2020). Predictively consistent
        prior effective sample sizes. *Biometrics*, 76(2), 578-587.
        Morita, S., Thall, P. F., & Müller, P. (2008). Determining the effective sample size of a
        parametric prior. *Biometrics*, 64(2), 595-602.
        """
        key = check_choice("method", method, ("elir", "moment", "morita"))
        if key == "moment":
            m, sd = self.mean, self.sd
            return float(m * (1 - m) / sd**2 - 1)
        if key == "elir":
            if min(self.a) < 1 or min(self.b) < 1:
                raise ValueError("the elir ESS needs every beta parameter >= 1 (its integral diverges otherwise)")
            # integrate on the logit scale over the mixture's bulk: x = expit(z), dx = x (1 - x) dz
            lo, hi = (float(np.log(q / (1 - q))) for q in self.quantile([1e-12, 1 - 1e-12]))
            edges = np.linspace(lo, hi, 41)
            half = 0.5 * np.diff(edges)[:, None]
            z = (0.5 * (edges[1:] + edges[:-1]))[:, None] + half * _GL8_X[None, :]
            x = expit(z)
            jac = half * _GL8_W[None, :] * x * (1 - x)
            return float((self.pdf(x) * self._info(x) * x * (1 - x) * jac).sum())
        x = self.mode()
        # information of the flattened Beta(x/s, (1 - x)/s) at x (RBesT betaInfo)
        info0 = (x / s - 1) / x**2 + ((1 - x) / s - 1) / (1 - x) ** 2
        pd0 = 1 - self.mean
        einfo = pd0 / (1 - x) ** 2 + (1 - pd0) / x**2
        return float((float(self._info(np.array(x))) - info0) / einfo)

    def robustify(self, weight: float = 0.2, mean: float = 0.5, n: float = 1.0) -> BetaMixture:
        """Add a vague component Beta(mean (n + 1), (1 - mean) (n + 1)) with ``weight`` (RBesT ``robustify``).

        >>> m = BetaMixture([1.0], [20.0], [60.0]).robustify(0.2)
        >>> m.w, m.a[-1], m.b[-1]
        ((0.8, 0.2), 1.0, 1.0)
        """
        wt = float(weight)
        if not 0 < wt < 1:
            raise ValueError(f"weight must be in (0, 1); got {weight!r}")
        mu = float(mean)
        if not 0 < mu < 1:
            raise ValueError(f"mean must be in (0, 1); got {mean!r}")
        if not float(n) > 0:
            raise ValueError(f"n must be > 0; got {n!r}")
        w = [x * (1 - wt) for x in self.w] + [wt]
        return BetaMixture(w, list(self.a) + [mu * (n + 1)], list(self.b) + [(1 - mu) * (n + 1)],
                           labels=self.labels + ("robust",))

    def table(self) -> pd.DataFrame:
        """``component, w, a, b`` (one row per component)."""
        return pd.DataFrame({"component": list(self.labels), "w": self.w, "a": self.a, "b": self.b})

    def __str__(self) -> str:
        return "beta mixture: " + ", ".join(f"{w:.3f} Beta({a:.2f}, {b:.2f})" for w, a, b in zip(self.w, self.a, self.b))


def _fit_mixture(x: FloatArray, components: int) -> BetaMixture:
    """Beta mixture (all a, b >= 1) maximising the mean log density on the quasi-sample x."""
    lx, l1x = np.log(x), np.log1p(-x)
    m, v = float(x.mean()), float(x.var())
    n0 = max(m * (1 - m) / v - 1, 2.5)

    def unpack(theta: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        J = components
        lw = np.concatenate([[0.0], theta[: J - 1]])
        w = np.exp(lw - logsumexp(lw))
        a = 1 + np.exp(theta[J - 1 : 2 * J - 1])
        b = 1 + np.exp(theta[2 * J - 1 :])
        return w, a, b

    def nll(theta: FloatArray) -> tuple[float, FloatArray]:
        w, a, b = unpack(theta)
        comp = np.log(w) + (a - 1) * lx[:, None] + (b - 1) * l1x[:, None] - betaln(a, b)
        top = comp.max(axis=1, keepdims=True)
        dens = np.exp(comp - top)
        tot = dens.sum(axis=1, keepdims=True)
        resp = dens / tot  # responsibilities
        ll = float((np.log(tot[:, 0]) + top[:, 0]).mean())
        rm = resp.mean(axis=0)
        dab = digamma(a + b)
        ga = (resp * (lx[:, None] - digamma(a) + dab)).mean(axis=0) * (a - 1)
        gb = (resp * (l1x[:, None] - digamma(b) + dab)).mean(axis=0) * (b - 1)
        gw = (rm - w)[1:]
        return -ll, -np.concatenate([gw, ga, gb])

    best = None
    for spread in (1.0, 3.0, 8.0):
        ns = n0 * np.array([1.0 / spread**j for j in range(components)])
        ms = np.clip(m + (np.arange(components) - (components - 1) / 2) * 0.0, 1e-3, 1 - 1e-3)
        a0, b0 = np.maximum(ms * ns, 1.01), np.maximum((1 - ms) * ns, 1.01)
        theta0 = np.concatenate([np.zeros(components - 1) - 0.5, np.log(a0 - 1), np.log(b0 - 1)])
        # BFGS's line search may try steps where exp() overflows; those trial points come back as
        # inf/NaN and are rejected by the search, so numpy's warnings about them are noise
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            res = optimize.minimize(nll, theta0, jac=True, method="BFGS", options={"gtol": 1e-10})
        if best is None or res.fun < best.fun:
            best = res
    assert best is not None
    w, a, b = unpack(best.x)
    order = np.argsort(-w)
    return BetaMixture(w[order], a[order], b[order])


@dataclass(frozen=True, eq=False, repr=False)
class MAPPrior(ReportMixin):
    """Result of :func:`map_prior`.

    Attributes
    ----------
    k : int
        Number of historical arms.
    events, n : ndarray
        Responders and arm sizes.
    labels : tuple of str
        Arm labels.
    tau_prior : str
        Prior of tau (on the logit scale).
    mu_prior_mean, mu_prior_sd : float
        Normal prior of the logit mean.
    table : DataFrame
        ``parameter, mean, sd, q025, median, q975`` for ``tau`` and ``map`` (the MAP prior of the
        response rate, exact: from the integrated posterior, not from the mixture).
    mixture : BetaMixture
        Parametric approximation of the MAP prior.
    notes : tuple of str
        Rows excluded, warnings.
    """

    k: int
    events: FloatArray
    n: FloatArray
    labels: tuple[str, ...]
    tau_prior: str
    mu_prior_mean: float
    mu_prior_sd: float
    table: pd.DataFrame
    mixture: BetaMixture
    notes: tuple[str, ...]
    _w: FloatArray = field(repr=False)
    _m: FloatArray = field(repr=False)
    _s: FloatArray = field(repr=False)

    @property
    def mean(self) -> float:
        """Mean of the MAP prior (the benchmark response rate)."""
        return float(self.table.set_index("parameter").loc["map", "mean"])

    def quantile(self, p: ArrayLike) -> FloatArray:
        """Exact quantiles of the MAP prior of the response rate."""
        ps = np.atleast_1d(np.asarray(p, dtype=float))
        return np.asarray(expit(mx.quantile(ps[None, :], self._w, self._m, self._s)[0]), dtype=float)

    def ess(self, method: str = "elir") -> float:
        """Effective sample size of the fitted mixture (RBesT ``ess(map, method)``)."""
        return self.mixture.ess(method)

    def robustify(self, weight: float = 0.2, mean: float = 0.5) -> BetaMixture:
        """The robust MAP prior: the mixture plus a vague Beta component (RBesT ``robustify``)."""
        return self.mixture.robustify(weight, mean)

    def report(self) -> dict[str, Any]:
        return {"title": f"Meta-analytic-predictive prior for a response rate (k = {self.k} historical arms)",
                "lines": [("tau prior", self.tau_prior),
                          ("mu prior", f"normal(mean={self.mu_prior_mean:g}, sd={self.mu_prior_sd:g}) on the logit scale"),
                          ("mixture approximation", str(self.mixture)),
                          ("ESS (elir / moment / morita)",
                           " / ".join(f"{self.ess(m):.1f}" for m in ("elir", "moment", "morita")))],
                "table": self.table, "notes": self.notes}


def _log_study_lik(r: FloatArray, nn: FloatArray, mu: FloatArray, tau: FloatArray) -> FloatArray:
    """log int Bin(r | n, expit t) N(t; mu, tau^2) dt by adaptive Gauss-Hermite, broadcast over
    mu/tau grids (shape G) and studies (last axis)."""
    mu_ = mu[..., None]
    t2 = (tau**2)[..., None]
    # start at the precision-weighted mean of the normal and the (continuity-corrected) logit
    ph = (r + 0.5) / (nn + 1.0)
    li = np.log(ph / (1 - ph))
    vi = 1.0 / ((nn + 1.0) * ph * (1 - ph))
    th = (li / vi + mu_ / t2) / (1 / vi + 1 / t2)
    for _ in range(30):
        p = expit(th)
        g1 = r - nn * p - (th - mu_) / t2
        g2 = -nn * p * (1 - p) - 1.0 / t2
        step = g1 / g2
        th = th - step
        if np.max(np.abs(step)) < 1e-10:
            break
    p = expit(th)
    sd = 1.0 / np.sqrt(nn * p * (1 - p) + 1.0 / t2)
    lc = gammaln(nn + 1) - gammaln(r + 1) - gammaln(nn - r + 1)
    t = th[..., None] + math.sqrt(2.0) * sd[..., None] * _GH_X
    logf = (r[..., None] * t - nn[..., None] * np.logaddexp(0.0, t)
            - 0.5 * (t - mu_[..., None]) ** 2 / t2[..., None] - 0.5 * np.log(2 * np.pi * t2[..., None]))
    val = logsumexp(logf + _GH_X**2 + np.log(_GH_W), axis=-1) + np.log(math.sqrt(2.0) * sd)
    return np.asarray(val + lc, dtype=float)


def _panels(lo: float, hi: float, n: int) -> tuple[FloatArray, FloatArray, FloatArray]:
    edges = np.linspace(lo, hi, n + 1)
    half = 0.5 * np.diff(edges)
    mid = 0.5 * (edges[1:] + edges[:-1])
    return (mid[:, None] + half[:, None] * _GL8_X).ravel(), (half[:, None] * _GL8_W).ravel(), edges


def map_prior(
    data: pd.DataFrame | None = None,
    *,
    events: ArrayLike | str | None = None,
    n: ArrayLike | str | None = None,
    labels: Any = None,
    tau_prior: TauPrior | str = "half-normal",
    tau_prior_scale: float = 1.0,
    mu_prior_mean: float = 0.0,
    mu_prior_sd: float = 2.0,
    components: int = 2,
) -> MAPPrior:
    """The meta-analytic-predictive prior of a response rate from historical arms (RBesT ``gMAP``).

    Parameters
    ----------
    data : DataFrame, optional
        One row per historical arm with columns ``events`` and ``n`` (e.g. the bundled
        ``proportions`` table, filtered); rows with a missing count are excluded (in the notes).
    events, n : array-like or str
        Responders and arm sizes (or column names of ``data``).
    labels : sequence or str, optional
        Arm labels.
    tau_prior : TauPrior or str, default half-normal with scale ``tau_prior_scale``
        Prior of tau on the logit scale; RBesT recommends HalfNormal(0, 1) for rates of 20-80%.
    mu_prior_mean, mu_prior_sd : float, default 0, 2
        Normal prior of the logit mean (RBesT ``beta.prior``).
    components : int, default 2
        Beta components of the parametric approximation (RBesT ``automixfit`` picks it by AIC).

    Returns
    -------
    MAPPrior

    References
    ----------
    Neuenschwander, B., Capkun-Niggli, G., Branson, M., & Spiegelhalter, D. J. (2010). Summarizing
    historical information on controls in clinical trials. *Clinical Trials*, 7(1), 5-18.
    Schmidli, H., Gsteiger, S., Roychoudhury, S., O'Hagan, A., Spiegelhalter, D., & Neuenschwander,
    B. (2014). Robust meta-analytic-predictive priors in clinical trials with historical control
    information. *Biometrics*, 70(4), 1023-1032.
    Weber, S., Li, Y., Seaman, J. W., Kakizume, T., & Schmidli, H. (2021). Applying meta-analytic-
    predictive priors with the R Bayesian evidence synthesis tools. *Journal of Statistical
    Software*, 100(19), 1-32.

    Examples
    --------
    >>> m = map_prior(events=[23, 12, 19, 9, 39, 6, 9, 10], n=[107, 44, 51, 39, 139, 20, 78, 35])  # RBesT AS data
    >>> round(m.mean, 2)
    0.26
    """
    notes: list[str] = []
    if data is not None:
        if not isinstance(data, pd.DataFrame):
            raise ValueError(f"data must be a pandas DataFrame; got {type(data).__name__}")
        ecol = events if isinstance(events, str) else "events"
        ncol = n if isinstance(n, str) else "n"
        for c, arg in ((ecol, "events"), (ncol, "n")):
            if c not in data.columns:
                raise ValueError(f"{arg}: column {c!r} is not in data (columns: {', '.join(map(str, data.columns))})")
        e = pd.to_numeric(data[ecol], errors="coerce").to_numpy(dtype=float)
        nn = pd.to_numeric(data[ncol], errors="coerce").to_numpy(dtype=float)
        if isinstance(labels, str):
            lab = data[labels].astype(str).tolist()
        elif labels is None:
            col = next((c for c in ("label", "short_name", "trial_id", "study") if c in data.columns), None)
            lab = data[col].astype(str).tolist() if col else [f"Arm {i + 1}" for i in range(len(data))]
        else:
            lab = [str(x) for x in labels]
        bad = np.isnan(e) | np.isnan(nn)
        if bad.any():
            notes.append("excluded (events or n missing): " + ", ".join(s for s, b in zip(lab, bad) if b))
        e, nn, lab = e[~bad], nn[~bad], [s for s, b in zip(lab, bad) if not b]
    else:
        if events is None or n is None:
            raise ValueError("give events= and n= (one value per historical arm), or data= with those columns")
        e = as_float_array("events", events)
        nn = as_float_array("n", n)
        lab = [str(x) for x in labels] if labels is not None else [f"Arm {i + 1}" for i in range(len(e))]
    e = as_float_array("events", e, nonnegative=True, integer=True)
    nn = as_float_array("n", nn, positive=True, integer=True)
    if len(e) != len(nn) or len(lab) != len(e):
        raise ValueError(f"events, n and labels must have one value per arm; got {len(e)}, {len(nn)}, {len(lab)}")
    if len(e) == 0:
        raise ValueError("k=0: events/n hold no historical arm; a MAP prior needs at least one")
    if (e > nn).any():
        raise ValueError(f"events must be <= n; arms {[s for s, x, m in zip(lab, e, nn) if x > m]} are not")
    prior = tau_prior if isinstance(tau_prior, TauPrior) else get_tau_prior(tau_prior, scale=tau_prior_scale)
    m0, s0 = float(mu_prior_mean), float(mu_prior_sd)
    if not math.isfinite(m0):
        raise ValueError(f"mu_prior_mean must be finite; got {mu_prior_mean!r}")
    if not (math.isfinite(s0) and s0 > 0):
        raise ValueError(f"mu_prior_sd must be a finite number > 0 (a proper prior); got {mu_prior_sd!r}")
    if isinstance(components, bool) or not isinstance(components, (int, np.integer)) or not 1 <= components <= 4:
        raise ValueError(f"components must be 1, 2, 3 or 4; got {components!r}")

    def log_post(mu: FloatArray, x: FloatArray) -> FloatArray:
        tau = np.exp(x)
        with np.errstate(divide="ignore"):
            lp = prior.logpdf(tau) + x + stats.norm.logpdf(mu, m0, s0)
        return np.asarray(lp + _log_study_lik(e, nn, mu, tau).sum(axis=-1), dtype=float)

    # pass 1 over wide ranges; pass 2 over the region with posterior mass
    ph = (e + 0.5) / (nn + 1.0)
    lg = np.log(ph / (1 - ph))
    mlo, mhi = float(lg.min()) - 4.0, float(lg.max()) + 4.0
    xlo = math.log(max(float(prior.quantile(1e-10)), 1e-8))
    xhi = math.log(min(float(prior.quantile(1 - 1e-12)), prior.upper, 50.0))
    for npan in (12, 16):
        mu_n, mu_w, mu_e = _panels(mlo, mhi, npan)
        x_n, x_w, x_e = _panels(xlo, xhi, npan)
        MU, X = np.meshgrid(mu_n, x_n, indexing="ij")
        lp = log_post(MU, X)
        keep = lp > lp.max() - 40.0
        km = np.flatnonzero(keep.any(axis=1).reshape(npan, -1).any(axis=1))
        kx = np.flatnonzero(keep.any(axis=0).reshape(npan, -1).any(axis=1))
        if npan == 12:
            mlo, mhi = mu_e[max(km.min() - 1, 0)], mu_e[min(km.max() + 2, npan)]
            xlo, xhi = x_e[max(kx.min() - 1, 0)], x_e[min(kx.max() + 2, npan)]
    W = np.exp(lp - lp.max()) * mu_w[:, None] * x_w[None, :]
    W = W / W.sum()
    tau_n = np.exp(x_n)
    # tau marginal
    wt = W.sum(axis=0)
    t_mean = float(wt @ tau_n)
    t_sd = float(math.sqrt(max(wt @ tau_n**2 - t_mean**2, 0.0)))
    t_q = _marginal_quantiles(x_n, wt / x_w, x_e, np.array([0.025, 0.5, 0.975]))
    # predictive theta* ~ N(mu, tau^2): a normal mixture on the logit scale
    mw = W.ravel()
    Mm = np.broadcast_to(mu_n[:, None], W.shape).ravel()[None, :]
    Ss = np.broadcast_to(tau_n[None, :], W.shape).ravel()[None, :]
    sel = mw > 1e-16 * mw.max()
    mw, Mm, Ss = mw[sel] / mw[sel].sum(), Mm[:, sel], Ss[:, sel]
    q = expit(mx.quantile(np.array([[0.025, 0.5, 0.975]]), mw, Mm, Ss)[0])
    gz = Mm[0][:, None] + Ss[0][:, None] * math.sqrt(2.0) * _GH_X[None, :]
    e1 = (expit(gz) @ (_GH_W / math.sqrt(math.pi))) @ mw
    e2 = (expit(gz) ** 2 @ (_GH_W / math.sqrt(math.pi))) @ mw
    p_mean, p_sd = float(e1), float(math.sqrt(max(e2 - e1**2, 0.0)))
    # mixture approximation on 1000 quantiles of the exact MAP (interpolated CDF on a fine grid)
    u = (np.arange(1000) + 0.5) / 1000
    zq = _grid_quantiles(u, mw, Mm, Ss)
    mix = _fit_mixture(expit(zq), int(components))
    table = pd.DataFrame([
        dict(parameter="tau", mean=t_mean, sd=t_sd, q025=t_q[0], median=t_q[1], q975=t_q[2]),
        dict(parameter="map", mean=p_mean, sd=p_sd, q025=q[0], median=q[1], q975=q[2]),
    ])
    return MAPPrior(k=len(e), events=e, n=nn, labels=tuple(lab), tau_prior=prior.label, mu_prior_mean=m0,
                    mu_prior_sd=s0, table=table, mixture=mix, notes=tuple(notes), _w=mw, _m=Mm, _s=Ss)


def _marginal_quantiles(x: FloatArray, dens: FloatArray, edges: FloatArray, p: FloatArray) -> FloatArray:
    """Quantiles (on exp(x)) of a marginal known at Gauss-Legendre nodes: the density is interpolated
    by the degree-7 polynomial through each panel's 8 nodes and integrated exactly."""
    npan = len(edges) - 1
    d = dens.reshape(npan, 8)
    coefs = [np.polynomial.legendre.legfit(_GL8_X, d[j], 7) for j in range(npan)]
    half = 0.5 * np.diff(edges)
    mass = np.array([float(np.polynomial.legendre.legval(1.0, np.polynomial.legendre.legint(c, lbnd=-1))) * h
                     for c, h in zip(coefs, half)])
    total = mass.sum()
    cum = np.concatenate([[0.0], np.cumsum(mass)]) / total
    out = []
    for pi in p:
        j = int(min(max(np.searchsorted(cum, pi, side="right") - 1, 0), npan - 1))
        ic = np.polynomial.legendre.legint(coefs[j], lbnd=-1)

        def f(s: float, j: int = j, ic: Any = ic) -> float:
            return float(cum[j] + np.polynomial.legendre.legval(s, ic) * half[j] / total - pi)

        s = optimize.brentq(f, -1.0, 1.0, xtol=1e-14) if f(-1.0) * f(1.0) < 0 else (-1.0 if abs(f(-1.0)) < abs(f(1.0)) else 1.0)
        out.append(math.exp(edges[j] + (s + 1) * half[j]))
    return np.array(out)


def _grid_quantiles(u: FloatArray, w: FloatArray, m: FloatArray, s: FloatArray) -> FloatArray:
    """Many quantiles of a normal mixture: CDF on a fine grid, monotone interpolation."""
    lo, hi = mx.quantile(np.array([[1e-7, 1 - 1e-7]]), w, m, s)[0]
    grid = np.linspace(lo, hi, 1501)
    c = np.concatenate([mx.cdf(grid[None, i : i + 250], w, m, s)[0] for i in range(0, len(grid), 250)])
    from scipy.interpolate import PchipInterpolator

    keep = np.concatenate([[True], np.diff(c) > 0])
    inv = PchipInterpolator(c[keep], grid[keep])
    return np.asarray(inv(np.clip(u, c[keep][0], c[keep][-1])), dtype=float)

