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
        (dict(xi=[1.5], ni=[10]), "xi must be whole numbers"),
        (dict(xi=[-1], ni=[10]), "xi must be >= 0"),
        (dict(xi=[1], ni=[0]), "ni must be > 0"),
        (dict(xi=[], ni=[]), "k=0"),
        (dict(xi=[1, 2], ni=[10, 10], nagq=0), "nagq=0 must be a whole number from 1 to 25"),
        (dict(xi=[1, 2], ni=[10, 10], ci_method="knha"), "ci_method='knha' is not one of the allowed values: 'z', 't'"),
        (dict(xi=[1, 2], ni=[10, 10], level=120), r"level=120 must be in \(0, 100\)"),
    ],
    ids=["lengths", "x-gt-n", "fractional", "negative", "n0", "k0", "nagq", "ci-method", "level"],
)
def test_glmm_bad_input(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        pool_glmm(**kwargs)
