"""Single-arm phase 2 designs for a response rate: Simon's two-stage designs, A'Hern's single-stage
design and the Bayesian operating characteristics of a design under a meta-analytic-predictive
(MAP) prior for the benchmark rate.

The benchmark ``p0`` can be a number or come from a pooled analysis of historical arms
(:func:`p0_from`): a :class:`~metaoutcome.results.PoolResult` of proportions (its back-transformed
pooled estimate), or a :class:`~metaoutcome.bayes.map_prior.MAPPrior` (its mean).

>>> d = simon(0.2, 0.4, alpha=0.05, power=0.8)
>>> d.optimal.r1, d.optimal.n1, d.optimal.r, d.optimal.n      # Simon (1989): 3/13, 12/43
(3, 13, 12, 43)
>>> a = ahern(0.1, 0.2, alpha=0.05, power=0.8)
>>> a.n, a.r                                                     # A'Hern (2001): 78 patients, >= 13 responses
(78, 13)
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ._display import ReportMixin

__all__ = [
    "SimonStage", "SimonDesign", "simon", "AHernDesign", "ahern", "BayesOC", "bayes_oc", "p0_from", "historical_arms",
    "check_rates",
]


def _prob(name: str, value: Any) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a probability in (0, 1); got {value!r}") from None
    if not (0.0 < v < 1.0):
        raise ValueError(f"{name} must be a probability in (0, 1); got {value!r}")
    return v


def check_rates(p0: Any, p1: Any, alpha: Any = 0.05, power: Any = 0.8) -> tuple[float, float, float, float]:
    """Check ``p0 < p1`` in (0, 1), ``alpha`` in (0, 0.5) and ``power`` in (0.5, 1).

    ``p0`` may also be a pooled proportion (PoolResult) or a MAP prior (see :func:`p0_from`).

    >>> check_rates(0.3, 0.2)
    Traceback (most recent call last):
    ...
    ValueError: p1 must be larger than p0 (the rate worth pursuing above the benchmark); got p0=0.3, p1=0.2
    """
    a = _prob("p0", p0) if isinstance(p0, (int, float, np.floating, str)) else p0_from(p0)
    b = _prob("p1", p1)
    if b <= a:
        raise ValueError(f"p1 must be larger than p0 (the rate worth pursuing above the benchmark); got p0={a:g}, p1={b:g}")
    al = _prob("alpha", alpha)
    if not al < 0.5:
        raise ValueError(f"alpha must be in (0, 0.5) (a one-sided type I error); got {alpha!r}")
    pw = _prob("power", power)
    if not pw > 0.5:
        raise ValueError(f"power must be in (0.5, 1); got {power!r}")
    return a, b, al, pw


def _nmax(nmax: Any, hi: int = 1000) -> int:
    if isinstance(nmax, bool) or not isinstance(nmax, (int, np.integer)) or not 2 <= int(nmax) <= hi:
        raise ValueError(f"nmax must be a whole number in [2, {hi}]; got {nmax!r}")
    return int(nmax)


# -- Simon's two-stage designs --------------------------------------------------------------------


@dataclass(frozen=True)
class SimonStage:
    """One two-stage design: stop after ``n1`` patients if <= ``r1`` responses; after ``n`` patients
    declare the drug promising if > ``r`` responses.

    Attributes
    ----------
    r1, n1, r, n : int
        Stage-1 futility bound and size; final bound and total size.
    en0 : float
        Expected sample size under p0.
    pet0 : float
        Probability of early termination under p0.
    alpha, power : float
        Attained type I error and power.
    """

    r1: int
    n1: int
    r: int
    n: int
    en0: float
    pet0: float
    alpha: float
    power: float


class _Binom:
    """pmf[m, x] and sf[m, j] = P(X > j) of Bin(m, p) for m <= nmax (sf padded: j < 0 -> 1)."""

    def __init__(self, nmax: int, p: float) -> None:
        m = np.arange(nmax + 1)[:, None]
        x = np.arange(nmax + 1)[None, :]
        self.pmf = stats.binom.pmf(x, m, p)
        # sf with offset: column j + nmax + 1 holds P(X > j), j from -(nmax + 1) to nmax
        j = np.arange(-nmax - 1, nmax + 1)[None, :]
        self.sf = stats.binom.sf(j, m, p)
        self.off = nmax + 1
        self.cdf = stats.binom.cdf(x, m, p)

    def reject(self, n1: int, n: int) -> np.ndarray:
        """P(reject H0) for every (r1, r): r1 in 0..n1, r in 0..n (shape (n1 + 1, n + 1))."""
        x1 = np.arange(n1 + 1)
        r = np.arange(n + 1)
        tail = self.sf[n - n1][r[None, :] - x1[:, None] + self.off]  # P(X2 > r - x1)
        contrib = self.pmf[n1, : n1 + 1][:, None] * tail
        rc = np.cumsum(contrib[::-1], axis=0)[::-1]  # sum over x1' >= x1
        out = np.zeros((n1 + 1, n + 1))
        out[:-1] = rc[1:]  # sum over x1 > r1
        return out


def _most_powerful(B0: _Binom, B1: _Binom, nmax: int, level: float) -> np.ndarray:
    """Power at p1 of the most powerful (randomised) level-``level`` test of p0 from n patients, n = 0..nmax.

    By the Neyman-Pearson lemma no two-stage design with n patients in all (its decision is a function
    of their n responses) has more power at that level."""
    out = np.zeros(nmax + 1)
    for n in range(nmax + 1):
        sf0 = B0.sf[n, B0.off: B0.off + n + 1]  # P(X > c | p0), c = 0..n
        c = int(np.argmax(sf0 <= level))  # reject if X > c, and with probability g if X = c
        g = min(1.0, (level - sf0[c]) / B0.pmf[n, c]) if B0.pmf[n, c] > 0 else 0.0
        out[n] = B1.sf[n, B1.off + c] + g * B1.pmf[n, c]
    return out


@dataclass(frozen=True, eq=False, repr=False)
class SimonDesign(ReportMixin):
    """Simon's (1989) optimal and minimax two-stage designs for H0: p <= p0 vs H1: p >= p1.

    Attributes
    ----------
    p0, p1, alpha, power : float
        The design inputs.
    optimal, minimax : SimonStage
        The design minimising the expected size under p0, and the one minimising the maximum size
        (ties broken by the expected size).
    nmax : int
        Largest total size searched.
    """

    p0: float
    p1: float
    alpha: float
    power: float
    optimal: SimonStage
    minimax: SimonStage
    nmax: int

    def table(self) -> pd.DataFrame:
        """One row per design: ``design, r1, n1, r, n, en0, pet0, alpha, power``."""
        rows = [dict(design=nm, **vars(d)) for nm, d in (("optimal", self.optimal), ("minimax", self.minimax))]
        return pd.DataFrame(rows)

    def report(self) -> dict[str, Any]:
        return {"title": f"Simon two-stage designs (p0 = {self.p0:g}, p1 = {self.p1:g}, alpha = {self.alpha:g}, "
                         f"power = {self.power:g})",
                "lines": [("stage 1", "stop if <= r1 responses in n1 patients"),
                          ("final", "promising if > r responses in n patients")],
                "table": self.table(), "notes": ()}


def simon(p0: float, p1: float, *, alpha: float = 0.05, power: float = 0.8, nmax: int | None = None) -> SimonDesign:
    """Simon's optimal and minimax two-stage designs (R clinfun ``ph2simon``).

    Parameters
    ----------
    p0 : float, PoolResult or MAPPrior
        Response rate not worth pursuing (the benchmark), in (0, 1); or a pooled proportion or
        MAP prior it is taken from (:func:`p0_from`).
    p1 : float
        Response rate worth pursuing, > p0.
    alpha : float, default 0.05
        Largest type I error, P(declare promising | p0).
    power : float, default 0.8
        Smallest power, P(declare promising | p1).
    nmax : int, optional
        Largest total sample size searched, as in clinfun's ``ph2simon`` (whose default is 100). When
        given, a warning says so if a design with a larger n could have a smaller EN(p0) than the
        optimal design found. When not given, the search starts at 100 and is extended (up to 1000)
        until no larger design can beat the optimal one, so the optimal design is Simon's.

    Returns
    -------
    SimonDesign

    Notes
    -----
    For every n <= nmax, n1 < n and r1 <= n1, the final bound r is the smallest with
    P(reject | p0) = sum_{x1 > r1} b(x1; n1, p0) P(X2 > r - x1; n - n1, p0) <= alpha (which maximises
    power); designs with power >= ``power`` qualify (both compared with a 1e-12 tolerance). The optimal
    design minimises EN(p0) = n1 + (1 - PET(p0)) (n - n1); the minimax design minimises n, then
    EN(p0). Ties (EN(p0) within 1e-12) go to the design met first: smaller n, then n1, then r1. Only
    designs with n <= ``nmax`` are searched. Whether a larger one could do better is checked with a
    bound: a design with n > nmax has EN(p0) >= n1 + P(X1 > r1 | p0) (nmax + 1 - n1), and its power
    needs P(X1 > r1 | p1) >= ``power``. For p0 0.3 to 0.5, p1 = p0 + 0.15, alpha 0.05 and power 0.9
    Simon's optimal design has n = 104 to 110: ``nmax=100`` misses it (with a warning); leaving nmax
    unset finds it.

    The search skips, without changing the result, every n at which even the most powerful
    (randomised) test of p0 against p1 with n patients misses the power (Neyman-Pearson), every r1
    with P(X1 > r1 | p1) below the power (a bound on the design's power), and every (n1, r1) whose
    EN(p0) cannot improve on the designs already found.

    References
    ----------
    Simon, R. (1989). Optimal two-stage designs for phase II clinical trials. *Controlled Clinical
    Trials*, 10(1), 1-10.

    Examples
    --------
    >>> simon(0.1, 0.3).table()[["design", "r1", "n1", "r", "n"]]
        design  r1  n1  r   n
    0  optimal   1  10  5  29
    1  minimax   1  15  5  25
    """
    a, b, al, pw = check_rates(p0, p1, alpha, power)
    auto = nmax is None
    nm = 100 if auto else _nmax(nmax)
    while True:
        B0, B1 = _Binom(nm, a), _Binom(nm, b)
        best_opt, best_mm = _simon_search(B0, B1, al, pw, nm)
        if best_opt is None or best_mm is None:
            raise ValueError(f"no two-stage design with n <= nmax={nm} meets alpha={al:g} and power={pw:g}; "
                             "increase nmax")
        beyond = _better_beyond(best_opt.en0, B0, B1, pw, nm)
        if not beyond or not auto or nm >= 1000:
            break
        nm = min(beyond, 1000)
    if beyond:
        warnings.warn(f"simon: a design with n between {nm + 1} and {beyond} could have a smaller EN(p0) than the "
                      f"optimal design found with n <= nmax={nm} (n = {best_opt.n}); "
                      + ("pass nmax=" + str(min(beyond, 1000)) + " or leave nmax unset" if nm < 1000 else
                         "1000 is the largest nmax searched"), UserWarning, stacklevel=2)
    return SimonDesign(p0=a, p1=b, alpha=al, power=pw, optimal=best_opt, minimax=best_mm, nmax=nm)


def _better_beyond(en0: float, B0: _Binom, B1: _Binom, pw: float, nm: int) -> int:
    """The largest n > ``nm`` at which a two-stage design could have EN(p0) below ``en0`` (0: none can).

    A design (r1, n1, r, n) needs P(X1 > r1 | p1) >= power (its power cannot exceed its chance of
    continuing), and EN(p0) = n1 + P(X1 > r1 | p0) (n - n1) < en0 means n1 < en0 and
    n < n1 + (en0 - n1) / P(X1 > r1 | p0).
    """
    worst = 0
    for n1 in range(1, min(math.ceil(en0), nm + 1)):
        sf0 = B0.sf[n1, B0.off:B0.off + n1 + 1]
        sf1 = B1.sf[n1, B1.off:B1.off + n1 + 1]
        can = (sf1 >= pw - 1e-12 - 1e-9) & (n1 + sf0 * (nm + 1 - n1) < en0 - 1e-12)
        if can.any():
            reach = n1 + (en0 - n1) / np.maximum(sf0[can], 1e-300)
            worst = max(worst, int(min(math.ceil(float(reach.max())), 10**9)))
    return worst if worst > nm else 0


def _simon_search(B0: _Binom, B1: _Binom, al: float, pw: float, nm: int) -> tuple[SimonStage | None, SimonStage | None]:
    """Simon's optimal and minimax designs with n <= ``nm`` (None where no design qualifies); see :func:`simon`."""
    # Skipped without changing the result (see Notes): every n whose most powerful test misses the
    # power, every r1 whose stage-1 continuation probability under p1 misses it, and every (n1, r1, n)
    # that cannot improve the designs found so far. ``slack`` keeps rounding out of these bounds.
    slack = 1e-9
    no_power = _most_powerful(B0, B1, nm, al + 1e-12 + slack) < pw - 1e-12 - slack
    may_power = B1.sf[:, B1.off:] >= pw - 1e-12 - slack  # [n1, r1]: P(X1 > r1 | p1) can reach the power
    n1_all = np.arange(nm + 1)
    best_opt: SimonStage | None = None
    best_mm: SimonStage | None = None

    def improves(en0: np.ndarray, n: int) -> np.ndarray:
        # the updates below, for every candidate: could this EN(p0) replace the optimal or minimax design?
        if best_opt is None or best_mm is None:
            return np.ones(en0.shape, dtype=bool)
        out = en0 < best_opt.en0 - 1e-12
        if n == best_mm.n:
            out |= en0 < best_mm.en0 - 1e-12
        return out

    for n in range(2, nm + 1):
        if no_power[n]:
            continue
        n1s = n1_all[1:n]
        en_all = n1s[:, None] + (1 - B0.cdf[1:n, :]) * (n - n1s)[:, None]  # EN(p0) for every (n1, r1)
        visit = (may_power[1:n] & improves(en_all, n)).any(axis=1)
        for n1 in n1s[visit].tolist():
            cand = may_power[n1, : n1 + 1] & improves(n1 + (1 - B0.cdf[n1, : n1 + 1]) * (n - n1), n)
            if not cand.any():
                continue
            R0 = B0.reject(n1, n)
            ok = R0 <= al + 1e-12
            has = ok.any(axis=1) & cand
            if not has.any():
                continue
            r_idx = ok.argmax(axis=1)  # smallest r meeting alpha (largest power), per r1
            r1s = np.flatnonzero(has)
            rs = r_idx[r1s]
            pows = B1.reject(n1, n)[r1s, rs]
            good = pows >= pw - 1e-12
            if not good.any():
                continue
            pet = B0.cdf[n1, r1s]
            en0 = n1 + (1 - pet) * (n - n1)
            for j in np.flatnonzero(good):
                st = SimonStage(r1=int(r1s[j]), n1=n1, r=int(rs[j]), n=n, en0=float(en0[j]), pet0=float(pet[j]),
                                alpha=float(R0[r1s[j], rs[j]]), power=float(pows[j]))
                if best_opt is None or st.en0 < best_opt.en0 - 1e-12:
                    best_opt = st
                if best_mm is None or n < best_mm.n or (n == best_mm.n and st.en0 < best_mm.en0 - 1e-12):
                    best_mm = st
    return best_opt, best_mm


# -- A'Hern's single-stage design -------------------------------------------------------------------


@dataclass(frozen=True, eq=False, repr=False)
class AHernDesign(ReportMixin):
    """A'Hern's (2001) exact single-stage design: treat ``n``, declare promising if >= ``r`` respond.

    Attributes
    ----------
    p0, p1, alpha, power : float
        Inputs.
    n, r : int
        Sample size and the number of responses needed.
    attained_alpha, attained_power : float
        Exact P(X >= r | p0) and P(X >= r | p1).
    """

    p0: float
    p1: float
    alpha: float
    power: float
    n: int
    r: int
    attained_alpha: float
    attained_power: float

    def table(self) -> pd.DataFrame:
        """One row: ``p0, p1, alpha, power, n, r, attained_alpha, attained_power``."""
        return pd.DataFrame([vars(self)])

    def report(self) -> dict[str, Any]:
        return {"title": f"A'Hern single-stage design (p0 = {self.p0:g}, p1 = {self.p1:g})",
                "lines": [("patients", self.n), ("responses needed (>=)", self.r),
                          ("attained alpha", self.attained_alpha), ("attained power", self.attained_power)],
                "table": None, "notes": ()}


def ahern(p0: float, p1: float, *, alpha: float = 0.05, power: float = 0.8, nmax: int = 5000) -> AHernDesign:
    """A'Hern's exact single-stage phase 2 design: the smallest n with a cut-off r such that
    P(X >= r | p0) <= alpha and P(X >= r | p1) >= power, X ~ Bin(n, p).

    Parameters
    ----------
    p0, p1 : float
        Benchmark and target response rates (p0 < p1).
    alpha, power : float
        One-sided type I error and power.
    nmax : int, default 5000
        Largest n searched (at most 100000; A'Hern's Table 1 reaches n = 1300).

    Returns
    -------
    AHernDesign

    References
    ----------
    A'Hern, R. P. (2001). Sample size tables for exact single-stage phase II designs. *Statistics
    in Medicine*, 20(6), 859-866.

    Examples
    --------
    >>> d = ahern(0.1, 0.2)
    >>> d.n, d.r, round(d.attained_alpha, 4), round(d.attained_power, 4)   # Khan et al. (2012): 4.53%, 80.81%
    (78, 13, 0.0453, 0.8081)
    """
    a, b, al, pw = check_rates(p0, p1, alpha, power)
    nm = _nmax(nmax, hi=100_000)
    for n in range(1, nm + 1):
        r = np.arange(n + 1)
        a_r = stats.binom.sf(r - 1, n, a)  # P(X >= r)
        ok = a_r <= al + 1e-12
        if not ok.any():
            continue
        r0 = int(ok.argmax())  # smallest r meeting alpha has the largest power
        pw_r = float(stats.binom.sf(r0 - 1, n, b))
        if pw_r >= pw - 1e-12:
            return AHernDesign(p0=a, p1=b, alpha=al, power=pw, n=n, r=r0, attained_alpha=float(a_r[r0]),
                               attained_power=pw_r)
    raise ValueError(f"no single-stage design with n <= nmax={nm} meets alpha={al:g} and power={pw:g}; increase nmax")


# -- p0 from a pooled analysis ----------------------------------------------------------------------


def p0_from(source: Any) -> float:
    """A benchmark response rate from a number, a pooled proportion or a MAP prior.

    Parameters
    ----------
    source : float, PoolResult or MAPPrior
        A number in (0, 1); a :class:`~metaoutcome.results.PoolResult` of a proportion measure
        (PLO, PR, PAS, PFT, PLN; its pooled estimate back-transformed); or a MAP prior (its mean).

    >>> p0_from(0.15)
    0.15
    """
    if isinstance(source, (int, float, np.floating)) and not isinstance(source, bool):
        return _prob("p0", source)
    from .results import PoolResult

    if isinstance(source, PoolResult):
        from .measures import get_measure

        if get_measure(source.measure).kind != "proportion":
            raise ValueError(f"p0 needs a pooled proportion; the result's measure is {source.measure!r}")
        nat = source.back_transform().estimate
        return _prob("p0", nat / 100.0 if get_measure(source.measure).percent else nat)
    mean = getattr(source, "mean", None)
    if mean is not None and hasattr(source, "mixture"):
        return _prob("p0", float(mean))
    raise ValueError(f"p0 must be a number in (0, 1), a pooled proportion (PoolResult) or a MAP prior; got "
                     f"{type(source).__name__}")


# -- Bayesian operating characteristics under a MAP prior ----------------------------------------------


@dataclass(frozen=True, eq=False, repr=False)
class BayesOC(ReportMixin):
    """Operating characteristics of a single-arm design with a Bayesian go rule against the MAP prior.

    Go if P(theta_E > theta_C | x responses in n) >= ``threshold``, theta_E ~ Beta(a + x, b + n - x)
    (the trial arm, prior ``Beta(a, b)``), theta_C ~ the (robust) MAP prior of the benchmark rate.

    Attributes
    ----------
    n : int
        Patients in the single arm.
    threshold : float
        Posterior probability needed for a go.
    x_min : int
        Smallest number of responses giving a go (n + 1 if none does).
    table : DataFrame
        ``scenario, true_rate, p_go``: P(go) when the true rate is p0, p1, and (``"MAP"``, rate NaN)
        when the true rate is a new draw from the MAP prior (the prior-predictive false-go rate).
    prior_label : str
        The MAP prior used.
    """

    n: int
    threshold: float
    x_min: int
    table: pd.DataFrame
    prior_label: str

    def p_go(self, p: float) -> float:
        """P(go | true response rate p)."""
        return float(stats.binom.sf(self.x_min - 1, self.n, _prob("p", p)))

    def report(self) -> dict[str, Any]:
        return {"title": f"Bayesian operating characteristics (n = {self.n}; go if P(rate > benchmark) >= "
                         f"{self.threshold:g})",
                "lines": [("benchmark prior", self.prior_label), ("go needs >= responses", self.x_min)],
                "table": self.table, "notes": ()}


def bayes_oc(n: int, map_prior: Any, p0: float, p1: float, *, threshold: float = 0.9,
             prior: tuple[float, float] = (1.0, 1.0)) -> BayesOC:
    """Operating characteristics of a single-arm trial of ``n`` patients judged against a MAP prior.

    Parameters
    ----------
    n : int
        Patients in the trial.
    map_prior : BetaMixture or MAPPrior
        Prior of the benchmark (historical control) response rate; a MAPPrior's fitted mixture is
        used (robustify it first to protect against prior-data conflict).
    p0, p1 : float
        Rates at which to report P(go) (p0 < p1).
    threshold : float, default 0.9
        Go if P(theta_E > theta_C | data) >= threshold.
    prior : (a, b), default (1, 1)
        Beta prior of the trial arm's response rate.

    Returns
    -------
    BayesOC

    Notes
    -----
    P(theta_E > theta_C | x) = sum_k w_k P(B_E > B_k), B_E ~ Beta(a + x, b + n - x), B_k the MAP's
    beta components, integral f_E(t) F_C(t) dt by composite Gauss-Legendre over panels cut at
    quantiles of the posterior and of each component, so a posterior however narrow (large n) is
    resolved. P rises with x, so the go region is x >= x_min, found by bisection, and
    P(go | p) = P(X >= x_min).
    The prior-predictive P(go) averages over theta ~ MAP: a beta-binomial mixture.

    Examples
    --------
    >>> from metaoutcome.bayes.map_prior import BetaMixture
    >>> oc = bayes_oc(40, BetaMixture([1.0], [15.0], [85.0]), 0.15, 0.35)
    >>> oc.x_min
    10
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 1 <= int(n) <= 10000:
        raise ValueError(f"n must be a whole number of patients in [1, 10000]; got {n!r}")
    a, b, _, _ = check_rates(p0, p1)
    thr = _prob("threshold", threshold)
    pa, pb = (float(prior[0]), float(prior[1]))
    if not (pa > 0 and pb > 0):
        raise ValueError(f"prior must be two positive Beta parameters (a, b); got {prior!r}")
    mix = getattr(map_prior, "mixture", map_prior)
    if not hasattr(mix, "cdf"):
        raise ValueError(f"map_prior must be a BetaMixture or a MAPPrior; got {type(map_prior).__name__}")
    n = int(n)
    x_min = _go_boundary(n, mix, thr, pa, pb)
    rows = [dict(scenario="p0", true_rate=a, p_go=float(stats.binom.sf(x_min - 1, n, a))),
            dict(scenario="p1", true_rate=b, p_go=float(stats.binom.sf(x_min - 1, n, b)))]
    # prior-predictive: theta ~ MAP mixture -> X ~ beta-binomial mixture
    pp = sum(float(w) * float(stats.betabinom.sf(x_min - 1, n, ai, bi)) for w, ai, bi in zip(mix.w, mix.a, mix.b))
    rows.append(dict(scenario="MAP", true_rate=math.nan, p_go=pp))
    return BayesOC(n=n, threshold=thr, x_min=x_min, table=pd.DataFrame(rows), prior_label=str(mix))


_QS = np.array([1e-13, 1e-9, 1e-6, 1e-4, 1e-3, 0.01, 0.05, 0.2, 0.5, 0.8, 0.95, 0.99, 0.999, 1 - 1e-4, 1 - 1e-6,
                1 - 1e-9, 1 - 1e-13])
_GL_T, _GL_W = np.polynomial.legendre.leggauss(16)


def _p_better(x: int, n: int, mix: Any, pa: float, pb: float) -> float:
    """P(theta_E > theta_C | x responses in n) = integral f_E(t) F_C(t) dt, f_E the Beta posterior.

    Composite Gauss-Legendre (16 nodes a panel) over the posterior's central 1 - 2e-13, cut into
    panels at quantiles of the posterior and of every MAP component, so that a narrow posterior
    (a large trial) or a narrow component is resolved wherever it lies.
    """
    post = stats.beta(pa + x, pb + n - x)
    lo, hi = (float(v) for v in post.ppf([_QS[0], _QS[-1]]))
    cuts = [post.ppf(_QS)] + [stats.beta.ppf(_QS, a_k, b_k) for a_k, b_k in zip(mix.a, mix.b)]
    edges = np.unique(np.clip(np.concatenate([np.asarray(c, dtype=float) for c in cuts] + [np.array([lo, hi])]), lo, hi))
    a, b = edges[:-1, None], edges[1:, None]
    t = ((b - a) / 2 * _GL_T[None, :] + (a + b) / 2).ravel()
    w = ((b - a) / 2 * _GL_W[None, :]).ravel()
    val = float(np.sum(w * post.pdf(t) * mix.cdf(t))) + float(mix.cdf(np.array([lo]))[0]) * _QS[0]
    return min(max(val, 0.0), 1.0)


def _go_boundary(n: int, mix: Any, thr: float, pa: float, pb: float) -> int:
    """The smallest x with P(theta_E > theta_C | x) >= thr (n + 1 if none): bisection, P rising in x."""
    if _p_better(n, n, mix, pa, pb) < thr:
        return n + 1
    lo, hi = -1, n  # P(lo) < thr (lo = -1: none below 0), P(hi) >= thr
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _p_better(mid, n, mix, pa, pb) >= thr:
            hi = mid
        else:
            lo = mid
    return hi


# -- historical arms from the bundled data -----------------------------------------------------------


def historical_arms(frame: pd.DataFrame | None = None, *, where: dict[str, Any] | None = None,
                    outcome: str = "ORR") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Historical arms with responders/n for a benchmark: one population per arm, nothing hidden.

    Parameters
    ----------
    frame : DataFrame, optional
        Rows in the curated ``proportions`` layout (with trial columns); default the bundled
        ``proportions`` table joined with its trials.
    where : dict, optional
        Column -> value or list of values to keep, e.g. ``{"cancer": "HCC", "setting":
        ["second-line", "second-line or later"]}``; a column that does not exist is an error.
    outcome : str, default "ORR"
        The outcome to keep.

    Returns
    -------
    (arms, excluded) : tuple of DataFrame
        ``arms``: ``label, trial_id, arm, regimen_class, events, n, events_derived`` for the arms
        used (``events_derived``: the count was derived from the printed percentage and n);
        ``excluded``: ``label, reason`` for the selected rows not used (no counts, a subset or
        superseded analysis of the same patients).

    Examples
    --------
    >>> arms, excluded = historical_arms(where={"cancer": "NSCLC", "regimen_class": "chemotherapy"})
    >>> sorted(arms["label"])
    ['CheckMate 017', 'CheckMate 057', 'OAK', 'ORIENT-3']
    """
    import warnings

    from . import effects
    from .review import one_population, study_labels
    from .datasets import load_dataset

    f = load_dataset("proportions", with_trials=True) if frame is None else frame.copy()
    sel = dict(where or {})
    sel.setdefault("outcome", outcome)
    for col, val in sel.items():
        if col not in f.columns:
            raise ValueError(f"where: column {col!r} is not in the table (columns: {', '.join(map(str, f.columns))})")
        vals = [val] if isinstance(val, str) or not hasattr(val, "__iter__") else list(val)
        f = f[f[col].astype(str).isin([str(v) for v in vals])]
    if f.empty:
        raise ValueError(f"where={sel!r} selects no rows of the table")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", effects.ExclusionWarning)
        es = effects.from_proportions(f.reset_index(drop=True), measure="PLO")
    es = one_population(es, ["trial_id", "arm", "outcome"])
    es = es.assign(label=study_labels(es))
    used = es["yi"].notna()
    # events derived from a printed percentage and n (effects.from_proportions' rule, flagged in
    # ``events_derived``) enter as the count the effect-size step used
    derived = es["events_derived"].fillna(False).astype(bool)
    es["events"] = es["events"].astype("Float64").where(
        ~derived, effects.proportions.events_from_percent(es["percent"].astype(float), es["n"].astype(float)))
    arms = es.loc[used, ["label", "trial_id", "arm", "regimen_class", "events", "n", "events_derived"]]
    arms = arms.reset_index(drop=True)
    arms["events"] = arms["events"].astype("int64")
    arms["n"] = arms["n"].astype("int64")
    excluded = es.loc[~used, ["label", "exclusion_reason"]].rename(columns={"exclusion_reason": "reason"})
    return arms, excluded.reset_index(drop=True)
