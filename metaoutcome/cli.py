"""The ``metaoutcome`` command line.

Commands
--------
``metaoutcome pool FILE [options]``
    Pool the outcomes in your own CSV: a table in the curated layout (``proportions``,
    ``medians``, ``hazard_ratios``; your own column names via ``--map YOURS=OURS``) or effect sizes
    you computed (``--yi`` with ``--vi``/``--sei``). Choose the outcome, measure, model, CI method
    and subgroup column; the result table is printed (text, CSV or Markdown) and ``--forest FILE``
    writes a forest plot (PDF, PNG or SVG). A file in the curated layout is validated first
    (:func:`metaoutcome.validation.validate_files`) and converted with the same
    ``metaoutcome.effects.from_*`` function the library uses, so the numbers are the library's.
``metaoutcome validate [PATH ...] [--table NAME] [--standalone]``
    Check the bundled data, or your own CSVs of the same layout; every problem is printed as
    ``file:row:column: message``; exit status 1 when there are errors.
``metaoutcome list``
    The bundled tables with their sizes.
``metaoutcome reproduce [--out DIR] [--only NAMES] [--jobs N]``
    Validate the bundled data, then run every bundled analysis and write its outputs to DIR:
    figures, tables, ``report.html`` and ``manifest.json``.

Every command's ``--help`` documents each option and ends with examples. A usage or input error
prints one line per problem on stderr, ``metaoutcome COMMAND: error: ...``, naming the file, row
and column or the option, and exits with status 2 (``--traceback`` shows the Python traceback).

>>> args = build_parser().parse_args(["pool", "my_hazard_ratios.csv", "--ci-method", "KNHA"])
>>> args.method, args.ci_method, args.level
('REML', 'knha', 95.0)
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import os
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from .results import PoolResult
    from .subgroups import SubgroupResult

__all__ = ["main", "build_parser"]

#: Outcome tables ``pool`` reads in the curated layout (datapackage.json).
POOL_TABLES: tuple[str, ...] = ("proportions", "medians", "hazard_ratios")
#: Model choices, as :func:`metaoutcome.pooling.pool` (kept here so ``--help`` does not import scipy).
METHODS: tuple[str, ...] = ("REML", "DL", "HE", "HS", "SJ", "ML", "EB", "PM", "FE", "EE", "CE")
CI_METHODS: tuple[str, ...] = ("z", "t", "knha", "adhoc")
PI_METHODS: tuple[str, ...] = ("default", "hts")
LAYOUTS: tuple[str, ...] = ("default", "revman", "jama")
FORMATS: tuple[str, ...] = ("text", "csv", "markdown")
FIGURE_TYPES: tuple[str, ...] = ("pdf", "png", "svg")

_EFFECTS = "effect sizes"  # the mode of a file of yi and vi/sei
_OUTCOME_COLUMN = {"proportions": "outcome", "medians": "outcome", "hazard_ratios": "endpoint"}
_ARM_COLUMN = {"proportions": "arm", "medians": "arm", "hazard_ratios": "experimental_arm"}
_TRIAL_COLUMNS = ("short_name", "nct_id", "phase", "design", "cancer", "setting")
_LABEL_COLUMNS = ("short_name", "label", "trial_id", "trial", "study", "study_id", "slab")
_EFFECT_TARGETS = ("yi", "vi", "sei")


class CLIError(Exception):
    """A problem the user can fix; each line is printed as one error line, exit status 2."""

    def __init__(self, *lines: str) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line usage error: ``metaoutcome pool: error: ... (see ... --help)``."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def _one_line(text: str) -> str:
    return " ".join(part.strip() for part in str(text).splitlines() if part.strip())


# ------------------------------------------------------------------------------------------------
# list, validate, reproduce
# ------------------------------------------------------------------------------------------------


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
    result = run_all(out, only=only, progress=lambda line: print(line, flush=True), show_traceback=args.traceback,
                     jobs=args.jobs)
    elapsed = time.perf_counter() - start
    if not result.ok:
        print(f"reproduce: {len(result.failures)} analysis(es) failed: {', '.join(result.failures)}", file=sys.stderr)
        return 1
    print(f"done in {elapsed:.1f} s: open {result.report}; hashes of inputs and outputs in {result.manifest}")
    return 0


# ------------------------------------------------------------------------------------------------
# pool: reading the file
# ------------------------------------------------------------------------------------------------


@dataclass
class _CSV:
    """A CSV as read: header (after ``--map``), every record after it, and a frame of the data rows.

    The frame holds text (None for an empty cell) and is indexed by the spreadsheet row number
    (the header is row 1), so every message can name the row as the user sees it.
    """

    path: str
    header: list[str]
    records: list[list[str]]
    frame: pd.DataFrame
    renamed: dict[str, str] = field(default_factory=dict)  # our column -> the user's

    def user_column(self, column: str) -> str:
        return self.renamed.get(column, column)


def _read_csv(path: str, option: str | None = None) -> _CSV:
    import pandas as pd

    where = f"{option} {path}" if option else path
    p = Path(path)
    if not p.exists():
        raise CLIError(f"{where}: no such file")
    if not p.is_file():
        raise CLIError(f"{where}: not a file")
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise CLIError(f"{where}: cannot read the file ({exc.strerror or exc})") from exc
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise CLIError(f"{path}:{line}: not valid UTF-8 (byte 0x{data[exc.start]:02x}); save the file as UTF-8") from exc
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        records = list(reader)
    except csv.Error as exc:
        raise CLIError(f"{path}:{reader.line_num}: not a readable CSV file ({exc})") from exc
    if not records or not any(c.strip() for c in records[0]):
        raise CLIError(f"{path}: the file is empty (expected a header row and data rows)")
    header = [h.strip() for h in records[0]]
    if len(header) == 1 and (";" in header[0] or "\t" in header[0]):
        sep = "semicolons" if ";" in header[0] else "tabs"
        raise CLIError(f"{path}:1: the header is one column {header[0]!r}: the file looks separated by {sep}; "
                       "save it as comma-separated CSV")
    seen: set[str] = set()
    for i, h in enumerate(header):
        if not h:
            raise CLIError(f"{path}:1:column {i + 1}: the header cell is empty; every column needs a name")
        if h in seen:
            raise CLIError(f"{path}:1:{h}: the column appears more than once in the header")
        seen.add(h)
    rows: list[list[str | None]] = []
    index: list[int] = []
    for i, rec in enumerate(records[1:]):
        rowno = i + 2
        if not any(c.strip() for c in rec):
            continue
        if len(rec) != len(header):
            raise CLIError(f"{path}:{rowno}: the row has {len(rec)} field{'s' * (len(rec) != 1)} but the header has {len(header)}")
        rows.append([c.strip() or None for c in rec])
        index.append(rowno)
    if not rows:
        raise CLIError(f"{path}: the file has a header but no data rows")
    frame = pd.DataFrame(rows, columns=header, index=pd.Index(index, name="file_row"), dtype=object)
    return _CSV(path, header, records[1:], frame)


def _apply_map(data: _CSV, items: Sequence[str]) -> None:
    """Rename the user's columns to ours (``--map YOURS=OURS``, repeatable)."""
    mapping: dict[str, str] = {}
    for item in items:
        user, sep, ours = item.partition("=")
        user, ours = user.strip(), ours.strip()
        if not sep or not user or not ours:
            raise CLIError(f"--map {item!r}: expected YOUR_COLUMN=OUR_COLUMN, e.g. --map HR=hr")
        if user not in data.header:
            raise CLIError(f"--map {item}: {data.path} has no column {user!r}; its columns: {', '.join(data.header)}")
        if user in mapping:
            raise CLIError(f"--map {item}: column {user!r} is mapped twice")
        if ours in mapping.values():
            raise CLIError(f"--map {item}: two columns are mapped to {ours!r}")
        mapping[user] = ours
    for user, ours in mapping.items():
        if ours in data.header and ours not in mapping:
            raise CLIError(f"--map {user}={ours}: {data.path} already has a column {ours!r}; map or rename that one too")
    if mapping:
        data.header = [mapping.get(h, h) for h in data.header]
        data.frame = data.frame.rename(columns=mapping)
        data.renamed = {ours: user for user, ours in mapping.items()}


