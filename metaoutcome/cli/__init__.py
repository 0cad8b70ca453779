"""The ``metaoutcome`` command line: a thin layer that parses arguments and calls the library.

Commands
--------
``metaoutcome pool FILE [options]``
    Pool the outcomes in your own CSV: a table in the curated layout (``proportions``,
    ``medians``, ``hazard_ratios``; your own column names via ``--map YOURS=OURS``) or effect sizes
    you computed (``--yi`` with ``--vi``/``--sei``); the result table is printed and ``--forest
    FILE`` writes a forest plot. The file is read by the one CSV reader
    (:mod:`metaoutcome.csvfile`), validated (:func:`metaoutcome.validation.validate_files`) and
    converted by the library's ``metaoutcome.effects.from_*``.
``metaoutcome validate [PATH ...] [--table NAME] [--map YOURS=OURS] [--standalone]``
    Check the bundled data, or your own CSVs of the same layout; every problem is printed as
    ``file:row:column: message``; exit status 1 when there are errors.
``metaoutcome list``
    The bundled tables with their sizes.
``metaoutcome reproduce [--out DIR] [--only NAMES] [--jobs N] [--force]``
    Validate the bundled data, then run every bundled analysis into DIR, built beside it and moved
    into place only when complete (:func:`metaoutcome.reproduce.run_all`).

Every command's ``--help`` documents each option and ends with examples. A usage or input error
prints one line per problem on stderr, ``metaoutcome COMMAND: error: ...``, and exits with status 2
(``--traceback`` shows the Python traceback); Ctrl-C exits with 130 and a file-system error (a full
disk, a folder that cannot be written) with 1, each after one plain line.

Adding a command is adding one module to this package (a name not starting with ``_``) with
``add_parser(subparsers)``, which adds the command's parser and returns it, and ``run(args) -> int``,
which returns the exit status; optionally ``ORDER`` (its place in ``metaoutcome --help``, default
100). Raise :class:`CLIError` (or ``ValueError``) for a problem the user can fix: ``main`` prints it
as one line and exits with 2; Ctrl-C and ``OSError`` are handled for every command.

>>> args = build_parser().parse_args(["pool", "my_hazard_ratios.csv", "--ci-method", "KNHA", "--level", "0.9"])
>>> args.method, args.ci_method, args.level
('REML', 'knha', 90.0)
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
from collections.abc import Sequence
from types import ModuleType

from ._common import CI_METHODS, LAYOUTS, METHODS, PI_METHODS, CLIError, Parser, examples, one_line

__all__ = ["main", "build_parser", "CLIError", "METHODS", "CI_METHODS", "PI_METHODS", "LAYOUTS"]


def commands() -> list[ModuleType]:
    """The command modules of this package, in ``ORDER``."""
    found = []
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_"):
            continue
        mod = importlib.import_module(f"{__name__}.{info.name}")
        if callable(getattr(mod, "add_parser", None)) and callable(getattr(mod, "run", None)):
            found.append(mod)
    return sorted(found, key=lambda m: (getattr(m, "ORDER", 100), m.__name__))


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``metaoutcome`` command (one sub-parser per command module)."""
    parser = Parser(
        prog="metaoutcome",
        description="Meta-analysis of the outcomes oncology trials report, with a curated evidence base.",
        epilog=examples(
            "metaoutcome pool my_hazard_ratios.csv --outcome OS --forest os.pdf",
            "metaoutcome validate my_trials.csv my_proportions.csv",
            "metaoutcome list",
            "metaoutcome reproduce --out results",
            "metaoutcome COMMAND --help     (the options of each command)",
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--traceback", action="store_true", help="on an error, show the Python traceback")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for mod in commands():
        p = mod.add_parser(sub)
        p.set_defaults(func=mod.run)
    return parser


def _error(command: str, *lines: str) -> None:
    for line in lines:
        print(f"metaoutcome {command}: error: {one_line(line)}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status.

    0 done; 1 data errors found, an analysis failed, or a file could not be written (a full disk,
    a read-only folder); 2 a usage or input error; 130 interrupted (Ctrl-C).
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0), or a usage error already printed on one line (2)
        return exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 2
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args))
    except BrokenPipeError:  # the reader stopped reading (``| head``): not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return 0
    except KeyboardInterrupt:
        if args.traceback:
            raise
        print(f"metaoutcome {args.command}: interrupted" + _interrupted_note(args), file=sys.stderr)
        return 130
    except (CLIError, ValueError) as exc:
        if args.traceback:
            raise
        _error(args.command, *(exc.lines if isinstance(exc, CLIError) else (str(exc),)))
        return 2
    except OSError as exc:  # a full disk, a read-only folder, a file that vanished
        if args.traceback:
            raise
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        _error(args.command, f"{where}{exc.strerror or exc}{_interrupted_note(args)}")
        return 1
    except RuntimeError as exc:  # a run that could not finish (e.g. a worker process was killed)
        from ..reproduce import ReproduceAborted

        if args.traceback or not isinstance(exc, ReproduceAborted):
            raise
        _error(args.command, str(exc))
        return 1


def _interrupted_note(args: argparse.Namespace) -> str:
    """What a command that stops halfway leaves as it was (a command sets ``args.interrupted_note``)."""
    note = getattr(args, "interrupted_note", None)
    return f"; {note}" if note else ""


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
