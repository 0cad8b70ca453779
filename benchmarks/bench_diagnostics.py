"""GOSH over every subset and leave-one-out + influence, against R metafor.

    python benchmarks/bench_diagnostics.py [--gosh-k 20] [--r-gosh-k 14] [--loo-k 100] [--repeat 5]

* GOSH: metaoutcome ``gosh(pool(y, v), subsets=2**k)`` (REML, all ``2^k - 1`` subsets) at
  k = 20 (1,048,575 subsets) and at k = 14 (16,383), and metafor ``gosh(rma(y, v))`` at k = 14
  timed inside R. metafor at k = 20 would take minutes, so its time there is projected from
  k = 14 by the number of subsets (its fits are independent); the projection is labelled.
  The k = 14 results are compared subset by subset (both list subsets in the same order).
* GOSH with DL, both sides' vectorised fast path, at k = 20 (metafor's takes about a minute;
  ``--no-r-dl`` skips it).
* Leave-one-out + influence at k = 100 (REML): metaoutcome ``leave_one_out`` and ``influence``
  against metafor ``leave1out`` and ``influence`` (timed in R), numbers compared.

metafor is skipped with a message when Rscript is missing.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _bench import machine, median_time, print_agreement, print_times, run_r, target, wall  # noqa: E402

from metaoutcome import influence, leave_one_out, pool  # noqa: E402
from metaoutcome.gosh import gosh  # noqa: E402

SEED = 20261121


def data(k: int, seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed + k)
    v = 10 ** rng.uniform(-2, -0.5, k)
    y = rng.normal(-0.3, np.sqrt(v + 0.04))
    return y, v


R_GOSH = r"""
suppressPackageStartupMessages(library(metafor))
d <- jsonlite::fromJSON(commandArgs(trailingOnly = TRUE)[1])
res <- rma(d$y, d$v, method = "REML")
t <- system.time(g <- gosh(res, progbar = FALSE))[["elapsed"]]
pick <- c(1, 100, nrow(g$res) %/% 2, nrow(g$res))
cat(jsonlite::toJSON(list(time = t, n = nrow(g$res), rows = pick - 1, estimate = g$res$estimate[pick],
    tau2 = g$res$tau2[pick], I2 = g$res$I2[pick]), auto_unbox = TRUE, digits = NA))
"""

R_GOSH_DL = r"""
suppressPackageStartupMessages(library(metafor))
d <- jsonlite::fromJSON(commandArgs(trailingOnly = TRUE)[1])
# subsets = 2^k: every subset (metafor's default of 1e6 would draw 1e6 at random for k = 20)
t <- system.time(g <- gosh(rma(d$y, d$v, method = "DL"), subsets = 2^length(d$y), progbar = FALSE))[["elapsed"]]
cat(jsonlite::toJSON(list(time = t, n = nrow(g$res), estimate = g$res$estimate[nrow(g$res)]), auto_unbox = TRUE, digits = NA))
"""

R_LOO = r"""
suppressPackageStartupMessages(library(metafor))
d <- jsonlite::fromJSON(commandArgs(trailingOnly = TRUE)[1])
res <- rma(d$y, d$v, method = "REML")
t <- system.time({l1 <- leave1out(res); inf <- influence(res)})[["elapsed"]]
cat(jsonlite::toJSON(list(time = t, estimate = l1$estimate[c(1, 50)], tau2 = l1$tau2[c(1, 50)],
    cook = inf$inf$cook.d[c(1, 50)], rstudent = inf$inf$rstudent[c(1, 50)]), auto_unbox = TRUE, digits = NA))