def _mode(args: argparse.Namespace, data: _CSV) -> str:
    """What the file holds: one of :data:`POOL_TABLES`, or effect sizes."""
    cols = set(data.header)
    if args.yi or args.vi or args.sei:
        if args.table:
            raise CLIError(f"--table {args.table}: --yi/--vi/--sei give effect sizes directly; use one or the other")
        return _EFFECTS
    if args.table:
        return str(args.table)
    fits = []
    if "hr" in cols:
        fits.append("hazard_ratios")
    if "median" in cols:
        fits.append("medians")
    if "n" in cols and cols & {"events", "percent"} and "median" not in cols:
        fits.append("proportions")
    if "yi" in cols and cols & {"vi", "sei"}:
        fits.append(_EFFECTS)
    if len(fits) == 1:
        return fits[0]
    if len(fits) > 1:
        raise CLIError(f"{data.path}: cannot tell which table this is: its columns fit {' and '.join(fits)}; "
                       f"pass --table ({', '.join(POOL_TABLES)}) or --yi with --vi/--sei")
    raise CLIError(
        f"{data.path}: cannot tell what the file holds (columns: {', '.join(data.header)}); pass --table "
        f"({', '.join(POOL_TABLES)}) and --map YOUR_COLUMN=OUR_COLUMN for renamed columns, or --yi with --vi/--sei"
    )


def _check_map_targets(data: _CSV, mode: str) -> None:
    from ._schema import package_tables

    allowed = list(_EFFECT_TARGETS) if mode == _EFFECTS else package_tables()[mode].field_names
    for ours, user in data.renamed.items():
        if ours not in allowed:
            what = "effect-size columns" if mode == _EFFECTS else f"columns of the {mode} layout"
            raise CLIError(f"--map {user}={ours}: {ours!r} is not one of the {what}: {', '.join(allowed)}")


def _require_columns(data: _CSV, table: str) -> None:
    cols = set(data.header)
    needed = {"hazard_ratios": ["hr"], "medians": ["median"], "proportions": ["n"]}[table]
    if table == "proportions" and not cols & {"events", "percent"}:
        needed = [*needed, "events"]
    for col in needed:
        if col not in cols:
            alt = " (or 'percent')" if col == "events" else ""
            raise CLIError(f"{data.path}:1:{col}: missing column {col!r}{alt}, needed to pool a {table} table "
                           f"(its columns: {', '.join(data.header)}; rename yours with --map YOURS={col})")


# ------------------------------------------------------------------------------------------------
# pool: validation against the curated layout
# ------------------------------------------------------------------------------------------------


