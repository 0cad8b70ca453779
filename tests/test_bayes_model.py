"""Bayesian normal-normal meta-analysis (metaoutcome.bayes) against two independent references.

1. An independent computation in this file: scipy.integrate.quad (adaptive QUADPACK) over tau on
   [0, inf), with brentq for quantiles -- a different algorithm from the module's fixed
   Gauss-Legendre panels on log(tau) and its Newton steps.
2. bayesmeta's published worked example (Röver 2020, J Stat Softw 93(6); the Crins et al. 2014
   transplantation data, Table 3), to the digits printed there. bayesmeta is not installable here
   (``apt-cache policy r-cran-bayesmeta`` shows no candidate), so its printed output is the
   reference.

What differs from bayesmeta and why: bayesmeta integrates tau exactly (numerically) but
approximates the marginal of mu (and of theta_new, theta_i) by a finite normal mixture over a tau
grid chosen by the DIRECT algorithm (Röver & Friede 2017) with a bounded divergence; its mu/theta
summaries therefore carry errors of up to ~2e-3 (e.g. prediction interval lower bound -2.7661 vs
the exact -2.7644; P(mu > 0) 6.187e-05 vs the exact 6.013e-05). The exact values here are confirmed
by test 1. Quantities bayesmeta integrates directly (tau's posterior) agree to its printed digits.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from scipy import integrate, stats

from metaoutcome.bayes import bayesmeta, half_cauchy, half_normal, half_t, log_normal, turner_prior, uniform

# Crins et al. (2014) via Röver (2020) Table 3: events/total, IL-2RA vs control; log OR with metafor's
# escalc (0.5 added to all cells of the table with a zero, study 6)
_A = np.array([14, 16, 3, 9, 4, 0.0])
_N1 = np.array([61, 28, 18, 54, 36, 50.0])
_C = np.array([15, 19, 8, 29, 11, 3.0])
_N2 = np.array([20, 28, 12, 54, 36, 34.0])
LABELS = ["Heffron (2003)", "Gibelli (2004)", "Schuller (2005)", "Ganschow (2005)", "Spada (2006)", "Gras (2008)"]


def crins() -> tuple[np.ndarray, np.ndarray]:
    a, b, c, d = _A, _N1 - _A, _C, _N2 - _C
    cc = np.where((a == 0) | (b == 0) | (c == 0) | (d == 0), 0.5, 0.0)
    a, b, c, d = a + cc, b + cc, c + cc, d + cc
    return np.log(a * d / (b * c)), 1 / a + 1 / b + 1 / c + 1 / d


class QuadReference:
    """Posterior summaries by scipy.integrate.quad over tau (independent of the module)."""

    def __init__(self, y, v, prior_pdf, m0=0.0, s0=math.inf, upper=math.inf):
        self.y, self.v, self.prior_pdf, self.m0, self.s0, self.upper = np.asarray(y), np.asarray(v), prior_pdf, m0, s0, upper
        self.z = self._int(lambda t: 1.0)

    def cond(self, t):
        w = 1 / (self.v + t * t)
        prec, wy, wyy = w.sum(), (w * self.y).sum(), (w * self.y**2).sum()
        if math.isfinite(self.s0):
            prec, wy, wyy = prec + self.s0**-2, wy + self.m0 / self.s0**2, wyy + self.m0**2 / self.s0**2
        m = wy / prec
        lik = math.exp(-0.5 * np.log(self.v + t * t).sum() - 0.5 * math.log(prec) - 0.5 * (wyy - m * m * prec))
        return lik, m, 1 / prec

    def _int(self, fn, lo=0.0, hi=None):
        hi = self.upper if hi is None else hi
        f = lambda t: self.prior_pdf(t) * self.cond(t)[0] * fn(t)  # noqa: E731
        pts = None
        if math.isfinite(hi):
            return integrate.quad(f, lo, hi, epsabs=0, epsrel=1e-12, limit=500)[0]
        mid = 2.0
        if lo < mid:
            return (integrate.quad(f, lo, mid, epsabs=0, epsrel=1e-12, limit=500, points=pts)[0]
                    + integrate.quad(f, mid, np.inf, epsabs=0, epsrel=1e-12, limit=500)[0])
        return integrate.quad(f, lo, np.inf, epsabs=0, epsrel=1e-12, limit=500)[0]

    def E(self, fn):
        return self._int(fn) / self.z

    # mixtures given tau: (mean, var) of mu, theta_new, theta_i
    def comp(self, which, t):
        _, m, V = self.cond(t)
        if which == "mu":
            return m, V
        if which == "theta_new":
            return m, V + t * t
        i = which
        B = self.v[i] / (self.v[i] + t * t)
        return (1 - B) * self.y[i] + B * m, (1 - B) * self.v[i] + B * B * V

    def mean_sd(self, which):
        mean = self.E(lambda t: self.comp(which, t)[0])
        m2 = self.E(lambda t: self.comp(which, t)[0] ** 2 + self.comp(which, t)[1])
        return mean, math.sqrt(m2 - mean**2)

    def cdf(self, which, x):
        return self.E(lambda t: stats.norm.cdf(x, self.comp(which, t)[0], math.sqrt(self.comp(which, t)[1])))

    def pdf(self, which, x):
        return self.E(lambda t: stats.norm.pdf(x, self.comp(which, t)[0], math.sqrt(self.comp(which, t)[1])))

    def tau_cdf(self, t):
        return self._int(lambda _: 1.0, 0.0, t) / self.z



def _lognormal_pdf(mu, sigma):
    return lambda t: stats.lognorm.pdf(t, s=sigma, scale=math.exp(mu))


Y, V = crins()
CASES = {
    # name: (y, v, prior object, prior pdf for quad, mu prior mean, mu prior sd, upper)
    "crins-hn05-normal4": (Y, V, half_normal(0.5), lambda t: stats.halfnorm.pdf(t, scale=0.5), 0.0, 4.0, math.inf),
    "crins-hc1-flat": (Y, V, half_cauchy(1.0), lambda t: stats.halfcauchy.pdf(t, scale=1.0), 0.0, math.inf, math.inf),
    "crins-halft3-flat": (Y, V, half_t(3, 0.5), lambda t: 2 * stats.t.pdf(t / 0.5, 3) / 0.5, 0.0, math.inf, math.inf),
    "crins-uniform2-flat": (Y, V, uniform(2.0), lambda t: 0.5, 0.0, math.inf, 2.0),
    "crins-turner-normal4": (Y, V, turner_prior("surgical", "pharmacological", "placebo / control"),
                             _lognormal_pdf(-2.14 / 2, 1.74 / 2), 0.0, 4.0, math.inf),
    "two-randomized-hn05": (Y[[0, 4]], V[[0, 4]], half_normal(0.5), lambda t: stats.halfnorm.pdf(t, scale=0.5),
                            0.0, 4.0, math.inf),
    "k1-hn05-flat": (Y[:1], V[:1], half_normal(0.5), lambda t: stats.halfnorm.pdf(t, scale=0.5), 0.0, math.inf,
                     math.inf),
    "k1-lognormal-normal2": (Y[3:4], V[3:4], log_normal(-1.0, 0.8), _lognormal_pdf(-1.0, 0.8), 0.0, 2.0, math.inf),
    "k12-heterogeneous-hn1": (np.linspace(-1.2, 0.9, 12) ** 3, np.linspace(0.01, 0.2, 12), half_normal(1.0),
                              lambda t: stats.halfnorm.pdf(t, scale=1.0), 0.0, math.inf, math.inf),
    "k40-precise-hn05": (np.sin(np.arange(40)) * 0.3, np.full(40, 0.002) + np.arange(40) * 1e-4, half_normal(0.5),
                         lambda t: stats.halfnorm.pdf(t, scale=0.5), 0.0, math.inf, math.inf),
}


@pytest.fixture(scope="module", params=sorted(CASES), ids=sorted(CASES))
def case(request):
    y, v, prior, pdf, m0, s0, up = CASES[request.param]
    res = bayesmeta(yi=y, vi=v, tau_prior=prior, mu_prior_mean=m0, mu_prior_sd=None if math.isinf(s0) else s0,
                    interval="central")
    return res, QuadReference(y, v, pdf, m0, s0, up), y


# Tolerance: both sides are converged numerical integrals (module: 384-node Gauss-Legendre in
# log tau; reference: QUADPACK at epsrel 1e-12); 1e-7 relative leaves room for their sum.
RTOL, ATOL = 1e-7, 1e-9


def test_moments_equal_quadrature(case):
    res, ref, y = case
    t = res.table.set_index("parameter")
    for name, which in [("mu", "mu"), ("theta_new", "theta_new")] + [
            (f"theta[{lab}]", i) for i, lab in list(enumerate(res.labels))[:3]]:
        m, s = ref.mean_sd(which)
        assert_allclose([t.loc[name, "mean"], t.loc[name, "sd"]], [m, s], rtol=RTOL, atol=ATOL, err_msg=name)


def test_quantiles_equal_quadrature(case):
    res, ref, y = case
    t = res.table.set_index("parameter")
    # a quantile q_p is right when the reference CDF at q_p is p (cheaper than inverting quad)
    for name, which in [("mu", "mu"), ("theta_new", "theta_new"), (f"theta[{res.labels[0]}]", 0)]:
        q = t.loc[name, ["median", "ci_low", "ci_high"]].to_numpy(float)
        assert_allclose([ref.cdf(which, x) for x in q], [0.5, 0.025, 0.975], atol=1e-9, err_msg=name)


def test_tau_equals_quadrature(case):
    res, ref, y = case
    tau = res.tau
    assert_allclose(tau["mean"], ref.E(lambda t: t), rtol=RTOL)
    assert_allclose(tau["sd"], math.sqrt(ref.E(lambda t: t * t) - ref.E(lambda t: t) ** 2), rtol=1e-6)
    assert_allclose([ref.tau_cdf(x) for x in (tau["median"], tau["ci_low"], tau["ci_high"])], [0.5, 0.025, 0.975],
                    atol=1e-9)
    for x in (0.1, 0.5, 1.0):
        assert_allclose(res.cdf(x, "tau")[0], ref.tau_cdf(x), rtol=1e-7, atol=1e-12)


def test_tail_probabilities_equal_quadrature(case):
    res, ref, y = case
    for x in (-1.0, 0.0, float(np.mean(y))):
        assert_allclose(res.cdf(x, "mu")[0], ref.cdf("mu", x), rtol=1e-7, atol=1e-13)
        assert_allclose(res.cdf(x, "theta_new")[0], ref.cdf("theta_new", x), rtol=1e-7, atol=1e-13)


def test_case_grid_complete():
    assert len(CASES) == 10
    ks = {len(c[0]) for c in CASES.values()}
    assert {1, 2, 6, 12, 40} <= ks  # k = 1 and 2 (few trials) through 40 precise studies


@pytest.mark.parametrize("name", ["mu", "theta_new", "theta[Heffron (2003)]"])
def test_shortest_interval_is_highest_density(name):
    """Shortest interval: F(b) - F(a) = 0.95 and f(a) = f(b), checked with the quad reference."""
    res = bayesmeta(yi=Y, vi=V, labels=LABELS, tau_prior=half_normal(0.5), mu_prior_mean=0, mu_prior_sd=4)
    ref = QuadReference(Y, V, lambda t: stats.halfnorm.pdf(t, scale=0.5), 0.0, 4.0)
    which = {"mu": "mu", "theta_new": "theta_new"}.get(name, 0)
    a, b = res.table.set_index("parameter").loc[name, ["ci_low", "ci_high"]]
    assert_allclose(ref.cdf(which, b) - ref.cdf(which, a), 0.95, atol=1e-9)
    assert_allclose(ref.pdf(which, a), ref.pdf(which, b), rtol=1e-6)


# -- bayesmeta's worked example (Röver 2020) ---------------------------------------------------


@pytest.fixture(scope="module")
def ma01():
    return bayesmeta(yi=Y, vi=V, labels=LABELS, tau_prior=half_normal(0.5), mu_prior_mean=0, mu_prior_sd=4)


def test_roever2020_tau_summary(ma01):
    # Röver (2020) p. 22 "marginal posterior summary" and p. 24 "ma01$summary" (tau column):
    # median 0.3445022/0.3445023, mean 0.3810562, sd 0.2593672, 95% upper 0.8607305/0.8607193
    # (bayesmeta's two printouts differ by 1.1e-5 in the upper bound: atol 2e-5 there)
    tau = ma01.tau
    assert_allclose(tau["median"], 0.3445022, atol=2e-7)
    assert_allclose(tau["mean"], 0.3810562, atol=1e-7)
    assert_allclose(tau["sd"], 0.2593672, atol=1e-7)
    assert tau["ci_low"] == 0.0
    assert_allclose(tau["ci_high"], 0.86073, atol=2e-5)


def test_roever2020_tau_probabilities(ma01):
    # p. 25: 1 - pposterior(tau = 1) = 0.02097488; qposterior(tau.p = 0.99) = 1.109186;
    # p. 27: central 99% interval 0.003547657 1.205400562 (1.2054 to 5 digits: bayesmeta's tau grid)
    assert_allclose(1 - ma01.cdf(1.0, "tau")[0], 0.02097488, atol=1e-8)
    assert_allclose(ma01.quantile(0.99, "tau")[0], 1.109186, atol=1e-6)
    assert_allclose(ma01.quantile([0.005, 0.995], "tau"), [0.003547657, 1.205400562], rtol=5e-5)


def test_roever2020_mu_and_prediction(ma01):
    # p. 22/24: mu median -1.5734823, mean -1.5764366, sd 0.3295298, 95% [-2.2312306, -0.9264079];
    # theta_new median -1.5701653, mean -1.5764366, sd 0.5671855, 95% [-2.7661319, -0.4072970].
    # bayesmeta's DIRECT mixture approximation of mu's marginal: agreement to ~2e-3 (module
    # docstring); the exact values are proven against quadrature above.
    mu, pr = ma01.mu, ma01.prediction
    assert_allclose(mu[["median", "mean", "sd", "ci_low", "ci_high"]].to_numpy(float),
                    [-1.5734823, -1.5764366, 0.3295298, -2.2312306, -0.9264079], atol=6e-4)
    assert_allclose(pr[["median", "mean", "sd", "ci_low", "ci_high"]].to_numpy(float),
                    [-1.5701653, -1.5764366, 0.5671855, -2.7661319, -0.4072970], atol=2e-3)
    # the forest plot's two-decimal values (Figure 2): mean -1.57 [-2.23, -0.93]
    assert [round(float(x), 2) for x in mu[["median", "ci_low", "ci_high"]]] == [-1.57, -2.23, -0.93]


def test_roever2020_shrinkage(ma01):
    # p. 28 ma01$theta[, 1:2]: Heffron median -1.7411356 mean -1.7778965 sd 0.4229425 95% [-2.6561049, -0.9920023];
    # Gibelli median -1.2821722 mean -1.2339736 sd 0.4488759 95% [-2.0455088, -0.3089461]
    st = ma01.studies().set_index("label")
    assert_allclose(st.loc["Heffron (2003)", ["median", "mean", "sd", "ci_low", "ci_high"]].to_numpy(float),
                    [-1.7411356, -1.7778965, 0.4229425, -2.6561049, -0.9920023], atol=1e-3)
    assert_allclose(st.loc["Gibelli (2004)", ["median", "mean", "sd", "ci_low", "ci_high"]].to_numpy(float),
                    [-1.2821722, -1.2339736, 0.4488759, -2.0455088, -0.3089461], atol=1e-3)
    # forest plot (Figure 2) shrinkage intervals are not printed as numbers; the quoted estimates are:
    assert_allclose(st["yi"].to_numpy()[:2], [-2.3097026, -0.4595323], atol=1e-7)


def test_roever2020_two_studies():
    # p. 33: ma05 (Heffron, Spada): pposterior(mu = 0) = 0.9974968; Figure 6: mean -1.78 [-2.86, -0.69],
    # prediction -1.78 [-3.25, -0.28]
    ma05 = bayesmeta(yi=Y[[0, 4]], vi=V[[0, 4]], tau_prior=half_normal(0.5), mu_prior_mean=0, mu_prior_sd=4)
    assert_allclose(ma05.cdf(0.0)[0], 0.9974968, atol=5e-5)
    assert [round(float(x), 2) for x in ma05.mu[["median", "ci_low", "ci_high"]]] == [-1.78, -2.86, -0.69]
    assert [round(float(x), 2) for x in ma05.prediction[["median", "ci_low", "ci_high"]]] == [-1.78, -3.25, -0.28]


def test_turner_prior_quantiles():
    # Röver (2020) p. 31: tp$qprior(c(0.025, 0.5, 0.975)) = 0.06233896 0.34300852 1.88734045
    tp = turner_prior("surgical", "pharmacological", "placebo / control")
    assert_allclose(tp.quantile([0.025, 0.5, 0.975]), [0.06233896, 0.34300852, 1.88734045], rtol=1e-7)
    # order of the comparators does not matter; the marginal setting (outcome=None) is mu=-2.56, sigma=1.74
    assert turner_prior("surg", "placebo / control", "pharmacological").params == tp.params
    assert_allclose(turner_prior(None).quantile(0.5), math.exp(-2.56 / 2))


def test_half_normal_prior_matches_roever_statement():
    # Röver (2020) p. 20: half-normal(0.5) confines tau <= 0.98 with 95% probability
    assert round(float(half_normal(0.5).quantile(0.95)), 2) == 0.98


# -- API, probabilities, k = 1, bad input ------------------------------------------------------


def test_prob_on_natural_scale_hr():
    r = bayesmeta(yi=np.log([0.7, 0.8, 0.9]), sei=[0.1, 0.12, 0.15], measure="HR")
    assert_allclose(r.prob(1.0), r.cdf(0.0)[0])
    assert_allclose(r.prob(0.8), r.cdf(math.log(0.8))[0])
    assert_allclose(r.prob(0.8, below=False), 1 - r.cdf(math.log(0.8))[0])
    assert r.prob(0.8, "theta_new") < r.prob(1.0, "theta_new")
    s = r.summary()
    assert_allclose(s.loc[s.parameter == "mu", "median_natural"].iloc[0], math.exp(r.mu["median"]))


def test_k1_works_and_shrinks_to_mu():
    r = bayesmeta(yi=[0.4], sei=[0.2], tau_prior=half_normal(0.5))
    assert r.k == 1
    assert_allclose(r.mu["median"], 0.4, atol=1e-9)  # flat mu prior, symmetric
    assert any("k = 1" in n for n in r.notes)
    assert "Bayesian random-effects" in str(r) and "<table>" in r._repr_html_()


def test_dataframe_front_door_and_excluded_rows():
    es = pd.DataFrame({"yi": [0.1, np.nan, 0.3], "vi": [0.04, 0.05, 0.06], "label": ["A", "B", "C"],
                       "measure": "HR"})
    r = bayesmeta(es)
    assert r.k == 2 and r.labels == ("A", "C") and r.measure == "HR"
    assert any("B" in n for n in r.notes)


@pytest.mark.parametrize("kwargs, arg", [
    (dict(yi=[], sei=[]), "k=0"),
    (dict(yi=[0.1], sei=[0.0]), "sei"),
    (dict(yi=[0.1], sei=[0.1], tau_prior="Jeffreys"), "tau_prior"),
    (dict(yi=[0.1], sei=[0.1], tau_prior=uniform(2), tau_prior_scale=1), "tau_prior_scale"),
    (dict(yi=[0.1], sei=[0.1], mu_prior_sd=0), "mu_prior_sd"),
    (dict(yi=[0.1], sei=[0.1], level=0.05), "level"),
    (dict(yi=[0.1], sei=[0.1], interval="hpd"), "interval"),
])
def test_bad_input_names_the_argument(kwargs, arg):
    with pytest.raises(ValueError, match=arg):
        bayesmeta(**kwargs)


@pytest.mark.parametrize("make, arg", [
    (lambda: half_normal(0), "scale"), (lambda: half_cauchy(-1), "scale"), (lambda: uniform(math.inf), "upper"),
    (lambda: half_t(0, 1), "df"), (lambda: log_normal(0, 0), "sigma"),
    (lambda: turner_prior("nonsense"), "outcome"),
    (lambda: turner_prior("pain", "placebo", "placebo"), "placebo"),
])
def test_improper_or_unknown_priors_refused(make, arg):
    with pytest.raises(ValueError, match=arg):
        make()
