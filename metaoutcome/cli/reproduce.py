"""``metaoutcome reproduce``: validate the bundled data and run every bundled analysis into DIR.

The output is built beside DIR and moved into place only when complete
(:func:`metaoutcome.reproduce.run_all`): DIR holds the previous complete output or the new one.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from ._common import FORMATTER, CLIError, add_traceback, examples, positive_int

NAME = "reproduce"
ORDER = 40


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = subparsers.add_parser(
        NAME, help="validate the bundled data and run every bundled analysis", formatter_class=FORMATTER,
        description=(
            "Validate the bundled data, run every bundled analysis and write its figures (PDF, PNG),\n"
            "tables (CSV, Markdown), one HTML report and a manifest of input and output hashes.\n\n"
            "The output is built in a new folder beside DIR and moved into place only when every\n"
            "analysis has finished, so DIR holds the previous complete output or the new one, never\n"
            "a mix. A DIR holding files that are not in its own manifest.json (files this command did\n"
            "not write) is refused, listing them; --force replaces it all the same.\n\n"
            "Exit status: 0 done; 1 an analysis failed, the data has errors, or a file could not be\n"
            "written (DIR is then left as it was); 2 a usage problem or a DIR holding other files;\n"
            "130 interrupted (Ctrl-C; DIR left as it was)."
        ),
        epilog=examples(
            "metaoutcome reproduce --out results",
            "metaoutcome reproduce --out results --only hcc_after_first_line",
            "metaoutcome reproduce --only nsclc_pd1_vs_docetaxel --traceback",
            "metaoutcome reproduce --jobs 1   # one analysis after another, in this process",
            "metaoutcome reproduce --out results --force   # replace results/ even if it holds other files",
        ),
    )
    p.add_argument("--out", default="metaoutcome-results", metavar="DIR", help="output folder (default: %(default)s)")
    p.add_argument("--only", metavar="NAMES", help="comma-separated analyses to run (default: all)")
    p.add_argument("--jobs", type=positive_int, metavar="N",
                   help="analyses run at once, each but the first in a worker process (default: one per CPU)")
    p.add_argument("--force", action="store_true",
                   help="replace DIR even when it holds files metaoutcome did not write (they are deleted)")
    add_traceback(p)
    return p


def run(args: argparse.Namespace) -> int:
    from .. import reproduce
    from ..datasets import evidence_summary
    from ..validation import validate_files

    start = time.perf_counter()
    args.interrupted_note = f"{args.out} left as it was"
    only = args.only.split(",") if args.only else None
    reproduce.check_output_folder(args.out, force=args.force)  # before the slow part: refuse early
    try:
        Path(args.out).absolute().parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CLIError(f"--out {args.out}: cannot create the folder ({exc.strerror or exc})") from None
    print("validating the bundled data ...", flush=True)
    report = validate_files()
    for p in report.problems:
        print(f"  {p}")
    print(f"  {len(report.errors)} error(s), {len(report.warnings)} warning(s)", flush=True)
    if not report.ok:
        print("reproduce: the bundled data has errors; fix them first", file=sys.stderr)
        return 1
    print(f"running {len(only) if only else len(reproduce.list_analyses())} analyses into {args.out}/ ...", flush=True)
    result = reproduce.run_all(args.out, only=only, progress=lambda line: print(line, flush=True),
                               show_traceback=args.traceback, jobs=args.jobs, force=args.force,
                               extra_files={"evidence_summary.md": evidence_summary()})
    elapsed = time.perf_counter() - start
    if not result.ok:
        print(f"reproduce: {len(result.failures)} analysis(es) failed: {', '.join(result.failures)}", file=sys.stderr)
        return 1
    print(f"done in {elapsed:.1f} s: open {result.report}; hashes of inputs and outputs in {result.manifest}")
    return 0