def _pooling_columns(table: str) -> set[str]:
    """Columns of ``table`` the effect-size step reads (plus the CI and the row-replacement links)."""
    from .effects.hazard_ratios import HR_COLUMNS
    from .effects.medians import MEDIAN_COLUMNS
    from .effects.proportions import PROPORTION_COLUMNS

    cols = {"proportions": PROPORTION_COLUMNS, "medians": MEDIAN_COLUMNS, "hazard_ratios": HR_COLUMNS}[table]
    return set(cols) | {"ci_low", "ci_high", "ci_level", "superseded_by", "shared_control"}


def _validate(data: _CSV, table: str, extra: Sequence[tuple[_CSV, str]], against_bundled: bool,
              used: set[str]) -> list[str]:
    """Validate the file (and any --trials/--sources files) and return the warning lines.

    A file with every required column of its table is checked as the curated layout (every
    problem counts). A file with only some columns is checked in the columns pooling uses; its
    other cells, and references to trials and sources, are not the curated layout's business.
    Errors raise :class:`CLIError` with one ``file:row:column: message`` line each.
    """
    from ._schema import package_tables
    from .validation import validate_files

    tables = package_tables()
    keep_partial = {"trials": {"trial_id", "short_name"}, "sources": {"source_id"}}
    inputs = [(data, table), *extra]
    by_path: dict[str, tuple[_CSV, set[str] | None]] = {}
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="metaoutcome-") as tmp:
        paths = []
        for f, name in inputs:
            copy = Path(tmp) / f"{name}.csv"  # named after its table, so the validator reads it as one
            with copy.open("w", encoding="utf-8", newline="") as out:
                writer = csv.writer(out)
                writer.writerow(f.header)
                writer.writerows(f.records)
            missing = [fl.name for fl in tables[name].fields if fl.required and fl.name not in f.header]
            keep: set[str] | None = None
            if missing:
                keep = _pooling_columns(name) if name in POOL_TABLES else keep_partial[name]
                shown = ", ".join(missing[:5]) + (", ..." if len(missing) > 5 else "")
                notes.append(f"note: {f.path} has only some columns of the {name} layout (not {shown}); "
                             "checked the columns pooling uses, not the provenance")
            by_path[str(copy)] = (f, keep)
            paths.append(copy)
        report = validate_files(paths, against_bundled=against_bundled)
    errors: list[str] = []
    for prob in report.problems:
        f, keep = by_path[prob.path]
        if prob.severity == "warning" and prob.message.startswith("unknown column") and prob.column in used:
            continue  # a column of the user's own that the command uses (--subgroup, --label, --where)
        if keep is not None and prob.column is not None and prob.column not in keep:
            continue
        row = "-" if prob.row is None else str(prob.row)
        col = f.user_column(prob.column) if prob.column else "-"
        line = f"{f.path}:{row}:{col}: {prob.message}"
        if prob.severity == "error":
            errors.append(line)
        else:
            notes.append(f"warning: {line}")
    if errors:
        raise CLIError(*errors)
    return notes


def _typed(data: _CSV, table: str) -> pd.DataFrame:
    """The frame with the table's numeric columns as numbers (text elsewhere)."""
    import pandas as pd

    from ._schema import package_tables

    frame = data.frame.copy()
    for fl in package_tables()[table].fields:
        if fl.type in ("integer", "number") and fl.name in frame.columns:
            numbers = pd.to_numeric(frame[fl.name], errors="coerce")
            bad = numbers.isna() & frame[fl.name].notna()
            if bad.any():
                row = bad.idxmax()
                raise CLIError(f"{data.path}:{row}:{data.user_column(fl.name)}: {frame.at[row, fl.name]!r} is not a number")
            frame[fl.name] = numbers.astype(float)
    return frame


def _effect_frame(data: _CSV, args: argparse.Namespace) -> pd.DataFrame:
    """A file of effect sizes: ``yi`` and ``vi`` from the named columns, rows without them excluded."""
    import numpy as np
    import pandas as pd

    cols = data.header
    yi = args.yi or ("yi" if "yi" in cols else None)
    if yi is None:
        raise CLIError("--vi/--sei need --yi COLUMN (the column of effect sizes on the analysis scale)")
    if args.vi and args.sei:
        raise CLIError(f"--vi {args.vi} and --sei {args.sei}: give the variance or the standard error, not both")
    if args.vi:
        option, var = "--vi", str(args.vi)
    elif args.sei:
        option, var = "--sei", str(args.sei)
    elif "vi" in cols or "sei" in cols:
        option, var = ("--vi", "vi") if "vi" in cols else ("--sei", "sei")
    else:
        raise CLIError(f"--yi {yi}: name the variance column with --vi COLUMN or the standard error with --sei COLUMN")
    frame = data.frame.copy()
    values: dict[str, Any] = {}
    for opt, col in (("--yi", yi), (option, var)):
        if col not in frame.columns:
            raise CLIError(f"{opt} {col}: {data.path} has no column {col!r}; its columns: {', '.join(cols)}")
        numbers = pd.to_numeric(frame[col], errors="coerce")
        bad = (numbers.isna() & frame[col].notna()) | np.isinf(numbers)
        if bad.any():
            row = bad.idxmax()
            raise CLIError(f"{data.path}:{row}:{data.user_column(col)}: {frame.at[row, col]!r} is not a number")
        if opt != "--yi" and (numbers <= 0).any():
            row = (numbers <= 0).idxmax()
            raise CLIError(f"{data.path}:{row}:{data.user_column(col)}: {opt[2:]} must be > 0; got {frame.at[row, col]}")
        values[opt] = numbers.astype(float)
    frame["yi"] = values["--yi"]
    frame["vi"] = values[option] ** 2 if option == "--sei" else values[option]
    reasons = []
    for y, v in zip(frame["yi"], values[option]):
        missing = [data.user_column(c) for c, x in ((yi, y), (var, v)) if math.isnan(x)]
        reasons.append(f"no value in {' and '.join(repr(m) for m in missing)}" if missing else None)
    frame["exclusion_reason"] = reasons
    return frame


