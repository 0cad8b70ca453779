"""``metaoutcome validate``: check the bundled data or your own CSVs, as they will be pooled."""

from __future__ import annotations

import argparse
from typing import Any

from ._common import FORMATTER, CLIError, add_map, add_traceback, examples, parse_map, read_csv

NAME = "validate"
ORDER = 20
TABLES = ("sources", "trials", "proportions", "medians", "hazard_ratios")


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = subparsers.add_parser(
        NAME, help="check the bundled data or your own CSV files", formatter_class=FORMATTER,
        description=(
            "Check CSV files against the curated-data layout (datapackage.json). Every problem is\n"
            "printed as file:row:column: message (row 1 is the header; a row is a line of the file).\n"
            "Your own column names are read as ours with --map, as 'metaoutcome pool' reads them, so\n"
            "you check the file you will pool. A ci_level written as a proportion (0.95) is read as\n"
            "a percentage (95%) and said so. Exit status 1 when there are errors, 2 on a usage problem."
        ),
        epilog=examples(
            "metaoutcome validate",
            "metaoutcome validate my_trials.csv my_proportions.csv",
            "metaoutcome validate --table hazard_ratios extracted.csv",
            "metaoutcome validate --table hazard_ratios --map HR=hr --map Lower=ci_low --map Upper=ci_high my_hrs.csv",
            "metaoutcome validate --standalone my_sources.csv my_trials.csv my_medians.csv",
            "metaoutcome validate my_proportions.csv --traceback",
        ),
    )
    p.add_argument("paths", nargs="*", metavar="PATH", help="CSV files to check (default: the bundled data)")
    p.add_argument("--table", choices=TABLES,
                   help="check every file as this table (default: infer from the file name or header)")
    add_map(p)
    p.add_argument("--standalone", action="store_true",
                   help="resolve trial/source references only among the given files, not the bundled tables")
    add_traceback(p)
    return p


def run(args: argparse.Namespace) -> int:
    from ..csvfile import read_csv_file
    from ..validation import validate_files

    mapping = parse_map(args.map)
    if mapping and not args.paths:
        raise CLIError("--map: give the files to read with your column names (the bundled data uses ours)")
    files = []
    for path in args.paths:
        f = read_csv_file(path)
        if f.errors and f.errors[0].message in ("no such file", "not a file"):
            read_csv(path)  # raises the one-line error
        files.append(f)
    for user in mapping:
        if not any(user in f.header for f in files):
            raise CLIError(f"--map {user}={mapping[user]}: no file has a column {user!r}")
    try:
        report = validate_files(files or None, table=args.table, against_bundled=not args.standalone,
                                columns=mapping or None)
    except ValueError as exc:
        raise CLIError(str(exc).replace("columns ", "--map ", 1)) from exc
    print(report)
    return 0 if report.ok else 1
