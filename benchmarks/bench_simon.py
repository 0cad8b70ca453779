"""Time ``simon()`` over Simon's (1989) grid (Tables 1-2: 51 (p0, p1, alpha, power) cells, optimal and
minimax designs) against its peers in the same run.

    python benchmarks/bench_simon.py [--repeat 3] [--r]

Contenders, each over the whole grid, every cell at the nmax recorded in
``tests/reference/simon_fixtures.json`` (40 to 130):

* metaoutcome ``simon`` (the search that skips what cannot change the result, see its Notes);
* the exhaustive numpy search ``simon`` used before (every (n, n1), copied below): for scale, and its
  designs and numbers must be identical;
* with ``--r``: the base-R exhaustive search of ``tests/reference/make_simon_fixtures.R``
  (``search_designs``, which also repeats each search at +-1e-12 for its tolerance check), one run.

Also times ``simon`` over the grid with nmax unset (searched from 100, extended where needed). Prints medians, ratios and the
target (the whole grid <= 15 s for the test that compares it with the fixture); checks that the
contenders choose the same designs. Speed is not asserted in the tests.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _bench import machine, median_time, print_times, target  # noqa: E402

from metaoutcome.design import SimonStage, _Binom, check_rates, simon  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "reference" / "simon_fixtures.json"


def exhaustive(p0: float, p1: float, alpha: float, power: float, nmax: int) -> tuple[SimonStage, SimonStage]:
    """The search simon() ran before it skipped anything: every (n, n1), all r1 (same rules)."""
    a, b, al, pw = check_rates(p0, p1, alpha, power)
    B0, B1 = _Binom(nmax, a), _Binom(nmax, b)
    best_opt: SimonStage | None = None
    best_mm: SimonStage | None = None
    for n in range(2, nmax + 1):
        for n1 in range(1, n):
            R0 = B0.reject(n1, n)
            ok = R0 <= al + 1e-12
            has = ok.any(axis=1)
            if not has.any():
                continue
            r_idx = ok.argmax(axis=1)
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
    assert best_opt is not None and best_mm is not None
    return best_opt, best_mm


R_SCRIPT = """
src <- readLines("tests/reference/make_simon_fixtures.R")
eval(parse(text = src[seq_len(grep("^ab <- list", src) - 1)]))
cells <- read.csv(commandArgs(TRUE)[1])
t0 <- proc.time()[["elapsed"]]
out <- character(0)
for (i in seq_len(nrow(cells))) {
  s <- search_designs(cells$p0[i], cells$p1[i], cells$alpha[i], cells$power[i], cells$nmax[i])
  b <- pick(s[[1]])
  out <- c(out, sprintf("%d %d %d %d %d %d %d %d", b$optimal$r1, b$optimal$n1, b$optimal$r, b$optimal$n,
                        b$minimax$r1, b$minimax$n1, b$minimax$r, b$minimax$n))
}
cat(proc.time()[["elapsed"]] - t0, "\\n", paste(out, collapse = "\\n"), "\\n", sep = "")
"""


def r_search(cells: list[tuple[float, float, float, float, int]]) -> tuple[float, list[tuple[int, ...]]] | None:
    """Seconds the R script's search takes over the grid (timed inside R), and its designs."""
    if shutil.which("Rscript") is None:
        print("R: Rscript not on PATH, skipped")
        return None
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "cells.csv"
        csv.write_text("p0,p1,alpha,power,nmax\n" + "".join(f"{c[0]!r},{c[1]!r},{c[2]!r},{c[3]!r},{c[4]}\n"
                                                              for c in cells))
        script = Path(tmp) / "b.R"
        script.write_text(R_SCRIPT)
        proc = subprocess.run(["Rscript", str(script), str(csv)], capture_output=True, text=True, cwd=ROOT,
                              check=False)
    if proc.returncode != 0:
        print("R failed, skipped:\n" + proc.stderr[-2000:])
        return None
    lines = proc.stdout.split()
    secs = float(lines[0])
    vals = [int(v) for v in lines[1:]]
    return secs, [tuple(vals[i: i + 8]) for i in range(0, len(vals), 8)]


def key(opt: SimonStage, mm: SimonStage) -> tuple[int, ...]:
    return (opt.r1, opt.n1, opt.r, opt.n, mm.r1, mm.n1, mm.r, mm.n)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--r", action="store_true", help="also time the base-R search of the fixture script")
    args = ap.parse_args()
    print(machine())
    fx = json.loads(FIXTURE.read_text())
    cells = sorted({(c["p0"], c["p1"], c["alpha"], c["power"], c["nmax"]) for c in fx["cells"]})
    assert len(cells) == 51

    def ours() -> list[tuple[int, ...]]:
        return [key(d.optimal, d.minimax) for d in (simon(p0, p1, alpha=a, power=pw, nmax=nm)
                                                    for p0, p1, a, pw, nm in cells)]

    def ours_100() -> None:
        for p0, p1, a, pw, _ in cells:
            simon(p0, p1, alpha=a, power=pw)

    t_ours = median_time(ours, args.repeat)
    t_100 = median_time(ours_100, args.repeat)
    t0 = time.perf_counter()
    ex = [exhaustive(*c) for c in cells]
    t_ex = time.perf_counter() - t0
    rows = {"metaoutcome": (t_ours, f"simon() over the 51 cells (102 designs) at the fixture's nmax "
                                    f"({min(c[4] for c in cells)}-{max(c[4] for c in cells)})"),
            "metaoutcome_auto": (t_100, "simon() over the 51 cells with nmax unset (from 100, extended as needed)"),
            "exhaustive": (t_ex, "the previous simon(): every (n, n1) searched (numpy; one run)")}
    r = r_search(cells) if args.r else None
    if r is not None:
        rows["R search"] = (r[0], "make_simon_fixtures.R search_designs over the grid (base R; one run)")
    print_times("Simon (1989) Tables 1-2: optimal and minimax designs", rows)
    mine = ours()
    same_ex = all(key(*e) == m for e, m in zip(ex, mine))
    full = [simon(p0, p1, alpha=a, power=pw, nmax=nm) for p0, p1, a, pw, nm in cells]
    identical = all((d.optimal, d.minimax) == e for d, e in zip(full, ex))
    print(f"\nexhaustive search: same designs {same_ex}; identical numbers (EN0, PET0, alpha, power) {identical}")
    if r is not None:
        print(f"R search: same designs as simon() {all(x == m for x, m in zip(r[1], mine))}")
    target("simon() over Simon's grid", t_ours, 15.0)


if __name__ == "__main__":
    main()
