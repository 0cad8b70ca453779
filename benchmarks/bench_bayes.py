"""Time the Bayesian normal-normal meta-analysis (``bayesmeta``) against its peers in the same run.

    python benchmarks/bench_bayes.py [--repeat 7] [--number 10]

Contenders, each on the same fixed-seed data (k = 2, 6, 20, 50 studies; log odds ratios with
SEs 0.1-0.8; half-normal(0.5) prior on tau, flat prior on mu):

* metaoutcome ``bayesmeta`` (Gauss-Legendre in log tau, closed-form conditionals; the timing
  includes the marginals of mu, tau, the prediction and every study's shrunken effect with
  shortest 95% intervals);
* the independent reference of ``tests/test_bayes_model.py`` (scipy.integrate.quad per quantity):
  only the posterior mean and SD of mu and tau, for scale;
* metaoutcome ``pool`` (REML, frequentist) for scale;
* R bayesmeta when installed (``Rscript`` with the package): not installable on this machine
  (Debian has no r-cran-bayesmeta; CRAN is not reachable), reported and skipped.

Also times ``map_prior`` (RBesT's AS example, 8 arms) and ``simon`` (p0 = 0.2, p1 = 0.4).
Prints medians, ratios and the target (<= 20 ms per Bayesian analysis); checks that bayesmeta and
the quad reference agree on the shared numbers (1e-7). Speed is not asserted in the tests.
"""

from __future__ import annotations

import argparse
import math
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _bench import machine, median_time, print_agreement, print_times, target  # noqa: E402

from metaoutcome import pool  # noqa: E402
from metaoutcome.bayes import bayesmeta, half_normal, map_prior  # noqa: E402
from metaoutcome.design import simon  # noqa: E402

SEED = 20260101
KS = (2, 6, 20, 50)
TARGET_MS = 20.0


def data(k: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(SEED + k)
    se = rng.uniform(0.1, 0.8, k)
    return rng.normal(-0.4, 0.3, k) + rng.normal(0, se), se**2


def quad_reference(y: np.ndarray, v: np.ndarray) -> dict[str, float]:
    from scipy import integrate, stats

    def cond(t: float) -> tuple[float, float, float]:
        w = 1 / (v + t * t)
        prec = w.sum()
        m = (w * y).sum() / prec
        ll = -0.5 * np.log(v + t * t).sum() - 0.5 * math.log(prec) - 0.5 * ((w * y * y).sum() - m * m * prec)
        return math.exp(ll), m, 1 / prec

    def E(fn):  # type: ignore[no-untyped-def]
        f = lambda t: stats.halfnorm.pdf(t, scale=0.5) * cond(t)[0] * fn(t)  # noqa: E731
        return integrate.quad(f, 0, 2, epsabs=0, epsrel=1e-12, limit=500)[0] + \
            integrate.quad(f, 2, np.inf, epsabs=0, epsrel=1e-12, limit=500)[0]

    z = E(lambda t: 1.0)
    mu = E(lambda t: cond(t)[1]) / z
    mu2 = E(lambda t: cond(t)[1] ** 2 + cond(t)[2]) / z
    tau = E(lambda t: t) / z
    tau2 = E(lambda t: t * t) / z
    return {"mu_mean": mu, "mu_sd": math.sqrt(mu2 - mu * mu), "tau_mean": tau, "tau_sd": math.sqrt(tau2 - tau * tau)}


def r_bayesmeta_available() -> bool:
    if shutil.which("Rscript") is None:
        return False
    proc = subprocess.run(["Rscript", "-e", "cat(requireNamespace('bayesmeta', quietly=TRUE))"],
                          capture_output=True, text=True, check=False)
    return proc.stdout.strip().endswith("TRUE")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--number", type=int, default=10)
    a = ap.parse_args()
    print(machine())
    if not r_bayesmeta_available():
        print("R bayesmeta: not installed (apt-cache policy r-cran-bayesmeta: no candidate) -- skipped")
    ok = True
    met = True
    for k in KS:
        y, v = data(k)
        prior = half_normal(0.5)
        res = bayesmeta(yi=y, vi=v, tau_prior=prior)
        t_ours = median_time(lambda: bayesmeta(yi=y, vi=v, tau_prior=prior), a.repeat, a.number)
        t_quad = median_time(lambda: quad_reference(y, v), max(1, a.repeat // 3), 1)
        t_reml = median_time(lambda: pool(y, v, method="REML"), a.repeat, a.number)
        print_times(f"k = {k}: one Bayesian analysis", {
            "metaoutcome": (t_ours, "bayesmeta(): mu, tau, prediction, k shrunken effects, shortest 95% CrI"),
            "scipy quad": (t_quad, "reference: means and SDs of mu and tau only (tests/test_bayes_model.py)"),
            "REML pool": (t_reml, "metaoutcome.pool(method='REML'), frequentist, for scale"),
        })
        ref = quad_reference(y, v)
        ok &= print_agreement({
            "mu posterior mean": (ref["mu_mean"], float(res.mu["mean"])),
            "mu posterior SD": (ref["mu_sd"], float(res.mu["sd"])),
            "tau posterior mean": (ref["tau_mean"], float(res.tau["mean"])),
            "tau posterior SD": (ref["tau_sd"], float(res.tau["sd"])),
        }, rtol=1e-7)
        met &= target(f"k = {k}", t_ours * 1e3, TARGET_MS, "ms")
    r = np.array([23, 12, 19, 9, 39, 6, 9, 10])
    n = np.array([107, 44, 51, 39, 139, 20, 78, 35])
    t_map = median_time(lambda: map_prior(events=r, n=n), 3, 1)
    t_simon = median_time(lambda: simon(0.2, 0.4), 3, 1)
    print_times("other Bayesian/design steps (no peer installed here: RBesT, clinfun)", {
        "metaoutcome": (t_map, "map_prior(): RBesT AS example, 8 arms, with 2-component mixture fit"),
        "simon": (t_simon, "simon(0.2, 0.4): optimal and minimax, n <= 100"),
    })
    print("\nall shared numbers agree" if ok else "\nSOME NUMBERS DIFFER")
    print("all targets met" if met else "SOME TARGETS NOT MET")
    return 0


if __name__ == "__main__":
    sys.exit(main())
