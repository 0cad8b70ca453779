"""metaoutcome.glmm (binomial-normal GLMM) against metafor's rma.glmm / lme4::glmer.

Tolerances (named, with the reason):

* ``RTOL_GLMM = 1e-4`` -- metafor calls lme4::glmer, which maximises the same adaptive
  Gauss-Hermite likelihood with a different optimiser (bobyqa, default tolerances) and takes the
  SE from a finite-difference Hessian; its answers carry optimiser/differencing error of order
  1e-5, which rules out 1e-6. ``ATOL_TAU2 = 1e-6`` for tau^2 at the boundary 0 (lme4 stops at
  ~1e-15), ``ATOL_I2 = 1e-4`` (percent) likewise.
* ``RTOL_LAPLACE = 2e-2`` -- with nAGQ = 1 lme4's second stage uses Nelder-Mead (it stops with a
  gradient of ~2e-4) and a Hessian by differencing a deviance that PIRLS computes to ~1e-5, so
  lme4's estimate is ~6e-4 and its SE ~1 % away from the maximum of the Laplace likelihood; we
  check the Laplace likelihood itself against lme4's deviance function instead
  (``test_loglik_equals_lme4_devfun``).
* ``RTOL_DEVFUN = 1e-6`` (nAGQ = 7) and ``ATOL_DEVFUN_LAPLACE = 1e-3`` (nAGQ = 1: lme4 evaluates
  the Laplace log-determinant at a PIRLS mode found to its convergence tolerance, an error of
  first order, up to 3e-4 in the deviance at tau = 1.5)
  for lme4's deviance function at fixed parameters.
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from metaoutcome.glmm import glmm_loglik, pool_glmm

FIXTURE = Path(__file__).parent / "reference" / "pool_fixtures.json"
RTOL_GLMM = 1e-4
RTOL_LAPLACE = 2e-2
ATOL_TAU2 = 1e-6
ATOL_I2 = 1e-4
RTOL_DEVFUN = 1e-6
ATOL_DEVFUN_LAPLACE = 1e-3

with FIXTURE.open() as fh:
    FIX: dict[str, Any] = json.load(fh)

FIELDS = ("estimate", "se", "statistic", "pvalue", "ci_low", "ci_high", "pi_low", "pi_high", "tau2", "tau", "i2", "h2",
          "q", "q_pvalue")  # fmt: skip
ATOL = {"tau2": ATOL_TAU2, "tau": 1e-3, "i2": ATOL_I2, "pvalue": 1e-12, "q": 1e-10}


def _fit(rec: dict[str, Any]) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pool_glmm(rec["xi"], rec["ni"], nagq=rec["nAGQ"])


@pytest.mark.parametrize("rec", [pytest.param(r, id=r["id"]) for r in FIX["glmm"]])
def test_glmm_equals_metafor(rec: dict[str, Any]) -> None:
    res = _fit(rec)
    rtol = RTOL_GLMM if rec["nAGQ"] > 1 else RTOL_LAPLACE
    assert res.k == rec["k"]
    for name in FIELDS:
        ref = rec.get(name)
        if ref is None:  # metafor's FE fallback (lme4 failed): no PI
            continue
        if name == "pvalue" and rec["nAGQ"] == 1:
            # lme4's ~1 % SE error (see RTOL_LAPLACE) moves a p-value of 1e-6 (z ~ 4.8) by ~25 %
            continue
        np.testing.assert_allclose(getattr(res, name), ref, rtol=rtol, atol=ATOL.get(name, 0.0), err_msg=name)
    np.testing.assert_allclose(res.extra["q_lrt"], rec["q_lrt"], rtol=1e-8, atol=1e-10)
    nat = res.back_transform()
    for name in ("estimate", "ci_low", "ci_high"):
        np.testing.assert_allclose(getattr(nat, name), 100 * rec[f"{name}_natural"], rtol=rtol, err_msg=name)
    if rec.get("pi_low_natural") is not None:
        np.testing.assert_allclose(nat.pi_low, 100 * rec["pi_low_natural"], rtol=rtol)
        np.testing.assert_allclose(nat.pi_high, 100 * rec["pi_high_natural"], rtol=rtol)
    assert res.converged


@pytest.mark.parametrize("rec", [pytest.param(r, id=r["id"]) for r in FIX["glmm_devfun"]])
def test_loglik_equals_lme4_devfun(rec: dict[str, Any]) -> None:
    ours = np.array([-2 * glmm_loglik(b, t, rec["xi"], rec["ni"], rec["nAGQ"]) for t, b in zip(rec["tau"], rec["beta"])])
    ref = np.asarray(rec["deviance"])
    # lme4's deviance omits a constant: compare differences from the first point
    if rec["nAGQ"] == 1:
        np.testing.assert_allclose(ours - ours[0], ref - ref[0], atol=ATOL_DEVFUN_LAPLACE)
    else:
        np.testing.assert_allclose(ours - ours[0], ref - ref[0], rtol=RTOL_DEVFUN, atol=1e-9)


def test_fallback_when_lme4_fails_is_documented_in_fixture() -> None:
    failed = [r for r in FIX["glmm"] if r.get("error")]
    assert failed and all(r["ref_source"] == "FE" for r in failed)
    res = _fit(failed[0])
    assert res.tau2 == 0.0


def test_all_zero_events_warns_and_returns_nan_with_counts() -> None:
    with pytest.warns(UserWarning, match=r"all 3 studies have 0 events.*no finite maximum-likelihood.*0/60"):
        res = pool_glmm([0, 0, 0], [10, 20, 30])
    assert math.isnan(res.estimate) and res.extra["events_total"] == 0 and res.extra["n_total"] == 60
    assert any("no finite" in n for n in res.notes)
    str(res)
    res.summary()


def test_all_n_events_warns() -> None:
    with pytest.warns(UserWarning, match="as many events as patients.*100%"):
        res = pool_glmm([10, 20], [10, 20])
    assert math.isnan(res.estimate)


def test_k1_glmm() -> None:
    with pytest.warns(UserWarning, match="k = 1"):
        res = pool_glmm([5], [20])
    assert res.estimate == pytest.approx(math.log(5 / 15), rel=1e-8)
    assert math.isnan(res.tau2) and res.q_df == 0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(xi=[1, 2], ni=[10]), "lengths differ"),
        (dict(xi=[11], ni=[10]), "xi must be <= ni"),
        (dict(xi=[1.5], ni=[10]), r"xi must be a whole number \(a count\)"),
        (dict(xi=[-1], ni=[10]), "xi must be >= 0"),
        (dict(xi=[1], ni=[0]), "ni must be > 0"),
        (dict(xi=[], ni=[]), "k=0"),
        (dict(xi=[1, 2], ni=[10, 10], nagq=0), "nagq=0 must be a whole number from 1 to 25"),
        (dict(xi=[1, 2], ni=[10, 10], ci_method="knha"), "ci_method='knha' is not one of the allowed values: 'z', 't'"),
        (dict(xi=[1, 2], ni=[10, 10], level=120), r"level=120 is not a confidence level"),
    ],
    ids=["lengths", "x-gt-n", "fractional", "negative", "n0", "k0", "nagq", "ci-method", "level"],
)
def test_glmm_bad_input(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        pool_glmm(**kwargs)


# ---------------------------------------------------------------------------------------------
# the optimiser and its pieces (no R needed: these check the maximisation itself)
# ---------------------------------------------------------------------------------------------

# central differences of glmm_loglik with h = 1e-5: truncation ~h^2 |f'''| ~ 1e-8 relative and
# rounding ~1e-16 |f| / h ~ 1e-9 absolute; components that are 0 by symmetry need the atol
RTOL_GRAD_FD = 1e-6
ATOL_GRAD_FD = 1e-6
# Nelder-Mead on -glmm_loglik with xatol 1e-9: its answer is within ~1e-6 of the maximum in the
# parameters (the log-likelihood is flat to second order there)
ATOL_NM_PARAM = 1e-5
PRITZ = next(r for r in FIX["glmm"] if r["id"] == "pritz1997-nAGQ7")
# cases the fixture lacks: studies of 10^3-10^5 (a huge log-likelihood, where differencing it is
# imprecise), sparse small studies, a maximum between the scan's tau grid points 0 and 0.02
BIG_N = ([1372, 35298, 2424, 56434, 3544], [1730, 64148, 3956, 77090, 11888])
SPARSE = ([0, 1, 0, 0, 2, 0, 1, 0, 0, 3], [4, 6, 5, 3, 7, 2, 6, 5, 4, 7])
SMALL_TAU = ([42, 41, 95, 6, 9, 36, 47, 68, 95, 54, 88], [147, 162, 340, 25, 34, 140, 134, 276, 387, 196, 388])
HIGH_TAU = ([142, 74, 95, 227, 38, 94, 5, 1, 31, 75], [164, 110, 188, 235, 101, 173, 234, 168, 267, 234])
# the maximum (tau ~ 6.87) lies between the scan's last two grid points, 5 and the limit 8
NEAR_LIMIT = ([76, 1], [76, 13])


def _glmm_mod() -> Any:
    import metaoutcome.glmm as mod

    return mod


@pytest.mark.parametrize("nagq", [1, 2, 7])
@pytest.mark.parametrize(("beta", "tau"), [(0.3, 0.5), (1.2, 1.5), (-1.0, 0.05), (0.5, -0.7), (2.0, 0.0)],
                         ids=["b0.3-t0.5", "b1.2-t1.5", "b-1-t0.05", "negative-tau", "tau0"])  # fmt: skip
def test_exact_gradient_equals_differences_of_loglik(beta: float, tau: float, nagq: int) -> None:
    mod = _glmm_mod()
    x, n = np.asarray(PRITZ["xi"], float), np.asarray(PRITZ["ni"], float)
    ev = mod._Model(x, n, nagq).eval(np.array([[beta]]), np.array([[tau]]))
    h = 1e-5

    def f(b: float, t: float) -> float:
        return glmm_loglik(b, t, x, n, nagq)

    fd = [(f(beta + h, tau) - f(beta - h, tau)) / (2 * h), (f(beta, tau + h) - f(beta, tau - h)) / (2 * h)]
    np.testing.assert_allclose(ev.grad[0], fd, rtol=RTOL_GRAD_FD, atol=ATOL_GRAD_FD)
    np.testing.assert_allclose(ev.ll[0], f(beta, tau), rtol=1e-14)


def test_loglik_is_even_in_tau_and_binomial_at_zero() -> None:
    x, n = PRITZ["xi"], PRITZ["ni"]
    assert glmm_loglik(0.4, -0.9, x, n) == pytest.approx(glmm_loglik(0.4, 0.9, x, n), rel=1e-13)
    p = 1 / (1 + math.exp(-0.4))
    binom = sum(math.lgamma(b + 1) - math.lgamma(a + 1) - math.lgamma(b - a + 1) + a * math.log(p)
                + (b - a) * math.log1p(-p) for a, b in zip(x, n))  # fmt: skip
    assert glmm_loglik(0.4, 0.0, x, n) == pytest.approx(binom, rel=1e-13)


def test_modes_solve_the_mode_equation_from_any_start() -> None:
    from scipy import optimize, special

    mod = _glmm_mod()
    x = np.array([0.0, 1.0, 5e5, 1e6, 3.0])
    n = np.array([1e6, 1e6, 1e6, 1e6, 3.0])
    model = mod._Model(x, n, 7)
    b = np.array([[-10.0], [0.0], [10.0], [3.0]])
    tau = np.array([[8.0], [0.01], [-5.0], [2.0]])
    for start in (np.zeros((4, 5)), np.full((4, 5), 1e3), np.full((4, 5), -1e3)):
        z = model.modes(b, tau, start)
        for i in range(4):
            for j in range(5):
                def g(v: float, i: int = i, j: int = j) -> float:
                    return float(tau[i, 0] * (x[j] - n[j] * special.expit(b[i, 0] + tau[i, 0] * v)) - v)
                lo, hi = sorted([0.0, g(0.0)])
                ref = optimize.brentq(g, lo - 1e-12, hi + 1e-12, xtol=1e-15, rtol=1e-15) if lo < hi else 0.0
                assert z[i, j] == pytest.approx(ref, rel=1e-9, abs=1e-12), (i, j)


@pytest.mark.parametrize(("xi", "ni", "nagq"), [
    (PRITZ["xi"], PRITZ["ni"], 7), (PRITZ["xi"], PRITZ["ni"], 1), (PRITZ["xi"], PRITZ["ni"], 25),
    (*BIG_N, 7), (*SPARSE, 3), (*SMALL_TAU, 7), (*HIGH_TAU, 2), (*NEAR_LIMIT, 7),
], ids=["pritz", "pritz-laplace", "pritz-nagq25", "big-n", "sparse", "small-tau", "high-tau", "near-limit"])  # fmt: skip
def test_fit_is_the_maximum(xi: list[int], ni: list[int], nagq: int) -> None:
    from scipy import optimize

    mod = _glmm_mod()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = pool_glmm(xi, ni, nagq=nagq)
    assert res.converged and res.tau > 0
    assert not any("search limit" in str(w.message) for w in caught)
    x, n = np.asarray(xi, float), np.asarray(ni, float)
    model = mod._Model(x, n, nagq)
    ev = model.eval(np.array([[res.estimate]]), np.array([[res.tau]]))
    # a stationary point: the exact gradient vanishes to rounding
    assert np.max(np.abs(ev.grad)) < 1e-7
    # ... and the maximum an independent optimiser finds, started elsewhere
    p = x.sum() / n.sum()
    nm = optimize.minimize(lambda v: -glmm_loglik(v[0], v[1], x, n, nagq), [math.log(p / (1 - p)), 1.0],
                           method="Nelder-Mead", options={"xatol": 1e-9, "fatol": 1e-13, "maxiter": 5000})  # fmt: skip
    assert ev.ll[0] >= -nm.fun - 1e-9
    np.testing.assert_allclose([res.estimate, res.tau], [nm.x[0], abs(nm.x[1])], atol=ATOL_NM_PARAM)
    # the standard error does not depend on the differencing step (it did, at 2e-4, when the
    # log-likelihood itself was differenced: BIG_N's log-likelihood is ~ -2e4)
    # the step: truncation error ~(h / tau)^2 for small tau, rounding noise ~1e-12 / h against
    # Hessian entries as small as 0.03 (NEAR_LIMIT); both well below 1e-7 in the SE with this h
    h = min(1e-4, res.tau / 1000)
    g = model.eval(res.estimate + np.array([[h], [-h], [0.0], [0.0]]),
                   res.tau + np.array([[0.0], [0.0], [h], [-h]])).grad  # fmt: skip
    hb = (g[0] - g[1]) / (2 * h)
    ht = (g[2] - g[3]) / (2 * h)
    hess = np.array([[hb[0], 0.5 * (hb[1] + ht[0])], [0.5 * (hb[1] + ht[0]), ht[1]]])
    assert res.se == pytest.approx(math.sqrt(np.linalg.inv(-hess)[0, 0]), rel=1e-7)


def test_boundary_fit_is_the_common_proportion_model() -> None:
    # equal observed proportions: tau = 0 exactly, the pooled logit and its binomial SE in closed form
    res = pool_glmm([10, 20, 30, 15], [50, 100, 150, 75])
    p = 75 / 375
    assert res.tau2 == 0.0 and res.i2 == 0.0 and res.converged
    assert res.estimate == pytest.approx(math.log(p / (1 - p)), rel=1e-13)
    assert res.se == pytest.approx(1 / math.sqrt(375 * p * (1 - p)), rel=1e-13)


def test_result_does_not_depend_on_study_order() -> None:
    x, n = np.asarray(PRITZ["xi"]), np.asarray(PRITZ["ni"])
    order = np.random.default_rng(1).permutation(x.size)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (2 studies with 0 or n events: Wald-type q note)
        a, b = pool_glmm(x, n), pool_glmm(x[order], n[order])
    np.testing.assert_allclose([b.estimate, b.tau2, b.se], [a.estimate, a.tau2, a.se], rtol=1e-9)


@pytest.mark.parametrize(("xi", "ni"), [([0, 10], [10, 10]), ([0, 0, 0, 0, 1], [5, 3, 6, 1, 1])],
                         ids=["0-and-n", "sparse-one-event"])  # fmt: skip
def test_search_limit_warns(xi: list[int], ni: list[int]) -> None:
    # one study with no events and one with all (or nearly so): the likelihood keeps rising with
    # tau (lme4 stops at tau ~ 31 for the second). tau is not a maximum at the limit, so the SE is
    # the one given tau = 8 (the full inverse information was not positive: the fit used to crash)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = pool_glmm(xi, ni)
    assert any("search limit tau = 8" in str(w.message) and "conditional" in str(w.message) for w in caught)
    assert res.tau == 8.0 and res.converged
    assert any("search limit" in s for s in res.notes)
    mod = _glmm_mod()
    hess = mod._hessian(mod._Model(np.asarray(xi, float), np.asarray(ni, float), 7), res.estimate, 8.0).hessian
    assert res.se == pytest.approx(1 / math.sqrt(-hess[0, 0]), rel=1e-12)
    if xi == [0, 10]:
        assert res.estimate == pytest.approx(0.0, abs=1e-8)  # the data are symmetric about p = 1/2


def test_non_convergence_warns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_glmm_mod(), "_MAXITER", 1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = pool_glmm(PRITZ["xi"], PRITZ["ni"])
    assert any("did not meet its tolerance" in str(w.message) for w in caught)
    assert not res.converged and math.isfinite(res.estimate)
