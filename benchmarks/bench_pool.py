"""Time one REML + Hartung-Knapp fit at k = 20 against statsmodels, PyMARE and R metafor.

    python benchmarks/bench_pool.py [--repeat 7] [--number 200]

Prints the median time per fit of each contender, its ratio to metaoutcome, and checks that the
contenders agree on the numbers they share (each computes a different subset):

* metaoutcome ``pool(yi, vi, method="REML", ci_method="knha")`` (Q-profile CI, PI and all
  heterogeneity statistics included in the timing);
* statsmodels ``combine_effects`` has no REML: it is timed with ``method_re="iterated"``
  (Paule-Mandel) and compared with ``pool(..., method="PM")``;
* PyMARE ``VarianceBasedLikelihoodEstimator(method="REML")`` (tau^2, estimate, and a standard
  error that is the weighted-least-squares, i.e. Hartung-Knapp, one);
* metafor ``rma(yi, vi, method="REML", test="knha")`` timed inside R (so R's start-up is not
  counted), when ``Rscript`` is on the PATH.

Speed is not asserted anywhere in the test suite; PyMARE is not a dependency of metaoutcome
(``pip install pymare`` to include it). Missing contenders are skipped with a message.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _bench import median_time, run_r  # noqa: E402

from metaoutcome.pooling import pool  # noqa: E402

K = 20
SEED = 20240401
AGREE_RTOL = 1e-5  # contenders use their own solvers and stopping rules


def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(SEED)
    vi = 10 ** rng.uniform(-2, 0, K)
    yi = rng.normal(0.2, np.sqrt(vi + 0.1))
    return yi, vi


def bench_statsmodels(yi: np.ndarray, vi: np.ndarray, repeat: int, number: int) -> dict[str, Any] | None:
    try:
        from statsmodels.stats.meta_analysis import combine_effects
    except ImportError:
        print("statsmodels: not installed, skipped")
        return None

    def fit() -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return combine_effects(yi, vi, method_re="iterated")

    res = fit()
    sf = res.summary_frame()
    return {
        "time": median_time(fit, repeat, number),
        "what": 'combine_effects(method_re="iterated")  [Paule-Mandel; no REML]',
        "numbers": {"PM tau2": float(res.tau2), "PM estimate": float(sf.loc["random effect", "eff"]),
                    "PM se": float(sf.loc["random effect", "sd_eff"])},  # fmt: skip
    }


def bench_pymare(yi: np.ndarray, vi: np.ndarray, repeat: int, number: int) -> dict[str, Any] | None:
    try:
        from pymare import Dataset
        from pymare.estimators import VarianceBasedLikelihoodEstimator
    except ImportError:
        print("PyMARE: not installed (pip install pymare), skipped")
        return None

    def fit() -> Any:
        ds = Dataset(y=yi, v=vi)
        return VarianceBasedLikelihoodEstimator(method="REML").fit_dataset(ds).summary()

    s = fit()
    fe = s.get_fe_stats()
    return {
        "time": median_time(fit, repeat, max(1, number // 4)),
        "what": 'VarianceBasedLikelihoodEstimator(method="REML")',
        "numbers": {"REML tau2": float(np.ravel(s.tau2)[0]), "REML estimate": float(np.ravel(fe["est"])[0]),
                    # PyMARE's reported SE is the weighted-least-squares one, sqrt(s^2 / sum w), which is
                    # the Hartung-Knapp SE (it agrees with metafor's test="knha" se)
                    "REML+KNHA se": float(np.ravel(fe["se"])[0])},  # fmt: skip
    }


R_SCRIPT = r"""
suppressPackageStartupMessages(library(metafor))
args <- commandArgs(trailingOnly = TRUE)
d <- jsonlite::fromJSON(args[1]); yi <- d$yi; vi <- d$vi
number <- as.integer(args[2]); repeat_ <- as.integer(args[3])
times <- replicate(repeat_, system.time(for (i in seq_len(number)) rma(yi, vi, method = "REML", test = "knha"))[["elapsed"]] / number)
res <- rma(yi, vi, method = "REML", test = "knha", control = list(threshold = 1e-13, maxiter = 1000))
ci <- confint(res, control = list(tol = 1e-14))$random
cat(jsonlite::toJSON(list(time = median(times), tau2 = res$tau2, estimate = c(res$beta), se = res$se,
    ci_low = res$ci.lb, ci_high = res$ci.ub, tau2_ci_high = ci["tau^2", "ci.ub"]), auto_unbox = TRUE, digits = NA))
"""


def bench_metafor(yi: np.ndarray, vi: np.ndarray, repeat: int, number: int) -> dict[str, Any] | None:
    out = run_r(R_SCRIPT, {"yi": yi.tolist(), "vi": vi.tolist()}, str(number), str(repeat))
    if out is None:
        return None
    return {
        "time": out["time"],
        "what": 'rma(method="REML", test="knha")  [timed in R; no confint/predict]',
        "numbers": {"REML tau2": out["tau2"], "REML estimate": out["estimate"], "REML+KNHA se": out["se"],
                    "REML+KNHA ci_low": out["ci_low"], "REML+KNHA ci_high": out["ci_high"],
                    "REML tau2_ci_high": out["tau2_ci_high"]},  # fmt: skip
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--number", type=int, default=200)
    args = ap.parse_args(argv)
    yi, vi = data()

    def ours_fit() -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return pool(yi, vi, method="REML", ci_method="knha")

    r = ours_fit()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pm = pool(yi, vi, method="PM")
    ours: dict[str, Any] = {
        "time": median_time(ours_fit, args.repeat, args.number),
        "what": 'pool(method="REML", ci_method="knha")  [incl. Q-profile CI, PI]',
        "numbers": {
            "REML tau2": r.tau2, "REML estimate": r.estimate, "REML+KNHA se": r.se, "REML+KNHA ci_low": r.ci_low,
            "REML+KNHA ci_high": r.ci_high, "REML tau2_ci_high": r.tau2_ci_high,
            "PM tau2": pm.tau2, "PM estimate": pm.estimate, "PM se": pm.se,
        },
    }  # fmt: skip
    contenders = {"metaoutcome": ours}
    for name, fn in (("statsmodels", bench_statsmodels), ("PyMARE", bench_pymare), ("metafor", bench_metafor)):
        res = fn(yi, vi, args.repeat, args.number)
        if res is not None:
            contenders[name] = res

    print(f"\nREML + Hartung-Knapp at k = {K} (seed {SEED}); median of {args.repeat} repeats\n")
    print(f"{'contender':<12} {'median/fit':>12} {'ratio':>8}  what")
    for name, c in contenders.items():
        print(f"{name:<12} {c['time'] * 1e3:>9.3f} ms {c['time'] / ours['time']:>8.2f}  {c['what']}")

    print("\nagreement on shared numbers (relative difference to metaoutcome):")
    ok = True
    for name, c in contenders.items():
        if name == "metaoutcome":
            continue
        for key, val in c["numbers"].items():
            mine = ours["numbers"][key]
            rel = abs(val - mine) / max(abs(mine), 1e-12)
            flag = "ok" if rel <= AGREE_RTOL else "DIFFERS"
            ok &= rel <= AGREE_RTOL
            print(f"  {name:<12} {key:<20} {val: .10g}  vs {mine: .10g}  rel {rel:.1e}  {flag}")
    print("\nall shared numbers agree" if ok else "\nSOME NUMBERS DIFFER (see above)")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
