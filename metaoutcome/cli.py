"""The ``metaoutcome`` command line.

Commands
--------
``metaoutcome reproduce [--out DIR] [--only NAMES]``
    Validate the bundled data, then run every bundled analysis and write its outputs to DIR:
    figures, tables, ``report.html`` and ``manifest.json``.
``metaoutcome validate [PATH ...] [--table NAME]``
    Check the bundled data, or your own CSVs of the same layout; every problem is printed as
    ``file:row:column: message``; exit status 1 when there are errors.
``metaoutcome list``
    The bundled tables with their sizes.

Usage errors print one line and exit with status 2 (``--traceback`` shows the Python traceback).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

__all__ = ["main", "build_parser"]


class CLIError(Exception):
    """A problem the user can fix; printed as one line, exit status 2."""


def _cmd_list(args: argparse.Namespace) -> int:
    from .datasets import list_datasets

    frame = list_datasets()
    width = max(len(n) for n in frame["name"])
    for row in frame.itertuples():
        print(f"{row.name:<{width}}  {row.rows:>4} rows  {row.description}")
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    from .validation import validate_files

    paths = args.paths or None
    if paths:
        for p in paths:
            if not Path(p).exists():
                raise CLIError(f"{p}: no such file")
    report = validate_files(paths, table=args.table, against_bundled=not args.standalone)
    print(report)
    return 0 if report.ok else 1


def summarise_bundled() -> str:
    """A Markdown summary of the bundled data: trials by cancer, rows per table and outcome."""
    from .datasets import list_datasets, load_dataset

    lines = ["# metaoutcome bundled evidence base", ""]
    sizes = list_datasets()
    lines += ["| table | rows | description |", "|---|---:|---|"]
    lines += [f"| {r.name} | {r.rows} | {r.description} |" for r in sizes.itertuples()]
    trials = load_dataset("trials")
    lines += ["", "## Trials by cancer and design", ""]
    for cancer, grp in trials.groupby("cancer", sort=True):
        designs = ", ".join(f"{d} {n}" for d, n in grp["design"].value_counts().sort_index().items())
        lines.append(f"- {cancer}: {len(grp)} trials ({designs}): " + ", ".join(sorted(grp["short_name"])))
    lines += ["", "## Outcome rows", ""]
    for name, col in (("proportions", "outcome"), ("medians", "outcome"), ("hazard_ratios", "endpoint")):
        frame = load_dataset(name, with_trials=True)
        if frame.empty:
            continue
        counts = frame.groupby(["cancer", col]).size()
        shown = "; ".join(f"{c} {o} {n}" for (c, o), n in counts.items())
        lines.append(f"- {name}: {shown}")
    return "\n".join(lines) + "\n"


def _cmd_reproduce(args: argparse.Namespace) -> int:
    from .reproduce import list_analyses, run_all
    from .validation import validate_files

    out = Path(args.out)
    start = time.perf_counter()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CLIError(f"--out {out}: cannot create the folder ({exc.strerror or exc})") from None
    print("validating the bundled data ...", flush=True)
    report = validate_files()
    for p in report.problems:
        print(f"  {p}")
    print(f"  {len(report.errors)} error(s), {len(report.warnings)} warning(s)", flush=True)
    if not report.ok:
        print("reproduce: the bundled data has errors; fix them first", file=sys.stderr)
        return 1
    (out / "evidence_summary.md").write_text(summarise_bundled(), encoding="utf-8")
    only = args.only.split(",") if args.only else None
    print(f"running {len(only) if only else len(list_analyses())} analyses into {out}/ ...", flush=True)
    result = run_all(out, only=only, progress=lambda line: print(line, flush=True), show_traceback=args.traceback)
    elapsed = time.perf_counter() - start
    if not result.ok:
        print(f"reproduce: {len(result.failures)} analysis(es) failed: {', '.join(result.failures)}", file=sys.stderr)
        return 1
    print(f"done in {elapsed:.1f} s: open {result.report}; hashes of inputs and outputs in {result.manifest}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="metaoutcome",
        description="Meta-analysis of the outcomes oncology trials report, with a curated evidence base.",
        epilog="Example: metaoutcome reproduce --out results",
    )
    parser.add_argument("--traceback", action="store_true", help="show the Python traceback on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser(
        "reproduce", help="validate the bundled data and run every bundled analysis",
        description=(
            "Validate the bundled data, run every bundled analysis and write its figures (PDF, PNG), "
            "tables (CSV, Markdown), one HTML report and a manifest of input and output hashes."
        ),
        epilog="Example: metaoutcome reproduce --out results",
    )
    p.add_argument("--out", default="metaoutcome-results", metavar="DIR", help="output folder (default: %(default)s)")
    p.add_argument("--only", metavar="NAMES", help="comma-separated analyses to run (default: all)")
    p.set_defaults(func=_cmd_reproduce)

    p = sub.add_parser(
        "validate", help="check the bundled data or your own CSV files",
        description=(
            "Check CSV files against the curated-data layout (datapackage.json). Every problem is "
            "printed as file:row:column: message (row 1 is the header). Exit status 1 when there are errors."
        ),
        epilog="Examples: metaoutcome validate    |    metaoutcome validate my_trials.csv my_proportions.csv",
    )
    p.add_argument("paths", nargs="*", metavar="PATH", help="CSV files to check (default: the bundled data)")
    p.add_argument(
        "--table", choices=["sources", "trials", "proportions", "medians", "hazard_ratios"],
        help="check every file as this table (default: infer from the file name or header)",
    )
    p.add_argument(
        "--standalone", action="store_true",
        help="resolve trial/source references only among the given files, not the bundled tables",
    )
    p.set_defaults(func=_cmd_validate)

    p = sub.add_parser(
        "list", help="list the bundled datasets", description="List the bundled tables with their sizes.",
        epilog="Example: metaoutcome list",
    )
    p.set_defaults(func=_cmd_list)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args))
    except (CLIError, ValueError) as exc:
        if args.traceback:
            raise
        print(f"metaoutcome {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
