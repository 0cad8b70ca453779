"""Time metaoutcome's start-up: ``import metaoutcome``, ``from metaoutcome import pool``, the first
``pool()`` call, and a whole ``metaoutcome reproduce`` run.

    python benchmarks/bench_startup.py [--repeat 7] [--reproduce-runs 2] [--skip-reproduce]

Every import figure comes from a fresh interpreter (a subprocess per run, median of
``--repeat`` runs), timed inside it so that the interpreter's own start-up is shown apart:

* ``python -c pass``: the interpreter alone (wall time of the subprocess);
* ``import metaoutcome``: the package (it loads its modules lazily, on first attribute use);
* ``from metaoutcome import pool``: what that then loads (numpy, scipy, pandas, the pooling
  modules), and which third-party packages that time goes to (``python -X importtime``, one run);
* the first ``pool()`` call (k = 3, REML; lazy imports inside it, caches) and a second one;
* ``python -m metaoutcome --help``: what a command-line user waits for (wall time);
* the first pooled result in a fresh process (``import metaoutcome`` + ``from metaoutcome import
  pool`` + the first ``pool()``, timed inside the interpreter) and ``metaoutcome pool`` on a
  small CSV of four hazard ratios (wall time, interpreter included);
* ``import numpy, pandas, scipy.special`` alone (wall), the floor these two stand on, so that a
  run on a loaded machine can be read as a ratio.

Then ``metaoutcome reproduce --out <tmpdir>`` is run ``--reproduce-runs`` times (progress
printed as it goes), each into a fresh folder.

Targets: ``import metaoutcome`` <= 0.3 s; the first pooled result <= 0.5 s; ``metaoutcome pool``
on a small CSV <= 0.7 s; ``reproduce`` <= 15 s. ``from metaoutcome import pool``
is held to the same 0.3 s and printed too, as that is the import a user of ``pool`` pays for.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _bench import fmt_seconds, machine, target, wall  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
IMPORT_TARGET_S = 0.3
FIRST_RESULT_TARGET_S = 0.5
CLI_POOL_TARGET_S = 0.7
SMALL_CSV = "study,hr,ci_low,ci_high\nA,0.72,0.60,0.86\nB,0.81,0.66,0.99\nC,0.65,0.50,0.85\nD,0.90,0.75,1.08\n"
REPRODUCE_TARGET_S = 15.0

# runs in a fresh interpreter; prints the in-process times as JSON on its last line
PROBE = r"""
import json, time
t0 = time.perf_counter()
import metaoutcome
t1 = time.perf_counter()
from metaoutcome import pool
t2 = time.perf_counter()
pool([0.1, 0.3, 0.2], [0.01, 0.02, 0.03], method="REML")
t3 = time.perf_counter()
pool([0.2, 0.4, 0.1], [0.02, 0.01, 0.03], method="REML")
t4 = time.perf_counter()
print(json.dumps({"import_metaoutcome": t1 - t0, "import_pool": t2 - t1,
                  "first_pool": t3 - t2, "second_pool": t4 - t3}))
