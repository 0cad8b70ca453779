"""Binomial-normal GLMM for single proportions (metafor ``rma.glmm(measure="PLO")``).

The random-intercept logistic model

.. math:: x_i \\sim \\mathrm{Bin}(n_i, \\mathrm{expit}(\\beta + u_i)),\\qquad u_i \\sim N(0, \\tau^2)

is fitted by maximum likelihood, the integral over ``u_i`` computed by adaptive Gauss-Hermite
quadrature (``nagq`` nodes centred at each study's conditional mode and scaled by the curvature
there; ``nagq=1`` is the Laplace approximation), as ``lme4::glmer(..., nAGQ = 7)``, which
metafor calls. The log-likelihood is maximised over ``tau >= 0`` by profiling: for each ``tau``
the concave problem in ``beta`` is solved by Newton's method, and the profile is maximised with a
bounded Brent search after a coarse scan (the boundary ``tau = 0`` is checked explicitly).

Agreement with metafor/lme4 is to about 1e-4 relative, not 1e-6: lme4 maximises the same
approximate likelihood with a different optimiser (bobyqa, default tolerances) and takes the
standard error from a finite-difference Hessian, so its answer carries optimiser and
differencing error of that order.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import optimize, special, stats

from ._checks import as_float_array, check_choice, check_level, check_same_length
from .heterogeneity import typical_variance
from .pooling import _user_stacklevel
from .results import PoolResult

__all__ = ["pool_glmm", "glmm_loglik"]

FloatArray = NDArray[np.float64]


def _nodes(nagq: int) -> tuple[FloatArray, FloatArray]:
    t, w = np.polynomial.hermite.hermgauss(nagq)
    return np.asarray(t, dtype=float), np.asarray(w, dtype=float)


def _modes(beta: float, tau: float, x: FloatArray, n: FloatArray, z0: FloatArray | None = None) -> FloatArray:
    """Conditional modes of the standardised random effects (safeguarded Newton)."""
    z = np.zeros_like(x) if z0 is None else z0.copy()

    def obj(zz: FloatArray) -> FloatArray:
        eta = beta + tau * zz
        return np.asarray(x * eta - n * np.logaddexp(0.0, eta) - 0.5 * zz * zz, dtype=float)

    f = obj(z)
    for _ in range(100):
        p = special.expit(beta + tau * z)
        g = tau * (x - n * p) - z
        h = tau * tau * n * p * (1 - p) + 1.0
        step = g / h
        znew = z + step
        fnew = obj(znew)
        bad = fnew < f - 1e-12 * np.abs(f)
        while bad.any():  # halve steps that went downhill
            step = np.where(bad, step / 2, step)
            znew = z + step
            fnew = obj(znew)
            bad = (fnew < f - 1e-12 * np.abs(f)) & (np.abs(step) > 1e-15)
        z, f = znew, fnew
        if np.max(np.abs(step)) < 1e-12:
            break
    return z


def glmm_loglik(beta: float, tau: float, xi: ArrayLike, ni: ArrayLike, nagq: int = 7) -> float:
    """Marginal log-likelihood of the binomial-normal model by adaptive Gauss-Hermite quadrature.

    Parameters
    ----------
    beta : float
        Pooled logit.
    tau : float
        Between-study standard deviation (>= 0).
    xi, ni : array-like
        Events and study sizes.
    nagq : int, default 7
        Quadrature points per study (1 = Laplace approximation).

    Returns
    -------
    float
        ``sum_i log integral Bin(x_i | n_i, expit(beta + tau z)) phi(z) dz`` including the
        binomial coefficients.

    Notes
    -----
    With ``h_i(z) = x_i eta - n_i log(1 + e^eta) - z^2/2``, ``eta = beta + tau z``, mode
    ``z_i`` and ``s_i = (1 + tau^2 n_i p_i (1 - p_i))^{-1/2}`` at the mode, Gauss-Hermite nodes
    ``t_j`` and weights ``w_j``:
    ``log L_i = log C(n_i, x_i) + log(s_i) + 1/2 log(1/pi) + log sum_j w_j exp(t_j^2 + h_i(z_i + sqrt(2) s_i t_j))``.

    Examples
    --------
    >>> round(glmm_loglik(0.0, 0.0, [5], [10]), 6)  # tau = 0: the binomial log-likelihood
    -1.402043
    """
    x = np.asarray(xi, dtype=float)
    n = np.asarray(ni, dtype=float)
    return float(np.sum(_loglik_i(beta, tau, x, n, *_nodes(nagq))))


def _loglik_i(
    beta: float, tau: float, x: FloatArray, n: FloatArray, t: FloatArray, w: FloatArray,
    z0: FloatArray | None = None,
) -> FloatArray:  # fmt: skip
    lchoose = special.gammaln(n + 1) - special.gammaln(x + 1) - special.gammaln(n - x + 1)
    if tau == 0.0:
        eta = np.full_like(x, beta)
        return np.asarray(lchoose + x * eta - n * np.logaddexp(0.0, eta), dtype=float)
    z = _modes(beta, tau, x, n, z0)
    p = special.expit(beta + tau * z)
    s = 1.0 / np.sqrt(1.0 + tau * tau * n * p * (1 - p))
    zz = z[:, None] + math.sqrt(2.0) * s[:, None] * t[None, :]
    eta = beta + tau * zz
    logf = x[:, None] * eta - n[:, None] * np.logaddexp(0.0, eta) - 0.5 * zz * zz
    lse = special.logsumexp(logf + t[None, :] ** 2 + np.log(w)[None, :], axis=1)
    return np.asarray(lchoose + np.log(s) + 0.5 * math.log(2.0) - 0.5 * math.log(2.0 * math.pi) + lse, dtype=float)


class _Fitter:
    def __init__(self, x: FloatArray, n: FloatArray, nagq: int) -> None:
        self.x, self.n = x, n
        self.t, self.w = _nodes(nagq)
        self.evals = 0

    def ll(self, beta: float, tau: float) -> float:
        self.evals += 1
        return float(np.sum(_loglik_i(beta, tau, self.x, self.n, self.t, self.w)))

    def best_beta(self, tau: float, beta0: float) -> tuple[float, float, bool]:
        """Newton's method in beta for fixed tau (the problem is concave in beta)."""
        b = beta0
        h = 1e-4
        f0 = self.ll(b, tau)
        for _ in range(100):
            fp, fm = self.ll(b + h, tau), self.ll(b - h, tau)
            d1 = (fp - fm) / (2 * h)
            d2 = (fp - 2 * f0 + fm) / (h * h)
            step = -d1 / d2 if d2 < 0 else math.copysign(1.0, d1)
            step = max(-5.0, min(5.0, step))
            while True:
                fn = self.ll(b + step, tau)
                if fn >= f0 - 1e-13 * abs(f0) or abs(step) < 1e-14:
                    break
                step /= 2
            b, f0 = b + step, fn
            # central differences with h = 1e-4 resolve the score to ~1e-10 / |d2|: stop there
            if abs(step) < 1e-8:
                return b, f0, True
        return b, f0, False  # pragma: no cover