# ------------------------------------------------------------------------------------------------
# pool: trial metadata, selection, effect sizes, labels
# ------------------------------------------------------------------------------------------------


def _join_trials(frame: pd.DataFrame, trials: _CSV | None, standalone: bool) -> pd.DataFrame:
    """Add trial columns (short name, cancer, phase ...) from the bundled trials and/or --trials."""
    import pandas as pd

    if "trial_id" not in frame.columns:
        return frame
    parts = []
    if not standalone:
        from .datasets import load_dataset

        parts.append(load_dataset("trials").astype(object))
    if trials is not None:
        parts.append(trials.frame)
    if not parts:
        return frame
    meta = pd.concat(parts, ignore_index=True).drop_duplicates("trial_id", keep="last").set_index("trial_id")
    out = frame.copy()
    for col in _TRIAL_COLUMNS:
        if col in meta.columns and col not in out.columns:
            out[col] = out["trial_id"].map(meta[col]).astype(object)
            out[col] = out[col].where(out[col].notna(), None)
    return out


def _outcome_column(mode: str, frame: pd.DataFrame) -> str | None:
    if mode in _OUTCOME_COLUMN:
        return _OUTCOME_COLUMN[mode]
    return next((c for c in ("outcome", "endpoint") if c in frame.columns), None)


def _select(frame: pd.DataFrame, data: _CSV, mode: str, args: argparse.Namespace) -> tuple[pd.DataFrame, list[str]]:
    """Rows of the chosen outcome and ``--where`` conditions; the conditions in words."""
    said: list[str] = []
    ocol = _outcome_column(mode, frame)
    if ocol is not None and ocol in frame.columns:
        present = [str(v) for v in dict.fromkeys(frame[ocol].dropna())]
        if args.outcome:
            match = [v for v in present if v.lower() == args.outcome.lower()]
            if not match:
                raise CLIError(f"--outcome {args.outcome}: no row of {data.path} has {data.user_column(ocol)} "
                               f"{args.outcome!r}; present: {', '.join(present) or 'none'}")
            frame = frame[frame[ocol] == match[0]]
            said.append(f"{data.user_column(ocol)} = {match[0]}")
        elif len(present) > 1:
            raise CLIError(f"{data.path} holds several outcomes in column {data.user_column(ocol)!r} "
                           f"({', '.join(present)}); choose one with --outcome")
    elif args.outcome:
        raise CLIError(f"--outcome {args.outcome}: {data.path} has no {ocol or 'outcome'!r} column to select rows by")
    for item in args.where:
        col, sep, value = item.partition("=")
        col, value = col.strip(), value.strip()
        if not sep or not col:
            raise CLIError(f"--where {item!r}: expected COLUMN=VALUE, e.g. --where population=ITT")
        if col not in frame.columns:
            raise CLIError(f"--where {item}: {data.path} has no column {col!r}; its columns: {', '.join(map(str, frame.columns))}")
        # compare with the cell as written in the file (a trial column: as in the trials table)
        cells = data.frame[col].reindex(frame.index) if col in data.frame.columns else frame[col]
        keep = cells.astype(str).str.strip() == value
        if not keep.any():
            present = [str(v) for v in dict.fromkeys(cells.dropna())]
            shown = ", ".join(present[:10]) + (", ..." if len(present) > 10 else "")
            raise CLIError(f"--where {item}: no selected row of {data.path} has {col} {value!r}; present: {shown or 'none'}")
        frame = frame[keep]
        said.append(f"{col} = {value}")
    return frame, said


def _effect_sizes(frame: pd.DataFrame, mode: str, measure: str, data: _CSV) -> tuple[pd.DataFrame, list[str]]:
    """yi/vi with the library's converter; notes on assumptions and combined comparisons."""
    import pandas as pd

    from . import effects

    notes: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            if mode == "proportions":
                es = effects.from_proportions(frame, measure=measure, on_invalid="exclude")
            elif mode == "medians":
                es = effects.from_medians(frame, on_invalid="exclude")
            elif mode == "hazard_ratios":
                es = effects.from_hazard_ratios(frame, on_invalid="exclude")
            else:
                es = frame.copy()
                es.attrs["measure"] = measure
        except ValueError as exc:
            raise CLIError(f"{data.path}: {_one_line(str(exc))}") from exc
    # excluded rows are listed with the result; other warnings are notes
    notes += [f"warning: {_one_line(str(w.message))}" for w in caught if not issubclass(w.category, effects.ExclusionWarning)]
    if "ci_level_assumed" in es.columns:
        assumed = es.index[es["ci_level_assumed"].astype(bool) & es["yi"].notna()]
        if len(assumed):
            notes.append(f"note: {data.path}: rows {', '.join(map(str, assumed))} give a CI without its level "
                         f"({data.user_column('ci_level')!r} empty or absent); taken as 95% CIs")
    if mode == "hazard_ratios" and "shared_control" in es.columns:
        groups = es["shared_control"].where(es["yi"].notna()).dropna().astype(str)
        shared = groups[groups.str.len() > 0]
        if shared.duplicated().any():
            es = es.assign(_file_row=es.index)
            combined = effects.combine_shared_control(es)
            combined.index = pd.Index(combined.pop("_file_row").astype(int), name="file_row")
            for col in ("yi", "vi"):
                combined[col] = pd.to_numeric(combined[col]).astype(float)
            for _, row in combined[combined["combined_from"].notna()].iterrows():
                notes.append(f"note: {data.path}: {row['combined_from']} share a control arm "
                             f"({row['shared_control']}); pooled as one comparison (effects.combine_shared_control)")
            es = combined
    arm = _ARM_COLUMN.get(mode)
    if "trial_id" in es.columns and arm is not None:
        keys = ["trial_id", *([arm] if arm in es.columns else [])]
        pooled = es.loc[es["yi"].notna(), keys].astype(str)
        for values, grp in pooled[pooled.duplicated(keep=False)].groupby(keys, sort=False):
            what = " and ".join(keys)
            notes.append(f"warning: {data.path}: rows {', '.join(map(str, grp.index))} have the same {what} "
                         f"({', '.join(map(str, values if isinstance(values, tuple) else (values,)))}); if their "
                         "patients overlap (a subset, an earlier analysis), keep one with --where or superseded_by")
    return es, notes