"""


def run(cmd: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=ROOT)


def import_times(repeat: int, csv: Path) -> dict[str, float]:
    """Median over ``repeat`` fresh interpreters of each step (seconds)."""
    samples: dict[str, list[float]] = {}
    cli_pool = [sys.executable, "-m", "metaoutcome", "pool", "--table", "hazard_ratios", "--label", "study",
                "--standalone", str(csv)]  # fmt: skip
    for _ in range(repeat):
        t, _ = wall(lambda: run([sys.executable, "-c", "import numpy, pandas, scipy.special"]))
        samples.setdefault("floor", []).append(t)
        t, _ = wall(lambda: run(cli_pool))
        samples.setdefault("cli_pool", []).append(t)
        t, _ = wall(lambda: run([sys.executable, "-c", "pass"]))
        samples.setdefault("interpreter", []).append(t)
        t, proc = wall(lambda: run([sys.executable, "-c", PROBE]))
        samples.setdefault("probe_wall", []).append(t)
        for key, val in json.loads(proc.stdout.strip().splitlines()[-1]).items():
            samples.setdefault(key, []).append(val)
        t, _ = wall(lambda: run([sys.executable, "-m", "metaoutcome", "--help"]))
        samples.setdefault("cli_help", []).append(t)
    return {key: statistics.median(vals) for key, vals in samples.items()}


def import_breakdown(stmt: str, top: int = 6) -> list[tuple[str, float]]:
    """Self import time per top-level package for ``stmt`` (one run of ``python -X importtime``)."""
    proc = run([sys.executable, "-X", "importtime", "-c", stmt])
    self_us: Counter[str] = Counter()
    for line in proc.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+\d+ \|\s*(\S+)", line)
        if m:
            self_us[m.group(2).split(".")[0]] += int(m.group(1))
    return [(name, us / 1e6) for name, us in self_us.most_common(top)]


def reproduce_once(i: int, runs: int) -> float | None:
    """One ``metaoutcome reproduce`` into a fresh folder, progress lines echoed; wall seconds."""
    with tempfile.TemporaryDirectory() as tmp:
        print(f"\nreproduce run {i}/{runs}: python -m metaoutcome reproduce --out {tmp}", flush=True)
        t0 = time.perf_counter()
        with subprocess.Popen([sys.executable, "-m", "metaoutcome", "reproduce", "--out", tmp], cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as proc:  # fmt: skip
            assert proc.stdout is not None
            for line in proc.stdout:
                if re.match(r"\s*(\[\d+/\d+\]|done|running|validating)", line):  # progress, not the notes
                    text = line.rstrip()
                    print(f"  {time.perf_counter() - t0:6.1f} s | {text[:110]}{'...' if len(text) > 110 else ''}",
                          flush=True)  # fmt: skip
        elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        print(f"  reproduce FAILED (exit status {proc.returncode})")
        return None
    print(f"  wall time {elapsed:.2f} s")
    return elapsed


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7, help="fresh interpreters per import figure (median)")
    ap.add_argument("--reproduce-runs", type=int, default=2)
    ap.add_argument("--skip-reproduce", action="store_true")
    args = ap.parse_args(argv)
    print(machine())

    print(f"\ntiming imports in {args.repeat} fresh interpreters ...", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "small_hr.csv"
        csv.write_text(SMALL_CSV, encoding="utf-8")
        t = import_times(args.repeat, csv)
    t["first_result"] = t["import_metaoutcome"] + t["import_pool"] + t["first_pool"]
    print(f"\nstart-up, median of {args.repeat} fresh interpreters (times inside the interpreter unless 'wall')\n")
    rows = [
        ("python -c pass (wall)", t["interpreter"], "the interpreter alone"),
        ("import metaoutcome", t["import_metaoutcome"], "the package; modules load lazily"),
        ("from metaoutcome import pool", t["import_pool"], "then: pooling + numpy, scipy, pandas"),
        ("first pool() call", t["first_pool"], "k = 3, REML"),
        ("second pool() call", t["second_pool"], "for comparison"),
        ("all of the above (wall)", t["probe_wall"], "interpreter + imports + two fits"),
        ("python -m metaoutcome --help", t["cli_help"], "wall: what a command-line user waits for"),
        ("first pooled result", t["first_result"], "import metaoutcome + import pool + first pool()"),
        ("metaoutcome pool small.csv", t["cli_pool"], "wall: 4 hazard ratios, REML, printed"),
        ("import numpy, pandas, scipy.special", t["floor"], "wall: the floor of the two lines above"),
    ]
    for label, sec, what in rows:
        print(f"  {label:<30} {fmt_seconds(sec):>10}  {what}")
    print("\nwhere `from metaoutcome import pool` spends its time (self time per package, one run):")
    for name, sec in import_breakdown("from metaoutcome import pool"):
        print(f"  {name:<16} {fmt_seconds(sec):>10}")

    print()
    ok = target("import metaoutcome", t["import_metaoutcome"], IMPORT_TARGET_S, "s")
    target("from metaoutcome import pool", t["import_metaoutcome"] + t["import_pool"], IMPORT_TARGET_S, "s")
    ok &= target("first pooled result in a fresh process", t["first_result"], FIRST_RESULT_TARGET_S, "s")
    ok &= target("metaoutcome pool on a small CSV (wall)", t["cli_pool"], CLI_POOL_TARGET_S, "s")
    print(f"  (on this machine now the import floor is {t['floor']:.3f} s wall; cli pool / floor = "
          f"{t['cli_pool'] / t['floor']:.2f}, first result / (floor - interpreter) = "
          f"{t['first_result'] / max(t['floor'] - t['interpreter'], 1e-9):.2f})")

    if not args.skip_reproduce:
        times = [reproduce_once(i + 1, args.reproduce_runs) for i in range(args.reproduce_runs)]
        done = [x for x in times if x is not None]
        print()
        if len(done) < len(times):
            print("  reproduce failed in some runs (see above)")
            ok = False
        if done:
            print(f"  reproduce wall times: {', '.join(f'{x:.2f} s' for x in done)}")
            ok &= target("reproduce (median wall)", statistics.median(done), REPRODUCE_TARGET_S, "s")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