"""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gosh-k", type=int, default=20)
    ap.add_argument("--r-gosh-k", type=int, default=14)
    ap.add_argument("--loo-k", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--no-r-dl", dest="r_dl", action="store_false", help="skip metafor's DL GOSH at k = 20 (~1 min)")
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    print(f"machine: {machine()}")
    ok = True
    met = []

    # ---- GOSH
    kg, kr = args.gosh_k, args.r_gosh_k
    yg, vg = data(kg)
    yr, vr = data(kr)
    res_g, res_r = pool(yg, vg), pool(yr, vr)
    print(f"\nGOSH, REML: k = {kg} ({2**kg - 1:,} subsets) ...", flush=True)
    t_g, _ = wall(lambda: gosh(res_g, subsets=2**kg, progress=True))
    t_r, g_r = wall(lambda: gosh(res_r, subsets=2**kr))
    rows: dict[str, tuple[float, str]] = {
        "metaoutcome": (t_g, f"gosh(REML), k = {kg}: {2**kg - 1:,} subsets"),
        f"mo k={kr}": (t_r, f"gosh(REML), k = {kr}: {2**kr - 1:,} subsets"),
    }
    agree: dict[str, tuple[float, float]] = {}
    r = run_r(R_GOSH, {"y": yr.tolist(), "v": vr.tolist()})
    if r is not None:
        scale = (2**kg - 1) / (2**kr - 1)
        rows[f"metafor k={kr}"] = (r["time"], f"gosh(rma(method='REML')), k = {kr}, timed in R")
        rows[f"metafor k={kg}*"] = (r["time"] * scale, f"* projected from k = {kr} x {scale:.0f} subsets")
        tab = g_r.table()
        for j, row in enumerate(r["rows"]):
            agree[f"GOSH k={kr} subset {row} estimate"] = (r["estimate"][j], float(tab["estimate"][row]))
            agree[f"GOSH k={kr} subset {row} tau2"] = (r["tau2"][j], float(tab["tau2"][row]))
            agree[f"GOSH k={kr} subset {row} I2"] = (r["I2"][j], float(tab["i2"][row]))
    print_times("GOSH (REML)", rows)
    met.append(target(f"GOSH k = {kg} (all subsets)", t_g, 10.0))

    # DL: metafor's vectorised fast path against ours, both at k = kg
    res_dl = pool(yg, vg, method="DL")
    t_dl, g_dl = wall(lambda: gosh(res_dl, subsets=2**kg))
    rows = {"metaoutcome": (t_dl, f"gosh(DL), k = {kg}: {2**kg - 1:,} subsets (matrix products)")}
    if args.r_dl:
        r = run_r(R_GOSH_DL, {"y": yg.tolist(), "v": vg.tolist()})
        if r is not None:
            rows["metafor"] = (r["time"], f"gosh(rma(method='DL')), k = {kg}, timed in R")
            agree[f"GOSH DL k={kg} all-studies estimate"] = (r["estimate"], float(g_dl.estimate[-1]))
    print_times("GOSH (DL)", rows)

    # ---- leave-one-out + influence
    kl = args.loo_k
    yl, vl = data(kl)
    res_l = pool(yl, vl)

    def both() -> Any:
        return leave_one_out(res_l), influence(res_l)

    t_l = median_time(both, args.repeat)
    loo, inf = both()
    rows = {"metaoutcome": (t_l, f"leave_one_out + influence, k = {kl} (REML)")}
    r = run_r(R_LOO, {"y": yl.tolist(), "v": vl.tolist()})
    if r is not None:
        rows["metafor"] = (r["time"], "leave1out + influence, timed in R")
        for j, i in enumerate((0, 49)):
            agree[f"leave1out [{i}] estimate"] = (r["estimate"][j], float(loo.estimate[i]))
            agree[f"leave1out [{i}] tau2"] = (r["tau2"][j], float(loo.tau2[i]))
            agree[f"influence [{i}] cook.d"] = (r["cook"][j], float(inf.cook_d[i]))
            agree[f"influence [{i}] rstudent"] = (r["rstudent"][j], float(inf.rstudent[i]))
    print_times(f"leave-one-out + influence, k = {kl}", rows)
    met.append(target(f"leave-one-out + influence, k = {kl}", t_l, 0.1))

    # metafor stops its tau^2 iterations at a change < 1e-5 (we solve to machine precision)
    ok &= print_agreement(agree, rtol=1e-4)
    return 0 if ok and all(met) else 1


if __name__ == "__main__":
    raise SystemExit(main())