def _labels(es: pd.DataFrame, mode: str, data: _CSV, label: str | None) -> list[str]:
    """Study labels: --label, else the trial's short name (arm added where a trial repeats)."""
    if label is not None:
        if label not in es.columns:
            raise CLIError(f"--label {label}: {data.path} has no column {label!r}; its columns: {', '.join(map(str, es.columns))}")
        return [str(v) if v is not None and v == v else f"row {i}" for i, v in zip(es.index, es[label])]
    sources = [c for c in _LABEL_COLUMNS if c in es.columns]
    out = []
    for i, row in es.iterrows():
        name = next((str(row[c]) for c in sources if row[c] is not None and row[c] == row[c]), f"row {i}")
        out.append(name)
    pooled = es["yi"].notna().to_numpy()
    arm = _ARM_COLUMN.get(mode)
    for extra in ([arm] if arm and arm in es.columns else []) + [None]:
        counts: dict[str, int] = {}
        for name, p in zip(out, pooled):
            if p:
                counts[name] = counts.get(name, 0) + 1
        if not any(n > 1 for n in counts.values()):
            break
        for k, (i, p) in enumerate(zip(es.index, pooled)):
            if p and counts[out[k]] > 1:
                add = str(es.at[i, extra]).replace("_", " ") if extra else f"row {i}"
                out[k] = f"{out[k]} ({add})"
    return out


# ------------------------------------------------------------------------------------------------
# pool: the command
# ------------------------------------------------------------------------------------------------


def _check_figure_path(path: str | None) -> Path | None:
    if path is None:
        return None
    p = Path(path)
    suffix = p.suffix.lower().lstrip(".")
    if suffix not in FIGURE_TYPES:
        got = f"'.{suffix}'" if suffix else "no file type"
        raise CLIError(f"--forest {path}: {got} is not a figure type; use {', '.join('.' + t for t in FIGURE_TYPES)}")
    if not p.parent.is_dir():
        raise CLIError(f"--forest {path}: the folder {str(p.parent)!r} does not exist")
    return p


def _measure_for(mode: str, given: str | None) -> str:
    from .measures import MEASURES, get_measure

    if mode == "proportions":
        from .effects.proportions import PROPORTION_MEASURES

        allowed: tuple[str, ...] = PROPORTION_MEASURES
        default = "PLO"
    elif mode == "hazard_ratios":
        allowed, default = ("HR",), "HR"
    elif mode == "medians":
        allowed, default = ("MED",), "MED"
    else:
        allowed, default = tuple(MEASURES), "GEN"
    if given is None:
        return default
    match = [a for a in allowed if a.lower() == given.lower()]
    if not match:
        what = "effect sizes" if mode == _EFFECTS else f"a {mode} table"
        raise CLIError(f"--measure {given}: not a measure for {what}; choose one of {', '.join(allowed)}")
    return get_measure(match[0]).name


def _pool(es: pd.DataFrame, data: _CSV, measure: str, args: argparse.Namespace) -> tuple[PoolResult | SubgroupResult, list[str]]:
    from .pooling import pool
    from .subgroups import subgroup_analysis

    usable = es["yi"].notna() & es["vi"].notna()
    if not usable.any():
        reasons = [f"row {i}: {r}" for i, r in zip(es.index, es["exclusion_reason"])][:3]
        more = f"; and {len(es) - 3} more" if len(es) > 3 else ""
        raise CLIError(f"{data.path}: none of the {len(es)} selected rows can be pooled ({'; '.join(reasons)}{more})")
    kwargs: dict[str, Any] = dict(measure=measure, method=args.method, ci_method=args.ci_method, level=args.level,
                                  pi_method=args.pi_method)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result: PoolResult | SubgroupResult
            if args.subgroup:
                result = subgroup_analysis(es, by=args.subgroup, labels="label", **kwargs)
                shown = set(result.overall.notes)
            else:
                result = pool(es, labels="label", **kwargs)
                shown = set(result.notes)
        except ValueError as exc:
            raise CLIError(f"{data.path}: {_one_line(str(exc))}") from exc
    notes = [f"warning: {_one_line(str(w.message))}" for w in caught if str(w.message) not in shown]
    return result, list(dict.fromkeys(notes))


