"""Time a network meta-analysis of 20 treatments and 100 trials (with multi-arm trials) against R metafor's ``rma.mv``.

    python benchmarks/bench_network.py [--repeat 7] [--number 5] [--r-repeat 5] [--r-number 2]

Fixed-seed arm-level binary data (log odds ratios): trials 1-19 form a chain over the 20
treatments (so the network is connected), the other 81 compare random treatments; 15 of the 100
trials have three arms. Contenders:

* metaoutcome ``network_meta(net, method="REML")`` + ``league()`` (all 190 pairwise comparisons
  with evidence type) + ``pscores()``: the target is <= 50 ms for the three together; also timed:
  building the contrasts from the arm table (``network_from_arms``) and the REML fit alone;
* metafor ``rma.mv(yi, V, mods = X, intercept = FALSE, random = ~ comp | study, struct = "CS",
  rho = 0.5, method = "REML")``, the fit alone, timed inside R (R start-up not counted), when
  ``Rscript`` is on the PATH (skipped with a message if not).

Checks that tau^2 and the basic parameters agree within 1e-4 relative (metafor's nlminb stops on
a relative change of the log-likelihood of 1e-10, which leaves tau^2 ~1e-5 off; the tests compare
against the optimised REML maximum at 1e-6). Speed is not asserted anywhere in the test suite.
"""

from __future__ import annotations

import argparse
import os
import sys

# The matrices are small (115 x 115): a multi-threaded BLAS only adds thread start-up and, on a
# shared machine, contention (10-50x slower here under load). Pin one thread, as R's reference
# BLAS is single-threaded; set the variables yourself to override.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _bench import machine, median_time, print_agreement, print_times, run_r, target  # noqa: E402

from metaoutcome.network import network_from_arms, network_meta, pscores  # noqa: E402
from metaoutcome.network.model import design_matrix  # noqa: E402

SEED = 20240401
N_TREAT, N_TRIALS, N_THREE_ARM = 20, 100, 15
TARGET_MS = 50.0
AGREE_RTOL = 1e-4


def data() -> pd.DataFrame:
    rng = np.random.default_rng(SEED)
    effect = rng.normal(0.0, 0.4, N_TREAT)
    rows = []
    three = set(rng.choice(np.arange(19, N_TRIALS), N_THREE_ARM, replace=False).tolist())
    for s in range(N_TRIALS):
        if s < N_TREAT - 1:
            arms = [s, s + 1]
        else:
            arms = rng.choice(N_TREAT, 3 if s in three else 2, replace=False).tolist()
        base = rng.normal(-1.0, 0.5)
        re = rng.normal(0.0, 0.15)
        for a in arms:
            n = int(rng.integers(50, 400))
            p = 1 / (1 + np.exp(-(base + effect[a] + (re if a != arms[0] else 0.0))))
            rows.append(dict(study=f"trial{s:03d}", treatment=f"T{a:02d}", events=int(rng.binomial(n, p)), n=n))
    return pd.DataFrame(rows)


R_SCRIPT = r"""
suppressPackageStartupMessages(library(metafor))
args <- commandArgs(trailingOnly = TRUE)
d <- jsonlite::fromJSON(args[1], simplifyVector = TRUE)
number <- as.integer(args[2]); repeat_ <- as.integer(args[3])
yi <- d$yi; V <- as.matrix(d$V); X <- as.matrix(d$X)
dat <- data.frame(yi = yi, study = d$study, comp = d$comp)
ctl <- list(optimizer = "nlminb", rel.tol = 1e-10, iter.max = 1000, eval.max = 1000)
fit <- function() rma.mv(yi, V, mods = X, intercept = FALSE, random = ~ comp | study, struct = "CS",
                         rho = 0.5, method = "REML", data = dat, control = ctl)
res <- fit()
times <- replicate(repeat_, system.time(for (i in seq_len(number)) fit())[["elapsed"]] / number)
cat(jsonlite::toJSON(list(time = median(times), tau2 = res$tau2, beta = c(res$beta),
    versions = list(r = R.version.string, metafor = as.character(packageVersion("metafor")))),
    auto_unbox = TRUE, digits = NA))
"""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7, help="timing repeats (median taken)")
    ap.add_argument("--number", type=int, default=5, help="runs per repeat")
    ap.add_argument("--r-repeat", type=int, default=5)
    ap.add_argument("--r-number", type=int, default=2)
    args = ap.parse_args(argv)
    print(machine())
    print("BLAS threads: " + ", ".join(f"{v}={os.environ.get(v)}" for v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")))
    arms = data()
    net = network_from_arms(arms, measure="OR")
    sizes = arms.groupby("study").size()
    print(f"network: {len(net.treatments)} treatments, {net.n_studies} trials ({int((sizes == 3).sum())} three-arm), "
          f"{len(net.y)} contrasts")

    def whole() -> Any:
        res = network_meta(net, method="REML")
        return res, res.league(), pscores(res)

    res, league, ps = whole()
    t_whole = median_time(whole, args.repeat, args.number)
    t_fit = median_time(lambda: network_meta(net, method="REML"), args.repeat, args.number)
    t_build = median_time(lambda: network_from_arms(arms, measure="OR"), args.repeat, args.number)
    print(f"REML: tau^2 = {res.tau2:.6g} after {res.iterations} Fisher-scoring iterations; league {len(league)} rows")

    X = design_matrix(net)
    comp = [f"{net.treatments[t]} vs {net.treatments[b]}" for t, b in zip(net.treat, net.base)]
    payload = {"yi": net.y.tolist(), "V": net.V.tolist(), "X": X.tolist(),
               "study": [net.studies[s] for s in net.study], "comp": comp}
    print(f"running metafor rma.mv ({args.r_repeat} x {args.r_number} fits) ...", flush=True)
    theirs = run_r(R_SCRIPT, payload, str(args.r_number), str(args.r_repeat))
    rows = {
        "metaoutcome": (t_whole, "network_meta(REML) + league() + pscores()"),
        "  fit only": (t_fit, "network_meta(REML)"),
        "  contrasts": (t_build, "network_from_arms (not in the target)"),
    }
    if theirs is not None:
        v = theirs["versions"]
        print(f"{v['r']}, metafor {v['metafor']}")
        rows["metafor"] = (theirs["time"], 'rma.mv(..., struct="CS", rho=0.5, method="REML") fit only  [timed in R]')
    print_times(f"network meta-analysis, {N_TREAT} treatments, {N_TRIALS} trials (seed {SEED}); "
                f"median of {args.repeat} repeats", rows)
    met = target("REML + league + P-scores", t_whole * 1e3, TARGET_MS, "ms")
    ok = True
    if theirs is not None:
        pairs = {"tau2 (metafor vs ours)": (theirs["tau2"], res.tau2)}
        for i in (0, 9, 18):
            pairs[f"{net.treatments[i + 1]} vs {net.treatments[0]}"] = (theirs["beta"][i], float(res.d[i + 1]))
        ok = print_agreement(pairs, AGREE_RTOL)
    return 0 if ok and met else 1


if __name__ == "__main__":
    raise SystemExit(main())
