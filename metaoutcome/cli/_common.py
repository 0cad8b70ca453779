"""What every command shares: the one-line error, the argparse types, reading a CSV argument."""

from __future__ import annotations

import argparse
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from ..options import CI_METHOD_ALIASES, CI_METHOD_AMBIGUOUS, CI_METHODS, COMMON_METHODS, PI_METHODS, TAU2_METHODS
from ..options import choice as option_choice

if TYPE_CHECKING:  # pragma: no cover
    from ..csvfile import CSVFile

#: Model choices: the library's vocabularies (:mod:`metaoutcome.options` imports no scipy, so ``--help`` stays fast).
#: ``METHODS`` is shown default first: REML, the other tau^2 estimators, then the common-effect names.
METHODS: tuple[str, ...] = ("REML",) + tuple(m for m in TAU2_METHODS if m != "REML") + COMMON_METHODS
LAYOUTS: tuple[str, ...] = ("default", "revman", "jama")
FORMATS: tuple[str, ...] = ("text", "csv", "markdown")
FIGURE_TYPES: tuple[str, ...] = ("pdf", "png", "svg")
FORMATTER = argparse.RawDescriptionHelpFormatter


class CLIError(Exception):
    """A problem the user can fix; each line is printed as one error line, exit status 2."""

    def __init__(self, *lines: str) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


class Parser(argparse.ArgumentParser):
    """argparse with a one-line usage error: ``metaoutcome pool: error: ... (see ... --help)``."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def one_line(text: str) -> str:
    return " ".join(part.strip() for part in str(text).splitlines() if part.strip())


def choice(allowed: Sequence[str], aliases: dict[str, str] | None = None,
           ambiguous: dict[str, str] | None = None) -> Callable[[str], str]:
    """An argparse ``type`` accepting ``allowed`` in any case, or an alias, and returning the canonical
    spelling: the library's rule (:func:`metaoutcome.options.choice`) with a command-line message.

    >>> choice(CI_METHODS, CI_METHOD_ALIASES)("HKSJ")
    'knha'
    """

    def parse(text: str) -> str:
        try:
            return option_choice("value", text, tuple(allowed), aliases, ambiguous)
        except ValueError as exc:
            if ambiguous and text.strip().lower() in ambiguous:
                raise argparse.ArgumentTypeError(f"{text!r} is ambiguous: {ambiguous[text.strip().lower()]}; "
                                                 f"give one of {', '.join(allowed)}") from exc
            alias = ""
            if aliases:
                alias = " (or " + ", ".join(f"{k} = {v}" for k, v in aliases.items()) + ")"
            raise argparse.ArgumentTypeError(f"{text!r} is not one of {', '.join(allowed)}{alias}") from exc

    parse.__name__ = "choice"
    return parse


def level(text: str) -> float:
    """A confidence level by the one level rule (:func:`metaoutcome._checks.level_percent`), in percent.

    >>> level("95"), level("0.95"), level("99.9")
    (95.0, 95.0, 99.9)
    """
    from .._checks import LEVEL_RULE, level_percent

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number; {LEVEL_RULE}") from None
    try:
        return level_percent(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a confidence level; {LEVEL_RULE}") from None


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number, e.g. 2")
    return value


def add_traceback(p: argparse.ArgumentParser) -> None:
    p.add_argument("--traceback", action="store_true", default=argparse.SUPPRESS,
                   help="on an error, show the Python traceback instead of the one-line message")


def add_map(p: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    p.add_argument("--map", action="append", default=[], metavar="YOURS=OURS",
                   help="read your column YOURS as our column OURS (repeatable), e.g. --map HR=hr --map 'Lower CI=ci_low'")


def examples(*lines: str) -> str:
    return "Examples:\n" + "\n".join(f"  {line}" for line in lines)


def parse_map(items: Sequence[str]) -> dict[str, str]:
    """``--map YOURS=OURS`` (repeatable) as ``{YOURS: OURS}``."""
    mapping: dict[str, str] = {}
    for item in items:
        user, sep, ours = item.partition("=")
        user, ours = user.strip(), ours.strip()
        if not sep or not user or not ours:
            raise CLIError(f"--map {item!r}: expected YOUR_COLUMN=OUR_COLUMN, e.g. --map HR=hr")
        if user in mapping:
            raise CLIError(f"--map {item}: column {user!r} is mapped twice")
        if ours in mapping.values():
            raise CLIError(f"--map {item}: two columns are mapped to {ours!r}")
        mapping[user] = ours
    return mapping


def read_csv(path: str, option: str | None = None) -> CSVFile:
    """Read a CSV argument with the one reader; its errors raise :class:`CLIError` (one line each)."""
    from ..csvfile import read_csv_file

    f = read_csv_file(path)
    if f.errors:
        first = f.errors[0]
        if first.row is None and first.column is None:  # the whole file: no such file, empty ...
            where = f"{option} {path}" if option else path
            raise CLIError(f"{where}: {first.message}")
        raise CLIError(*(str(p) for p in f.errors[:20]))
    return f


def write_whole(path: Path, write: Callable[[Path], None]) -> None:
    """Write a file the way ``reproduce`` writes its folder: ``write(partial)`` fills a file beside
    ``path``, which is renamed over ``path`` only when complete; an interrupted or failed write leaves
    the earlier file as it was and no partial file behind. The new file gets an ordinary file's mode
    (not mkstemp's 0600). OSError propagates for the caller to word."""
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.partial-", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    partial: Path | None = Path(name)
    try:
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(name, 0o666 & ~mask)
        write(Path(name))
        os.replace(name, path)
        partial = None
    finally:
        if partial is not None:
            partial.unlink(missing_ok=True)
