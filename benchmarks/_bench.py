"""Shared pieces of the benchmark scripts: timing, running R, the side-by-side table.

Every script in ``benchmarks/`` generates its data with a fixed seed, times each contender in the
same run, prints medians and ratios to metaoutcome, and checks that the contenders agree on the
numbers they share. Nothing here is imported by the package or asserted by the tests.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def median_time(fn: Callable[[], Any], repeat: int, number: int = 1) -> float:
    """Median over ``repeat`` runs of the mean time of ``number`` calls, in seconds."""
    return statistics.median(timeit.repeat(fn, repeat=repeat, number=number)) / number


def wall(fn: Callable[[], Any]) -> tuple[float, Any]:
    """(seconds, return value) of one call."""
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def machine() -> str:
    """One line naming the machine the figures come from."""
    import numpy as np

    return (f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"numpy {np.__version__}, {platform.system()} {platform.release()}")


def run_r(script: str, payload: Mapping[str, Any], *args: str) -> dict[str, Any] | None:
    """Run an R script with ``payload`` as a JSON file path (first argument); parse the JSON it
    prints on its last line. None (with a message) when Rscript is missing or R fails."""
    if shutil.which("Rscript") is None:
        print("metafor: Rscript not on PATH, skipped")
        return None
    with tempfile.TemporaryDirectory() as tmp:
        dpath = Path(tmp) / "d.json"
        spath = Path(tmp) / "b.R"
        dpath.write_text(json.dumps(payload))
        spath.write_text(script)
        proc = subprocess.run(["Rscript", str(spath), str(dpath), *args], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        print("metafor: R failed, skipped:\n" + proc.stderr[-2000:])
        return None
    out: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return out


def fmt_seconds(s: float) -> str:
    if s >= 1.0:
        return f"{s:.2f} s"
    if s >= 1e-3:
        return f"{s * 1e3:.2f} ms"
    return f"{s * 1e6:.1f} us"


def print_times(title: str, rows: Mapping[str, tuple[float, str]], baseline: str = "metaoutcome") -> None:
    """Print ``name  time  ratio-to-baseline  what`` rows; ``rows[name] = (seconds, what)``."""
    base = rows[baseline][0]
    print(f"\n{title}\n")
    print(f"{'contender':<14} {'median':>11} {'x ours':>9}  what")
    for name, (t, what) in rows.items():
        print(f"{name:<14} {fmt_seconds(t):>11} {t / base:>9.1f}  {what}")


def print_agreement(pairs: Mapping[str, tuple[float, float]], rtol: float) -> bool:
    """Print ``label: theirs vs ours`` with the relative difference; True when all within rtol."""
    ok = True
    print(f"\nagreement on shared numbers (relative difference, tolerance {rtol:g}):")
    for label, (theirs, ours) in pairs.items():
        rel = abs(theirs - ours) / max(abs(ours), 1e-12)
        good = rel <= rtol
        ok &= good
        print(f"  {label:<40} {theirs: .10g} vs {ours: .10g}  rel {rel:.1e}  {'ok' if good else 'DIFFERS'}")
    print("all shared numbers agree" if ok else "SOME NUMBERS DIFFER (see above)")
    return ok


def target(label: str, value: float, limit: float, unit: str = "s", *, at_least: bool = False) -> bool:
    """Print one target line: ``label: value unit (target <= limit) met/NOT MET``."""
    met = value >= limit if at_least else value <= limit
    sign = ">=" if at_least else "<="
    print(f"  target {label}: {value:.4g} {unit} ({sign} {limit:g} {unit}) {'met' if met else 'NOT MET'}")
    return met
