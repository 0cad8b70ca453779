"""Time ``metaoutcome reproduce`` on the bundled analyses, and where its figure saving went.

    python benchmarks/bench_reproduce.py [--runs 3] [--repeat 3]

1. Figure saving, in this process, on the figures of all the bundled analyses: the way
   reproduce saved them before (``savefig`` with a tight box for the PDF and again for a 150 dpi
   PNG, matplotlib's own font subsetting) against :func:`metaoutcome.report._figures.save_pdf_png`
   (one tight box, PDF with lean font subsetting, 300 dpi PNG), each with its caches emptied first
   as in a fresh process; medians of ``--repeat`` and the ratio.
2. ``python -m metaoutcome reproduce --out <tmp>`` in fresh processes, ``--runs`` times each with
   the default worker processes and with ``--jobs 1``: wall time (median) and the CPU time of the
   run (user + system, all processes); first the two original review questions
   (``--only hcc_after_first_line,nsclc_pd1_vs_docetaxel``, issue 14's target: wall <= 4 s with
   the default workers), then all five bundled analyses (no target; printed for comparison).

The machine is shared: wall times move with its load (printed), the ratio in part 1 much less.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _bench import machine  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 4.0


def _collect_figures() -> list[Any]:
    """The figures the bundled analyses draw, collected instead of saved."""
    import matplotlib

    matplotlib.use("Agg")
    from metaoutcome import reproduce

    figs: list[Any] = []
    original = reproduce.AnalysisOutput.figure

    def keep(self: Any, name: str, fig: Any, caption: str, dpi: int = 300) -> Path:
        figs.append(fig)
        self.items.append(("figure", (name, caption, Path(os.devnull))))
        return Path(os.devnull)

    reproduce.AnalysisOutput.figure = keep  # type: ignore[method-assign]
    try:
        with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for name, title in reproduce.list_analyses():
                mod = __import__(f"metaoutcome._analyses.{name}", fromlist=["run"])
                mod.run(reproduce.AnalysisOutput(name, title, Path(tmp) / name))
    finally:
        reproduce.AnalysisOutput.figure = original  # type: ignore[method-assign]
    return figs


def figure_saving(repeat: int) -> None:
    from metaoutcome.plotting import savefig
    from metaoutcome.report import _figures

    figs = _collect_figures()
    print(f"\n1. saving the {len(figs)} figures of the bundled analyses (this process, median of {repeat})")

    def before(folder: Path) -> None:
        for i, fig in enumerate(figs):
            savefig(fig, folder / f"f{i}.pdf")
            savefig(fig, folder / f"f{i}.png", dpi=150)

    def now(folder: Path, dpi: int = 300) -> None:
        _figures._SUBSETS.clear()
        _figures._lean_font.cache_clear()
        _figures._repertoire_font.cache_clear()
        for i, fig in enumerate(figs):
            _figures.save_pdf_png(fig, folder, f"f{i}", dpi=dpi)

    times: dict[str, list[float]] = {"before": [], "now": [], "now150": []}
    for _ in range(repeat):
        for label, fn in (("before", before), ("now", now), ("now150", lambda f: now(f, 150))):
            with tempfile.TemporaryDirectory() as tmp:
                t0 = time.perf_counter()
                fn(Path(tmp))
                times[label].append(time.perf_counter() - t0)
    b, n, n150 = (statistics.median(times[k]) for k in ("before", "now", "now150"))
    print(f"  before: tight PDF + tight 150 dpi PNG, matplotlib's subsetting  {b:6.2f} s")
    print(f"  now:    one tight box, lean PDF subsetting, 300 dpi PNG         {n:6.2f} s   ({b / n:.1f}x faster)")
    print(f"  now, with the PNG at 150 dpi as before                          {n150:6.2f} s   ({b / n150:.1f}x faster)")


#: the two original review questions, the case issue 14's 4 s target is for
ORIGINAL = ["hcc_after_first_line", "nsclc_pd1_vs_docetaxel"]


def reproduce_runs(runs: int) -> bool:
    print(f"\n2. python -m metaoutcome reproduce, fresh process, {runs} run(s) each (load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")
    ok = True
    for case, only in (("the 2 original analyses", ["--only", ",".join(ORIGINAL)]), ("all 5 analyses", [])):
        print(f"  {case}:")
        for label, extra in (("default (worker processes)", []), ("--jobs 1", ["--jobs", "1"])):
            walls, cpus = [], []
            for _ in range(runs):
                with tempfile.TemporaryDirectory() as tmp:
                    before = resource.getrusage(resource.RUSAGE_CHILDREN)
                    t0 = time.perf_counter()
                    proc = subprocess.run([sys.executable, "-m", "metaoutcome", "reproduce", "--out", tmp, *only,
                                           *extra], cwd=ROOT, capture_output=True, text=True, check=False)  # fmt: skip
                    walls.append(time.perf_counter() - t0)
                    after = resource.getrusage(resource.RUSAGE_CHILDREN)
                    cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
                    if proc.returncode != 0:
                        print(f"  reproduce FAILED ({proc.returncode}):\n{proc.stderr[-1500:]}")
                        return False
            wall = statistics.median(walls)
            print(f"    {label:<28} wall {wall:5.2f} s (runs: {', '.join(f'{w:.2f}' for w in walls)}), "
                  f"CPU {statistics.median(cpus):5.2f} s")
            if only and not extra:
                ok = wall <= TARGET_S
                print(f"    target wall <= {TARGET_S:g} s: {'met' if ok else 'NOT met'}")
    return ok


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    print(machine())
    figure_saving(args.repeat)
    return 0 if reproduce_runs(args.runs) else 1


if __name__ == "__main__":
    raise SystemExit(main())