def _subgroup_csv(sg: SubgroupResult) -> pd.DataFrame:
    table = sg.table()
    last = table.index[-1]  # the overall row carries the test for subgroup differences
    for col, value in (("q_between", sg.q_between), ("q_between_df", sg.q_between_df), ("q_between_pvalue", sg.q_between_pvalue)):
        table[col] = float("nan")
        table.loc[last, col] = value
    return table


def _render(result: PoolResult | SubgroupResult, fmt: str, heading: str, notes: Sequence[str]) -> str:
    """The printed result: the library's own views, after a heading and the notes on the input."""
    from .results import PoolResult

    if fmt == "csv":  # the tidy table only (the notes go to stderr)
        table = result.summary() if isinstance(result, PoolResult) else _subgroup_csv(result)
        return str(table.to_csv(index=False))
    if fmt == "markdown":
        head = heading + "".join(f"\n- {n}" for n in notes)
        if isinstance(result, PoolResult):
            return f"{head}\n\n{result.to_markdown()}\n"
        text = f"{head}\n\n{result.overall.to_markdown()}\n\n**Subgroups by {result.by}**\n\n{result.to_markdown()}"
        if result.excluded:
            text += "\nNot pooled: " + "; ".join(f"{lab} ({why})" for lab, why in result.excluded) + "\n"
        return text
    head = heading + (("\nInput notes:" + "".join(f"\n  - {n}" for n in notes)) if notes else "")
    if isinstance(result, PoolResult):
        return f"{head}\n\n{result}\n"
    return f"{head}\n\n{result.overall}\n\n{result}\n"


def _cmd_pool(args: argparse.Namespace) -> int:
    from .measures import get_measure
    from .results import PoolResult

    figure = _check_figure_path(args.forest)
    data = _read_csv(args.file)
    _apply_map(data, args.map)
    mode = _mode(args, data)
    _check_map_targets(data, mode)
    measure = _measure_for(mode, args.measure)
    trials = _read_csv(args.trials, "--trials") if args.trials else None
    sources = _read_csv(args.sources, "--sources") if args.sources else None
    if trials is not None and "trial_id" not in trials.header:
        raise CLIError(f"{trials.path}:1:trial_id: missing column 'trial_id' (--trials names each trial by its trial_id)")
    used = {c for c in (args.subgroup, args.label) if c} | {w.partition("=")[0].strip() for w in args.where}
    notes: list[str] = []
    if mode == _EFFECTS:
        frame = _effect_frame(data, args)
    else:
        _require_columns(data, mode)
        extra = [(f, name) for f, name in ((trials, "trials"), (sources, "sources")) if f is not None]
        notes += _validate(data, mode, extra, against_bundled=not args.standalone, used=used)
        frame = _typed(data, mode)
    frame = _join_trials(frame, trials, args.standalone)
    for option, col in (("--subgroup", args.subgroup), ("--label", args.label)):
        if col and col not in frame.columns:
            raise CLIError(f"{option} {col}: {data.path} has no column {col!r}; its columns: {', '.join(map(str, frame.columns))}")
    n_rows = len(frame)
    frame, said = _select(frame, data, mode, args)
    es, more = _effect_sizes(frame, mode, measure, data)
    notes += more
    es = es.assign(label=_labels(es, mode, data, args.label))
    result, more = _pool(es, data, measure, args)
    notes += more
    m = get_measure(measure)
    what = "effect sizes" if mode == _EFFECTS else f"{mode} table"
    heading = (f"Data: {data.path} ({what}), {len(frame)} of {n_rows} rows"
               + (f" where {' and '.join(said)}" if said else "") + f"; measure {m.name} ({m.description})")
    if args.format == "csv":  # stdout holds the table only: the notes go to stderr
        if not isinstance(result, PoolResult):  # the subgroup table has no rows for those not pooled
            notes += [f"note: not pooled: {lab} ({why})" for lab, why in result.excluded]
        for note in notes:
            print(f"metaoutcome pool: {note}", file=sys.stderr)
    sys.stdout.write(_render(result, args.format, heading, [] if args.format == "csv" else notes))
    if figure is not None:
        _write_forest(result, figure, args.layout)
        print(f"metaoutcome pool: wrote {figure}", file=sys.stderr)
    return 0


def _write_forest(result: PoolResult | SubgroupResult, path: Path, layout: str) -> None:
    from .plotting import forest, savefig
    from .results import PoolResult

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # everything worth saying was said with the result
        fig = forest(result, layout=layout) if isinstance(result, PoolResult) else result.forest(layout=layout)
        try:
            savefig(fig, path)
        except OSError as exc:
            raise CLIError(f"--forest {path}: cannot write the file ({exc.strerror or exc})") from exc


# ------------------------------------------------------------------------------------------------
# the parser
# ------------------------------------------------------------------------------------------------


def _choice(allowed: Sequence[str]) -> Callable[[str], str]:
    """An argparse ``type`` accepting ``allowed`` in any case and returning the canonical spelling."""

    def parse(text: str) -> str:
        for a in allowed:
            if text.lower() == a.lower():
                return a
        raise argparse.ArgumentTypeError(f"{text!r} is not one of {', '.join(allowed)}")

    parse.__name__ = "choice"
    return parse


def _level(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value < 100:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number in (0, 100), e.g. 95")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number, e.g. 2")
    return value


def _add_traceback(p: argparse.ArgumentParser) -> None:
    p.add_argument("--traceback", action="store_true", default=argparse.SUPPRESS,
                   help="on an error, show the Python traceback instead of the one-line message")