def pool_glmm(
    xi: ArrayLike,
    ni: ArrayLike,
    *,
    labels: Sequence[Any] | None = None,
    level: float = 95,
    ci_method: str = "z",
    pi_method: str = "default",
    nagq: int = 7,
    add: float = 0.5,
) -> PoolResult:
    """Pool single proportions with the binomial-normal GLMM (metafor ``rma.glmm(measure="PLO")``).

    Parameters
    ----------
    xi : array-like
        Events per study (e.g. responders for ORR).
    ni : array-like
        Study sizes (> 0, >= xi).
    labels : sequence, optional
        Study labels.
    level : float, default 95
        Confidence level in percent.
    ci_method : {"z", "t"}, default "z"
        Normal or t (k - 1 df) inference for the pooled logit, as ``rma.glmm(test=)``.
    pi_method : {"default", "hts"}, default "default"
        Prediction interval as metafor's ``predict`` (z, or t with k - 1 df) or
        Higgins-Thompson-Spiegelhalter (t with max(k - 2, 1) df).
    nagq : int, default 7
        Adaptive Gauss-Hermite quadrature points (1 = Laplace), metafor's default 7.
    add : float, default 0.5
        Continuity correction for the study-level logits ``yi``/``vi`` of studies with 0 or n
        events (used for display, the weights shown and I^2's typical variance, as metafor;
        the model itself uses the counts).

    Returns
    -------
    PoolResult
        ``model="GLMM"``, ``method="ML"``, ``measure="PLO"``; the pooled logit, its CI and PI
        (back-transform with :meth:`~metaoutcome.results.PoolResult.back_transform`, in
        percent); ``tau2``; ``i2``/``h2`` from metafor's typical within-study variance of the
        logits; ``q`` the Wald-type and ``extra["q_lrt"]`` the likelihood-ratio test for
        heterogeneity (each against the saturated logistic model). ``tau2_se`` and the
        Q-profile intervals are NaN (metafor does not provide them for this model either).
        ``weights`` are the approximate inverse-variance weights ``1/(v_i + tau^2)`` in percent.
        ``converged`` and ``iterations`` (likelihood evaluations) describe the optimiser.

    Warns
    -----
    UserWarning
        When every study has 0 events, or every study has n events: the model has no finite
        maximum-likelihood estimate (the pooled logit runs off to -/+ infinity); the estimates
        are then NaN and the pooled counts are given in ``extra``. Also for k = 1 and for the
        Wald test when some studies have 0 or n events.

    Notes
    -----
    The marginal likelihood is computed by :func:`glmm_loglik`. The standard error of the
    pooled logit is the beta-element of the inverse observed information in ``(beta, tau)``
    (central differences), as lme4's Hessian-based ``vcov``. The Wald-type Q is
    ``sum w_i (logit p_i - mean_w)^2`` with ``w_i = n_i p_i (1 - p_i)`` over studies with
    0 < x_i < n_i (the saturated model's Wald test; studies at 0 or n have an infinite
    saturated logit and metafor's value for them depends on where ``glm`` stops iterating).
    The likelihood-ratio statistic is the deviance of the common-proportion logistic model.

    References
    ----------
    Hamza TH, van Houwelingen HC, Stijnen T (2008). The binomial distribution of meta-analysis
    was preferred to model within-study variability. *Journal of Clinical Epidemiology*
    61:41-51.

    Stijnen T, Hamza TH, Ozdemir P (2010). Random effects meta-analysis of event outcome in the
    framework of the generalized linear mixed model with applications in sparse data.
    *Statistics in Medicine* 29:3046-3067.

    Bates D, Maechler M, Bolker B, Walker S (2015). Fitting linear mixed-effects models using
    lme4. *Journal of Statistical Software* 67(1):1-48.

    Examples
    --------
    Five small single-arm studies (``rma.glmm(measure="PLO")`` gives logit 1.14534, tau^2 0.23653):

    >>> res = pool_glmm([16, 10, 4, 8, 15], [17, 12, 8, 13, 20])
    >>> round(res.estimate, 4), round(res.tau2, 4)
    (1.1453, 0.2365)
    >>> round(res.back_transform().estimate, 1)  # pooled proportion, percent
    75.9
    """
    ci_method = check_choice("ci_method", ci_method, ["z", "t"])
    pi_method = check_choice("pi_method", pi_method, ["default", "hts"])
    alpha = 1.0 - check_level(level)
    if not isinstance(nagq, (int, np.integer)) or isinstance(nagq, bool) or not 1 <= int(nagq) <= 25:
        raise ValueError(f"nagq={nagq!r} must be a whole number from 1 to 25 (1 = Laplace; lme4's range)")
    nagq = int(nagq)
    x = as_float_array("xi", xi, nonnegative=True, integer=True)
    n = as_float_array("ni", ni, positive=True, integer=True)
    k = check_same_length(xi=x, ni=n) if labels is None else check_same_length(xi=x, ni=n, labels=list(labels))
    if k == 0:
        raise ValueError("k=0: there are no studies to pool; xi and ni must hold at least one study")
    if (x > n).any():
        bad = np.flatnonzero(x > n)
        raise ValueError(f"xi must be <= ni (events cannot exceed the study size); positions {bad.tolist()} are not")
    lab = tuple(str(s) for s in labels) if labels is not None else tuple(f"Study {i + 1}" for i in range(k))
    notes: list[str] = []

    def warn(msg: str) -> None:
        notes.append(msg)
        warnings.warn(msg, UserWarning, stacklevel=_user_stacklevel())

    # study-level logits as metafor's escalc(measure="PLO", add=1/2, to="only0")
    zero = (x == 0) | (x == n)
    xa, na = np.where(zero, x + add, x), np.where(zero, n + 2 * add, n)
    yi = np.log(xa / (na - xa))
    vi = 1.0 / xa + 1.0 / (na - xa)
    nan = math.nan
    base: dict[str, Any] = dict(
        k=k, method="ML", ci_method=ci_method, level=float(level), measure="PLO", yi=yi, vi=vi, labels=lab,
        ni=n, pi_method=pi_method, model="GLMM", tau2_se=nan, tau2_ci_low=nan, tau2_ci_high=nan,
        tau_ci_low=nan, tau_ci_high=nan, i2_ci_low=nan, i2_ci_high=nan, h2_ci_low=nan, h2_ci_high=nan,
    )  # fmt: skip
    extra: dict[str, float] = {"events_total": float(x.sum()), "n_total": float(n.sum()), "nagq": float(nagq)}
    crit = float(stats.norm.isf(alpha / 2)) if ci_method == "z" else (
        float(stats.t.isf(alpha / 2, k - 1)) if k > 1 else nan)  # fmt: skip
    df = nan if ci_method == "z" else float(k - 1)

    if x.sum() == 0 or (x == n).all():
        which = "0 events" if x.sum() == 0 else "as many events as patients"
        warn(
            f"all {k} studies have {which}: the binomial-normal model has no finite maximum-likelihood "
            f"estimate (the pooled logit goes to {'-' if x.sum() == 0 else '+'}infinity, the pooled proportion "
            f"to {'0' if x.sum() == 0 else '100'}%); estimates are NaN. Pooled counts: {int(x.sum())}/{int(n.sum())} "
            "(extra['events_total'], extra['n_total']); consider an exact interval for the pooled count"
        )
        return PoolResult(
            estimate=nan, se=nan, statistic=nan, pvalue=nan, ci_low=nan, ci_high=nan, pi_low=nan, pi_high=nan,
            tau2=nan, tau=nan, i2=nan, h2=nan, q=nan, q_df=k - 1, q_pvalue=nan, weights=np.full(k, 100.0 / k),
            converged=False, iterations=0, df=df, vt=nan, notes=tuple(notes), extra=extra, **base,
        )  # fmt: skip

    fitter = _Fitter(x, n, nagq)
    p_pool = x.sum() / n.sum()
    beta0 = math.log(p_pool / (1 - p_pool))
    # heterogeneity tests against the saturated model
    ok = ~zero
    ll_sat = float(np.sum(special.xlogy(x, x / n) + special.xlogy(n - x, (n - x) / n)))
    ll_fe = float(np.sum(x * math.log(p_pool) + (n - x) * math.log1p(-p_pool)))
    q_lrt = max(0.0, 2 * (ll_sat - ll_fe)) if k > 1 else nan
    extra["q_lrt"] = q_lrt
    extra["q_lrt_pvalue"] = float(stats.chi2.sf(q_lrt, k - 1)) if k > 1 else nan
    if ok.sum() >= 2:
        pw = x[ok] / n[ok]
        lw = np.log(pw / (1 - pw))
        ww = n[ok] * pw * (1 - pw)
        q_wald = float(np.sum(ww * (lw - np.sum(ww * lw) / np.sum(ww)) ** 2))
    else:
        q_wald = 0.0
    if zero.any() and k > 1:
        warn(
            f"{int(zero.sum())} of {k} studies have 0 or n events: the Wald-type heterogeneity test q uses the "
            "other studies only (their saturated logits are infinite); the likelihood-ratio test "
            "extra['q_lrt'] uses all"
        )

    if k == 1:
        warn(
            "k = 1: the pooled estimate is the single study itself; heterogeneity (tau^2, I^2, H^2, Q) "
            "is undefined and reported as NaN"
        )
        tau, converged = 0.0, True
        beta, _, converged = fitter.best_beta(0.0, beta0)
    else:
        # profile likelihood over tau: coarse scan, then bounded Brent around the best point
        grid = np.array([0.0, 0.02, 0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 8.0])
        prof: list[float] = []
        betas: list[float] = []
        b = beta0
        converged = True
        for tv in grid:
            b, f, c = fitter.best_beta(float(tv), b)
            converged &= c
            prof.append(f)
            betas.append(b)
        i = int(np.argmax(prof))
        lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, grid.size - 1)]
        start = {"b": betas[i]}

        def negprof(tv: float) -> float:
            bb, ff, _ = fitter.best_beta(tv, start["b"])
            start["b"] = bb
            return -ff

        opt = optimize.minimize_scalar(negprof, bounds=(lo, hi), method="bounded",
                                       options={"xatol": 1e-10, "maxiter": 500})  # fmt: skip
        converged &= bool(opt.success)
        tau = float(opt.x)
        # the likelihood is even in tau: a maximum within 1e-4 of 0 that is not higher than the
        # value at 0 beyond rounding is the boundary
        if -opt.fun < prof[0] or (tau < 1e-4 and prof[0] >= -opt.fun - 1e-10):
            tau = 0.0
        if i == grid.size - 1:
            warn("the between-study SD reached the search limit tau = 8 on the logit scale; check the data")
        beta, _, c = fitter.best_beta(tau, betas[i])
        converged &= c

    # standard error from the observed information in (beta, tau)
    h = 1e-4
    ll = fitter.ll
    f0 = ll(beta, tau)
    hbb = (ll(beta + h, tau) - 2 * f0 + ll(beta - h, tau)) / h**2
    if tau > 10 * h:
        htt = (ll(beta, tau + h) - 2 * f0 + ll(beta, tau - h)) / h**2
        hbt = (ll(beta + h, tau + h) - ll(beta + h, tau - h) - ll(beta - h, tau + h) + ll(beta - h, tau - h)) / (4 * h * h)
        info = -np.array([[hbb, hbt], [hbt, htt]])
        var_b = float(np.linalg.inv(info)[0, 0])
    else:  # at the boundary the cross term vanishes by symmetry in tau
        var_b = -1.0 / hbb
    se = math.sqrt(var_b)
    tau2 = tau * tau
    stat = beta / se
    pval = float(2 * stats.norm.sf(abs(stat))) if ci_method == "z" else (
        float(2 * stats.t.sf(abs(stat), k - 1)) if k > 1 else nan)  # fmt: skip
    w = 1.0 / (vi + tau2)
    out: dict[str, Any] = dict(
        estimate=beta, se=se, statistic=stat, pvalue=pval, ci_low=beta - crit * se, ci_high=beta + crit * se,
        weights=100 * w / w.sum(), converged=converged, iterations=fitter.evals, df=df,
    )  # fmt: skip
    if k == 1:
        out.update(pi_low=nan, pi_high=nan, tau2=nan, tau=nan, i2=nan, h2=nan, q=nan, q_df=0, q_pvalue=nan, vt=nan)
    else:
        pcrit = float(stats.t.isf(alpha / 2, max(1, k - 2))) if pi_method == "hts" else crit
        half = pcrit * math.sqrt(se * se + tau2)
        vt = typical_variance(vi)
        out.update(
            pi_low=beta - half, pi_high=beta + half, tau2=tau2, tau=tau, i2=100 * tau2 / (vt + tau2),
            h2=tau2 / vt + 1, q=q_wald, q_df=k - 1, q_pvalue=float(stats.chi2.sf(q_wald, k - 1)), vt=vt,
        )  # fmt: skip
    if not converged:  # pragma: no cover - the profile search is bracketed
        warn("the GLMM optimiser did not meet its tolerance")
    return PoolResult(notes=tuple(notes), extra=extra, **base, **out)
