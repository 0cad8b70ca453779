"""100,000 meta-analyses of k = 20 at once, against looping statsmodels and R metafor.

    python benchmarks/bench_batch.py [--groups 100000] [--sm 5000] [--r 1000] [--repeat 3]

What is timed, on the same fixed-seed data (tau^2 of each meta-analysis drawn from 0, 0.05, 0.2):

* metaoutcome ``pool_batch(Y, V, method="REML", ci_method="knha")``: REML tau^2, Hartung-Knapp
  CI, prediction interval and Q-profile CI of tau^2 for every meta-analysis (all threads). Its
  peak resident memory is measured in a child process that does nothing else.
* statsmodels ``combine_effects(method_re="iterated")`` (Paule-Mandel; it has no REML) in a
  Python loop over the first ``--sm`` meta-analyses, projected to all of them; compared with
  ``pool_batch(method="PM")``.
* R metafor ``rma(yi, vi, method="REML", test="knha")`` in an R loop over the first ``--r``
  meta-analyses, timed inside R (start-up not counted) and without ``confint``/``predict``
  (which would only slow it down), projected to all of them; skipped with a message when
  Rscript is missing.

Projection is linear in the number of meta-analyses (each loop iteration is independent). The
contenders are also checked to agree on the numbers they share.

The same comparison with statsmodels is repeated on data whose sampling variances spread over
less than a decade (``v`` from 10^-1.5 to 10^-0.7; ``--narrow``), where statsmodels' iteration
converges fastest (about 0.13 ms per fit) and the speed-up is smallest.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _bench import machine, median_time, print_agreement, print_times, run_r, target, wall  # noqa: E402

from metaoutcome.batch import pool_batch  # noqa: E402

K = 20
SEED = 20261120


def data(groups: int, narrow: bool = False) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(SEED)
    v = 10 ** (rng.uniform(-1.5, -0.7, (groups, K)) if narrow else rng.uniform(-2, 0, (groups, K)))
    tau2 = rng.choice([0.0, 0.05, 0.2], size=(groups, 1))
    y = rng.normal(0.2, np.sqrt(v + tau2))
    return y, v


CHILD = """
import resource, sys, time, warnings
sys.path.insert(0, {bench!r})
from bench_batch import data
from metaoutcome.batch import pool_batch
y, v = data({groups})
warnings.simplefilter("ignore")
t0 = time.perf_counter()
pool_batch(y, v, method="REML", ci_method="knha", progress=False)
print(time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def peak_memory(groups: int) -> tuple[float, float]:
    """(seconds, peak RSS in MB) of one pool_batch run in a fresh child process."""
    code = CHILD.format(bench=str(Path(__file__).resolve().parent), groups=groups)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    t, mb = out.stdout.split()
    return float(t), float(mb)


R_SCRIPT = r"""
suppressPackageStartupMessages(library(metafor))
args <- commandArgs(trailingOnly = TRUE)
d <- jsonlite::fromJSON(args[1]); y <- d$y; v <- d$v; n <- nrow(y)
elapsed <- system.time(for (i in seq_len(n)) try(rma(y[i, ], v[i, ], method = "REML", test = "knha"), silent = TRUE))[["elapsed"]]
failed <- 0; tau2 <- est <- se <- rep(NA_real_, n)
for (i in seq_len(min(n, 200))) {
  r <- try(rma(y[i, ], v[i, ], method = "REML", test = "knha", control = list(threshold = 1e-13, maxiter = 1000)), silent = TRUE)
  if (inherits(r, "try-error")) { failed <- failed + 1; next }
  tau2[i] <- r$tau2; est[i] <- c(r$beta); se[i] <- r$se
}
nc <- sum(sapply(seq_len(n), function(i) inherits(try(rma(y[i, ], v[i, ], method = "REML"), silent = TRUE), "try-error")))
cat(jsonlite::toJSON(list(elapsed = elapsed, n = n, tau2 = tau2, est = est, se = se, default_failures = nc),
    auto_unbox = TRUE, digits = NA, na = "null"))
"""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--groups", type=int, default=100_000)
    ap.add_argument("--sm", type=int, default=5_000, help="meta-analyses looped through statsmodels")
    ap.add_argument("--r", type=int, default=1_000, help="meta-analyses looped through metafor")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    g = args.groups
    y, v = data(g)
    print(f"machine: {machine()}")
    print(f"data: {g:,} meta-analyses of k = {K} (seed {SEED})")

    def ours() -> Any:
        return pool_batch(y, v, method="REML", ci_method="knha", progress=False)

    t_ours = median_time(ours, args.repeat)
    res = ours().table()
    t_pm = median_time(lambda: pool_batch(y, v, method="PM", progress=False), args.repeat)
    pm = pool_batch(y, v, method="PM", progress=False).table()
    t_child, mb = peak_memory(g)
    rows: dict[str, tuple[float, str]] = {
        "metaoutcome": (t_ours, f"pool_batch REML+HKSJ+PI+Q-profile CI, {g:,} analyses (all threads)"),
        "mo PM": (t_pm, f"pool_batch Paule-Mandel, {g:,} analyses"),
    }
    agree: dict[str, tuple[float, float]] = {}
    ok = True

    from statsmodels.stats.meta_analysis import combine_effects

    n_sm = min(args.sm, g)

    def sm_loop() -> list[Any]:
        return [combine_effects(y[i], v[i], method_re="iterated") for i in range(n_sm)]

    t_sm, sm = wall(sm_loop)
    rows["statsmodels"] = (t_sm * g / n_sm, f"combine_effects(method_re='iterated') loop: {fmt_n(n_sm)} timed, x {g / n_sm:g}")
    for i in (0, n_sm // 2, n_sm - 1):
        sf = sm[i].summary_frame()
        agree[f"statsmodels PM tau2 [{i}]"] = (float(sm[i].tau2), float(pm["tau2"][i]))
        agree[f"statsmodels PM estimate [{i}]"] = (float(sf.loc["random effect", "eff"]), float(pm["estimate"][i]))

    n_r = min(args.r, g)
    r = run_r(R_SCRIPT, {"y": y[:n_r].tolist(), "v": v[:n_r].tolist()})
    if r is not None:
        rows["metafor"] = (r["elapsed"] * g / n_r, f"rma(method='REML', test='knha') loop in R: {fmt_n(n_r)} timed, x {g / n_r:g}")
        for i in (0, 1, 100, 199):
            if r["tau2"][i] is not None:
                agree[f"metafor REML tau2 [{i}]"] = (r["tau2"][i], float(res["tau2"][i]))
                agree[f"metafor REML+KNHA se [{i}]"] = (r["se"][i], float(res["se"][i]))
        print(f"metafor with its default control failed to converge in {r['default_failures']} of {n_r} meta-analyses; "
              f"metaoutcome converged in {int(res['converged'].sum()):,} of {g:,}")  # fmt: skip

    print_times(f"{g:,} meta-analyses of k = {K}; times are for all of them (loops projected linearly)", rows)
    ok &= print_agreement(agree, rtol=1e-5)
    # variances within less than a decade: statsmodels' best case
    yn, vn = data(g, narrow=True)
    t_narrow = median_time(lambda: pool_batch(yn, vn, method="REML", ci_method="knha", progress=False), args.repeat)
    t_narrow_pm = median_time(lambda: pool_batch(yn, vn, method="PM", progress=False), args.repeat)
    t_sm_n, _ = wall(lambda: [combine_effects(yn[i], vn[i], method_re="iterated") for i in range(n_sm)])
    narrow_rows = {
        "metaoutcome": (t_narrow, f"pool_batch REML+HKSJ+PI+Q-profile CI, {g:,} analyses"),
        "mo PM": (t_narrow_pm, f"pool_batch Paule-Mandel, {g:,} analyses"),
        "statsmodels": (t_sm_n * g / n_sm, f"combine_effects(method_re='iterated') loop: {fmt_n(n_sm)} timed, x {g / n_sm:g}"),
    }
    print_times(f"variances within less than a decade (10^-1.5 to 10^-0.7), {g:,} x k = {K}", narrow_rows)
    print(f"\npeak resident memory of a process running only pool_batch ({t_child:.2f} s there): {mb:.0f} MB")
    print("\ntargets:")
    met = [target(f"{g:,} x k={K} REML+HKSJ+PI+QP", t_ours, 0.3)]
    met.append(target("speed-up vs statsmodels loop", rows["statsmodels"][0] / t_ours, 50, "x", at_least=True))
    met.append(target("narrow variances: REML+HKSJ+PI+QP", t_narrow, 0.3))
    met.append(target("narrow variances: speed-up vs statsmodels loop", narrow_rows["statsmodels"][0] / t_narrow, 50,
                      "x", at_least=True))  # fmt: skip
    if "metafor" in rows:
        met.append(target("speed-up vs metafor loop", rows["metafor"][0] / t_ours, 1000, "x", at_least=True))
    met.append(target("peak RSS", mb, 1024, "MB"))
    print(json.dumps({"seconds": t_ours, "seconds_narrow": t_narrow, "peak_rss_mb": mb}))
    return 0 if ok and all(met) else 1


def fmt_n(n: int) -> str:
    return f"{n:,}"


if __name__ == "__main__":
    raise SystemExit(main())