def _examples(*lines: str) -> str:
    return "Examples:\n" + "\n".join(f"  {line}" for line in lines)


_POOL_DESCRIPTION = """\
Pool the outcomes in your own CSV file and print the result; optionally draw a forest plot.

What the file may hold (--table, or told from the columns):
  hazard_ratios  hr with ci_low, ci_high (and ci_level) or a p_value (and p_sided); endpoint
  proportions    events (or percent) and n; outcome (ORR, DCR ...)
  medians        median with ci_low, ci_high (ci_high_nr) and ci_level, or events; outcome
  effect sizes   your own yi with vi or sei (--yi, --vi, --sei), on the analysis scale
The columns are those of the bundled tables (metaoutcome validate --help;
metaoutcome.datasets.describe("hazard_ratios")); rename yours with --map YOURS=OURS.
A file with every column of the curated layout (row_id, trial_id, printed, source_id ...) is
validated as such; a file with only some columns is checked in the columns pooling uses. Each
problem is one line, file:row:column: message (row 1 is the header).

Effect sizes come from the library's own converters (metaoutcome.effects.from_hazard_ratios,
from_proportions, from_medians); comparisons sharing a control arm (shared_control) are combined
first. The printout is PoolResult's (metafor-style); every row that is not pooled is listed with
the reason. Trial names and columns (short_name, cancer, phase, setting ...) come from the
bundled trials and from --trials, for labels, --subgroup and --where.

Exit status: 0 done; 2 a usage or data problem (one line each on stderr).
"""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``metaoutcome`` command (one sub-parser per command)."""
    from .measures import MEASURES

    formatter = argparse.RawDescriptionHelpFormatter
    parser = _Parser(
        prog="metaoutcome",
        description="Meta-analysis of the outcomes oncology trials report, with a curated evidence base.",
        epilog=_examples(
            "metaoutcome pool my_hazard_ratios.csv --outcome OS --forest os.pdf",
            "metaoutcome validate my_trials.csv my_proportions.csv",
            "metaoutcome list",
            "metaoutcome reproduce --out results",
            "metaoutcome COMMAND --help     (the options of each command)",
        ),
        formatter_class=formatter,
    )
    parser.add_argument("--traceback", action="store_true", help="on an error, show the Python traceback")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    # -- pool -------------------------------------------------------------------------------------
    p = sub.add_parser(
        "pool", help="pool your own CSV (hazard ratios, proportions, medians or effect sizes)",
        description=_POOL_DESCRIPTION, formatter_class=formatter,
        epilog=_examples(
            "# OS hazard ratios, REML with Hartung-Knapp-Sidik-Jonkman CIs, forest plot",
            "metaoutcome pool my_hrs.csv --table hazard_ratios --outcome OS --method REML --ci-method knha --forest os.pdf",
            "# ORR by regimen class (logit proportions), RevMan-style forest plot",
            "metaoutcome pool my_orr.csv --outcome ORR --measure PLO --subgroup regimen_class --forest orr.png --layout revman",
            "# your own column names: --map YOUR_COLUMN=OUR_COLUMN, repeated",
            "metaoutcome pool trials.csv --table hazard_ratios --map HR=hr --map Lower=ci_low --map Upper=ci_high --label Study",
            "# effect sizes you computed: log HR and its standard error",
            "metaoutcome pool effects.csv --yi logHR --sei se --label study --measure HR",
            "metaoutcome pool effects.csv --yi yi --vi vi --method DL --level 90 --pi-method hts",
            "# your own trials and sources tables, not the bundled ones; only HCC trials",
            "metaoutcome pool my_medians.csv --trials my_trials.csv --sources my_sources.csv --standalone --where cancer=HCC",
            "# the result as CSV or Markdown; the Python traceback of an error",
            "metaoutcome pool my_hrs.csv --outcome PFS --format csv > pfs.csv",
            "metaoutcome pool my_hrs.csv --outcome PFS --format markdown --traceback",
        ),
    )
    p.add_argument("file", metavar="FILE", help="your CSV file (UTF-8, comma-separated, header in row 1)")
    g = p.add_argument_group("what the file holds")
    g.add_argument("--table", type=_choice(POOL_TABLES), metavar="{" + ",".join(POOL_TABLES) + "}",
                   help="the layout of FILE (default: told from its columns: hr, median, events/percent + n, yi + vi/sei)")
    g.add_argument("--map", action="append", default=[], metavar="YOURS=OURS",
                   help="read your column YOURS as our column OURS (repeatable), e.g. --map HR=hr --map 'Lower CI=ci_low'")
    g.add_argument("--yi", metavar="COLUMN", help="column of effect sizes on the analysis scale (log HR, logit p ...)")
    g.add_argument("--vi", metavar="COLUMN", help="column of their sampling variances (with --yi)")
    g.add_argument("--sei", metavar="COLUMN", help="column of their standard errors (with --yi; instead of --vi)")
    g.add_argument("--label", metavar="COLUMN",
                   help="column of study labels (default: the trial's short name, else trial_id, study ...)")
    g.add_argument("--trials", metavar="FILE",
                   help="your trials table (trial_id, short_name, cancer ...): names and columns for your trial_ids")
    g.add_argument("--sources", metavar="FILE",
                   help="your sources table, to which the source_id of FILE and --trials refer (curated layout)")
    g.add_argument("--standalone", action="store_true",
                   help="do not use the bundled trials and sources: references resolve only in --trials/--sources")
    g = p.add_argument_group("which rows")
    g.add_argument("--outcome", metavar="NAME",
                   help="pool this outcome (column 'outcome', or 'endpoint' for hazard ratios), e.g. OS, PFS, ORR, DCR; "
                        "needed when the file holds several")
    g.add_argument("--where", action="append", default=[], metavar="COLUMN=VALUE",
                   help="keep rows whose COLUMN equals VALUE (repeatable; all must hold), e.g. --where population=ITT")
    g = p.add_argument_group("the model (as metafor's escalc and rma)")
    measures = ", ".join(MEASURES)
    g.add_argument("--measure", metavar="NAME",
                   help="effect-size measure: proportions PLO (default), PR, PLN, PAS, PFT; hazard ratios HR; medians "
                        f"MED; effect sizes any of {measures} (default GEN)")
    g.add_argument("--method", type=_choice(METHODS), default="REML", metavar="{" + ",".join(METHODS) + "}",
                   help="tau^2 estimator of the random-effects model, or FE/EE/CE for a common effect (default: %(default)s)")
    g.add_argument("--ci-method", type=_choice(CI_METHODS), default="z", metavar="{" + ",".join(CI_METHODS) + "}",
                   help="CI of the pooled estimate: normal, t, Hartung-Knapp-Sidik-Jonkman, or HKSJ floored at 1 "
                        "(metafor test=; default: %(default)s)")
    g.add_argument("--level", type=_level, default=95.0, metavar="PERCENT",
                   help="confidence level of the pooled and per-study CIs (default: %(default)g)")
    g.add_argument("--pi-method", type=_choice(PI_METHODS), default="default", metavar="{" + ",".join(PI_METHODS) + "}",
                   help="prediction interval: metafor's predict, or Higgins-Thompson-Spiegelhalter (default: %(default)s)")
    g.add_argument("--subgroup", metavar="COLUMN",
                   help="pool within each value of COLUMN (e.g. regimen_class) and test for subgroup differences")
    g = p.add_argument_group("output")
    g.add_argument("--format", type=_choice(FORMATS), default="text", metavar="{" + ",".join(FORMATS) + "}",
                   help="the printed result: metafor-style text, the tidy CSV table, or Markdown (default: %(default)s)")
    g.add_argument("--forest", metavar="FILE", help="write a forest plot; the type from the name: .pdf, .png or .svg")
    g.add_argument("--layout", type=_choice(LAYOUTS), default="default", metavar="{" + ",".join(LAYOUTS) + "}",
                   help="forest-plot layout: metafor-like, Cochrane RevMan or JAMA (default: %(default)s)")
    _add_traceback(p)
    p.set_defaults(func=_cmd_pool)

    # -- validate -------------------------------------------------------------------------------
    p = sub.add_parser(
        "validate", help="check the bundled data or your own CSV files", formatter_class=formatter,
        description=(
            "Check CSV files against the curated-data layout (datapackage.json). Every problem is\n"
            "printed as file:row:column: message (row 1 is the header). Exit status 1 when there are\n"
            "errors, 2 on a usage problem."
        ),
        epilog=_examples(
            "metaoutcome validate",
            "metaoutcome validate my_trials.csv my_proportions.csv",
            "metaoutcome validate --table hazard_ratios extracted.csv",
            "metaoutcome validate --standalone my_sources.csv my_trials.csv my_medians.csv",
            "metaoutcome validate my_proportions.csv --traceback",
        ),
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
    _add_traceback(p)
    p.set_defaults(func=_cmd_validate)

    # -- list -----------------------------------------------------------------------------------
    p = sub.add_parser(
        "list", help="list the bundled datasets", description="List the bundled tables with their sizes.",
        formatter_class=formatter, epilog=_examples("metaoutcome list", "metaoutcome list --traceback"),
    )
    _add_traceback(p)
    p.set_defaults(func=_cmd_list)

    # -- reproduce ------------------------------------------------------------------------------
    p = sub.add_parser(
        "reproduce", help="validate the bundled data and run every bundled analysis", formatter_class=formatter,
        description=(
            "Validate the bundled data, run every bundled analysis and write its figures (PDF, PNG),\n"
            "tables (CSV, Markdown), one HTML report and a manifest of input and output hashes."
        ),
        epilog=_examples(
            "metaoutcome reproduce --out results",
            "metaoutcome reproduce --out results --only hcc_after_first_line",
            "metaoutcome reproduce --only nsclc_pd1_vs_docetaxel --traceback",
            "metaoutcome reproduce --jobs 1   # one analysis after another, in this process",
        ),
    )
    p.add_argument("--out", default="metaoutcome-results", metavar="DIR", help="output folder (default: %(default)s)")
    p.add_argument("--only", metavar="NAMES", help="comma-separated analyses to run (default: all)")
    p.add_argument("--jobs", type=_positive_int, metavar="N",
                   help="analyses run at once, each but the first in a worker process (default: one per CPU)")
    _add_traceback(p)
    p.set_defaults(func=_cmd_reproduce)
    from . import _cli_design  # ``metaoutcome design`` (its own module; hooked here)

    _cli_design.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (0 done, 1 data errors found, 2 usage error)."""
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
    except (CLIError, ValueError) as exc:
        if args.traceback:
            raise
        lines = exc.lines if isinstance(exc, CLIError) else (str(exc),)
        for line in lines:
            print(f"metaoutcome {args.command}: error: {_one_line(line)}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
