"""Time the binomial-normal GLMM (``pool_glmm``) at k = 14 and k = 30 against R metafor's ``rma.glmm``.

    python benchmarks/bench_glmm.py [--repeat 7] [--number 20] [--r-repeat 5] [--r-number 3]

For each k, fixed-seed single-arm data (study sizes 10-200, true logits N(logit 0.3, 0.6^2)) are
pooled by

* metaoutcome ``pool_glmm(xi, ni, nagq=7)`` (ML, 7-point adaptive Gauss-Hermite quadrature; the
  timing includes the Wald and likelihood-ratio heterogeneity tests, CI and PI);
* metafor ``rma.glmm(measure="PLO", xi, ni, nAGQ=7)`` (lme4::glmer inside; also fits the
  saturated and common-proportion models for its heterogeneity tests), timed inside R so that
  R's start-up is not counted, when ``Rscript`` is on the PATH (skipped with a message if not).

Prints the median time per fit, the ratio to metaoutcome, the target (k = 30 in <= 10 ms), and
checks that the estimate, tau^2 and SE agree within 1e-4 relative (the tolerance of
``tests/test_glmm.py``: lme4 stops bobyqa at its default tolerances). Speed is not asserted
anywhere in the test suite.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _bench import machine, median_time, print_agreement, print_times, run_r, target  # noqa: E402

from metaoutcome.glmm import pool_glmm  # noqa: E402

KS = (14, 30)
SEED = 20240401
AGREE_RTOL = 1e-4  # lme4's optimiser (bobyqa, default tolerances) and finite-difference Hessian
TARGET_K30_MS = 10.0


def data(k: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(SEED + k)
    ni = rng.integers(10, 201, k)
    p = 1.0 / (1.0 + np.exp(-rng.normal(np.log(0.3 / 0.7), 0.6, k)))
    return rng.binomial(ni, p), ni


R_SCRIPT = r"""
suppressPackageStartupMessages(library(metafor))
args <- commandArgs(trailingOnly = TRUE)
d <- jsonlite::fromJSON(args[1], simplifyVector = TRUE)
number <- as.integer(args[2]); repeat_ <- as.integer(args[3])
out <- list()
for (nm in names(d)) {
  xi <- d[[nm]]$xi; ni <- d[[nm]]$ni
  fit <- function() suppressWarnings(rma.glmm(measure = "PLO", xi = xi, ni = ni, nAGQ = 7))
  res <- fit()
  times <- replicate(repeat_, system.time(for (i in seq_len(number)) fit())[["elapsed"]] / number)
  out[[nm]] <- list(time = median(times), estimate = c(res$beta), tau2 = res$tau2, se = res$se)
}
out$versions <- list(r = R.version.string, metafor = as.character(packageVersion("metafor")),
                     lme4 = as.character(packageVersion("lme4")))
cat(jsonlite::toJSON(out, auto_unbox = TRUE, digits = NA))
"""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7, help="timing repeats (median taken)")
    ap.add_argument("--number", type=int, default=20, help="fits per repeat")
    ap.add_argument("--r-repeat", type=int, default=5)
    ap.add_argument("--r-number", type=int, default=3)
    args = ap.parse_args(argv)
    print(machine())

    sets = {f"k{k}": data(k) for k in KS}
    ours: dict[str, dict[str, Any]] = {}
    for name, (xi, ni) in sets.items():

        def fit(xi: np.ndarray = xi, ni: np.ndarray = ni) -> Any:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return pool_glmm(xi, ni, nagq=7)

        res = fit()
        ours[name] = {"time": median_time(fit, args.repeat, args.number), "estimate": res.estimate,
                      "tau2": res.tau2, "se": res.se, "evals": res.iterations}  # fmt: skip

    print(f"running metafor rma.glmm ({args.r_repeat} x {args.r_number} fits per data set) ...", flush=True)
    payload = {name: {"xi": xi.tolist(), "ni": ni.tolist()} for name, (xi, ni) in sets.items()}
    theirs = run_r(R_SCRIPT, payload, str(args.r_number), str(args.r_repeat))
    if theirs is not None:
        v = theirs["versions"]
        print(f"{v['r']}, metafor {v['metafor']}, lme4 {v['lme4']}")

    ok = True
    for k, name in zip(KS, sets):
        o = ours[name]
        rows = {"metaoutcome": (o["time"], f'pool_glmm(nagq=7)  [{o["evals"]} batched likelihood evaluations]')}
        if theirs is not None:
            rows["metafor"] = (theirs[name]["time"], 'rma.glmm(measure="PLO", nAGQ=7)  [timed in R]')
        print_times(f"binomial-normal GLMM, k = {k} (seed {SEED + k}); median of {args.repeat} repeats", rows)
        if k == 30:
            target("GLMM k = 30", o["time"] * 1e3, TARGET_K30_MS, "ms")
        if theirs is not None:
            t = theirs[name]
            ok &= print_agreement({f"k = {k} {f} (metafor vs ours)": (t[f], o[f]) for f in ("estimate", "tau2", "se")},
                                  AGREE_RTOL)  # fmt: skip
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
