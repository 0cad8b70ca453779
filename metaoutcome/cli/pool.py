"""``metaoutcome pool``: pool the outcomes in your own CSV and print the result (and a forest plot).

The file is read by the one CSV reader (:func:`metaoutcome.csvfile.read_csv_file`), checked by the
validator (:func:`metaoutcome.validation.validate_files`), typed by the descriptor
(:func:`metaoutcome.csvfile.typed_frame`), joined to the trials (:func:`metaoutcome.datasets.
join_trials`) and converted by the library (``metaoutcome.effects.from_*``), so the numbers are
the library's; this module only chooses rows, labels and what to print.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..options import CI_METHOD_ALIASES, CI_METHOD_AMBIGUOUS, ci_method_option
from ._common import (
    CI_METHODS, FIGURE_TYPES, FORMATS, FORMATTER, LAYOUTS, METHODS, PI_METHODS, CLIError, add_map, add_traceback,
    choice, examples, level, one_line, parse_map, read_csv, write_whole,
)

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ..csvfile import CSVFile
    from ..results import PoolResult
    from ..subgroups import SubgroupResult

NAME = "pool"
ORDER = 10

#: Outcome tables ``pool`` reads in the curated layout (datapackage.json).
POOL_TABLES: tuple[str, ...] = ("proportions", "medians", "hazard_ratios")
_EFFECTS = "effect sizes"  # the mode of a file of yi and vi/sei
_OUTCOME_COLUMN = {"proportions": "outcome", "medians": "outcome", "hazard_ratios": "endpoint"}
_ARM_COLUMN = {"proportions": "arm", "medians": "arm", "hazard_ratios": "experimental_arm"}
_EFFECT_TARGETS = ("yi", "vi", "sei")


# ------------------------------------------------------------------------------------------------
# reading the file
# ------------------------------------------------------------------------------------------------


def _apply_map(data: CSVFile, items: Sequence[str]) -> None:
    """Rename the user's columns to ours (``--map YOURS=OURS``, repeatable)."""
    from ..csvfile import map_columns

    try:
        map_columns(data, parse_map(items), option="--map")
    except ValueError as exc:
        raise CLIError(str(exc)) from None


def _mode(args: argparse.Namespace, data: CSVFile) -> str:
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


def _check_map_targets(data: CSVFile, mode: str) -> None:
    from .._schema import package_tables

    allowed = list(_EFFECT_TARGETS) if mode == _EFFECTS else package_tables()[mode].field_names
    for ours, user in data.renamed.items():
        if ours not in allowed:
            what = "effect-size columns" if mode == _EFFECTS else f"columns of the {mode} layout"
            raise CLIError(f"--map {user}={ours}: {ours!r} is not one of the {what}: {', '.join(allowed)}")


def _require_columns(data: CSVFile, table: str) -> None:
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
# validation against the curated layout
# ------------------------------------------------------------------------------------------------


def _pooling_columns(table: str) -> set[str]:
    """Columns of ``table`` the effect-size step reads (plus the CI and the row-replacement links)."""
    from ..effects.hazard_ratios import HR_COLUMNS
    from ..effects.medians import MEDIAN_COLUMNS
    from ..effects.proportions import PROPORTION_COLUMNS

    cols = {"proportions": PROPORTION_COLUMNS, "medians": MEDIAN_COLUMNS, "hazard_ratios": HR_COLUMNS}[table]
    return set(cols) | {"ci_low", "ci_high", "ci_level", "superseded_by", "shared_control"}



def _validate(data: CSVFile, table: str, extra: Sequence[tuple[CSVFile, str]], against_bundled: bool,
              used: set[str]) -> tuple[list[str], dict[str, set[str] | None]]:
    """Validate the file (and any --trials/--sources files); return the warning lines and, per file,
    the columns checked (None: all).

    A file with every required column of its table is checked as the curated layout (every
    problem counts). A file with only some columns is checked in the columns pooling uses; its
    other cells, and references to trials and sources, are not the curated layout's business.
    Errors raise :class:`CLIError` with one ``file:row:column: message`` line each.
    """
    from .._schema import package_tables
    from ..validation import validate_files

    tables = package_tables()
    keep_partial = {"trials": {"trial_id", "short_name"}, "sources": {"source_id"}}
    inputs = [(data, table), *extra]
    kept: dict[str, set[str] | None] = {}
    notes: list[str] = []
    for f, name in inputs:
        missing = [fl.name for fl in tables[name].fields if fl.required and fl.name not in f.header]
        keep: set[str] | None = None
        if missing:
            keep = _pooling_columns(name) if name in POOL_TABLES else keep_partial[name]
            shown = ", ".join(missing[:5]) + (", ..." if len(missing) > 5 else "")
            notes.append(f"note: {f.path} has only some columns of the {name} layout (not {shown}); "
                         "checked the columns pooling uses, not the provenance")
        kept[f.path] = keep
    report = validate_files([f for f, _ in inputs], table=[name for _, name in inputs], against_bundled=against_bundled)
    files = {f.path: f for f, _ in inputs}
    errors: list[str] = []
    for prob in report.problems:
        f, keep = files[prob.path], kept[prob.path]
        if prob.severity == "warning" and prob.message.startswith("unknown column") and prob.column in used:
            continue  # a column of the user's own that the command uses (--subgroup, --label, --where)
        if prob.message.startswith("missing required column"):
            continue  # a file with only some columns: said in the note above
        if keep is not None and prob.column is not None and prob.column not in {f.user_column(c) for c in keep}:
            continue
        line = str(dataclasses.replace(prob, severity="error"))
        if prob.severity == "error":
            errors.append(line)
        else:
            notes.append(f"warning: {line}")
    if errors:
        raise CLIError(*errors)
    return notes, kept


def _typed(data: CSVFile, table: str, keep: set[str] | None) -> pd.DataFrame:
    """The frame with the table's columns typed by the descriptor (those pooling uses, for a file
    with only some columns); the user's other columns stay text."""
    from .._schema import package_tables
    from ..csvfile import typed_frame

    t = package_tables()[table]
    if keep is not None:
        t = dataclasses.replace(t, fields=tuple(fl for fl in t.fields if fl.name in keep))
    frame, problems = typed_frame(data, t, nullable=False)
    if problems:
        raise CLIError(*(str(p) for p in problems[:20]))
    return frame


def _effect_frame(data: CSVFile, args: argparse.Namespace) -> pd.DataFrame:
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
    frame = data.frame()
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
# trial metadata, selection, effect sizes, labels
# ------------------------------------------------------------------------------------------------


def _join_trials(frame: pd.DataFrame, trials: CSVFile | None, standalone: bool) -> pd.DataFrame:
    """Add trial columns (short name, cancer, phase ...) from the bundled trials and/or --trials."""
    from .._schema import package_tables
    from ..csvfile import typed_frame
    from ..datasets import join_trials

    if "trial_id" not in frame.columns or (standalone and trials is None):
        return frame
    own = typed_frame(trials, package_tables()["trials"])[0] if trials is not None else None
    out = join_trials(frame, trials=own, bundled=not standalone)
    for col in out.columns.difference(frame.columns):  # as the rest of the frame: objects, None if missing
        out[col] = out[col].astype(object).where(out[col].notna(), None)
    return out


def _outcome_column(mode: str, frame: pd.DataFrame) -> str | None:
    if mode in _OUTCOME_COLUMN:
        return _OUTCOME_COLUMN[mode]
    return next((c for c in ("outcome", "endpoint") if c in frame.columns), None)


def _select(frame: pd.DataFrame, data: CSVFile, mode: str, args: argparse.Namespace) -> tuple[pd.DataFrame, list[str]]:
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
    text = data.frame()  # the cells as written in the file
    for item in args.where:
        col, sep, value = item.partition("=")
        col, value = col.strip(), value.strip()
        if not sep or not col:
            raise CLIError(f"--where {item!r}: expected COLUMN=VALUE, e.g. --where population=ITT")
        if col not in frame.columns:
            raise CLIError(f"--where {item}: {data.path} has no column {col!r}; its columns: {', '.join(map(str, frame.columns))}")
        # compare with the cell as written in the file (a trial column: as in the trials table)
        cells = text[col].reindex(frame.index) if col in text.columns else frame[col]
        keep = cells.astype(str).str.strip() == value
        if not keep.any():
            present = [str(v) for v in dict.fromkeys(cells.dropna())]
            shown = ", ".join(present[:10]) + (", ..." if len(present) > 10 else "")
            raise CLIError(f"--where {item}: no selected row of {data.path} has {col} {value!r}; present: {shown or 'none'}")
        frame = frame[keep]
        said.append(f"{col} = {value}")
    return frame, said


def _effect_sizes(frame: pd.DataFrame, mode: str, measure: str, data: CSVFile) -> tuple[pd.DataFrame, list[str]]:
    """yi/vi with the library's converter; notes on assumptions and combined comparisons."""
    import pandas as pd

    from .. import effects

    notes: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            if mode in POOL_TABLES:
                es = effects.from_table(frame, mode, measure, on_invalid="exclude")
            else:
                es = frame.copy()
                es.attrs["measure"] = measure
        except ValueError as exc:
            raise CLIError(f"{data.path}: {one_line(str(exc))}") from exc
    # excluded rows are listed with the result; other warnings are notes
    notes += [f"warning: {one_line(str(w.message))}" for w in caught if not issubclass(w.category, effects.ExclusionWarning)]
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


def _labels(es: pd.DataFrame, mode: str, data: CSVFile, label: str | None) -> list[str]:
    """Study labels: --label, else the trial's short name (arm added where a trial repeats):
    :func:`metaoutcome._frontdoor.study_labels`."""
    from .._frontdoor import study_labels

    if label is not None and label not in es.columns:
        raise CLIError(f"--label {label}: {data.path} has no column {label!r}; its columns: {', '.join(map(str, es.columns))}")
    return study_labels(es, label, arm=_ARM_COLUMN.get(mode))


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
    from ..measures import MEASURES, get_measure

    if mode == "proportions":
        from ..effects.proportions import PROPORTION_MEASURES

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


def _pool(es: pd.DataFrame, data: CSVFile, measure: str, args: argparse.Namespace) -> tuple[PoolResult | SubgroupResult, list[str]]:
    from ..pooling import pool
    from ..subgroups import subgroup_analysis

    kwargs: dict[str, Any] = dict(measure=measure, method=args.method, ci_method=ci_method_option(args.ci_method, getattr(args, "test", None)), level=args.level,
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
            raise CLIError(f"{data.path}: {one_line(str(exc))}") from exc
    notes = [f"warning: {one_line(str(w.message))}" for w in caught if str(w.message) not in shown]
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
    from ..results import PoolResult

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


def run(args: argparse.Namespace) -> int:
    from ..measures import get_measure
    from ..results import PoolResult

    figure = _check_figure_path(args.forest)
    data = read_csv(args.file)
    if not data.rows:
        raise CLIError(f"{data.path}: the file has a header but no data rows")
    _apply_map(data, args.map)
    mode = _mode(args, data)
    _check_map_targets(data, mode)
    measure = _measure_for(mode, args.measure)
    trials = read_csv(args.trials, "--trials") if args.trials else None
    sources = read_csv(args.sources, "--sources") if args.sources else None
    if trials is not None and "trial_id" not in trials.header:
        raise CLIError(f"{trials.path}:1:trial_id: missing column 'trial_id' (--trials names each trial by its trial_id)")
    used = {c for c in (args.subgroup, args.label) if c} | {w.partition("=")[0].strip() for w in args.where}
    notes: list[str] = []
    if mode == _EFFECTS:
        notes += [f"warning: {dataclasses.replace(p, severity='error')}" for p in data.warnings]
        frame = _effect_frame(data, args)
    else:
        _require_columns(data, mode)
        extra = [(f, name) for f, name in ((trials, "trials"), (sources, "sources")) if f is not None]
        more, kept = _validate(data, mode, extra, against_bundled=not args.standalone, used=used)
        notes += more
        frame = _typed(data, mode, kept[data.path])
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
    from ..plotting import forest, savefig
    from ..results import PoolResult

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # everything worth saying was said with the result
        fig = forest(result, layout=layout) if isinstance(result, PoolResult) else result.forest(layout=layout)
        # written beside the file and renamed over it when complete: an interrupted run leaves the
        # earlier file as it was, never half a figure
        try:
            write_whole(path, lambda partial: savefig(fig, partial, format=path.suffix.lstrip(".").lower()))
        except OSError as exc:
            raise CLIError(f"--forest {path}: cannot write the file ({exc.strerror or exc})") from exc


# ------------------------------------------------------------------------------------------------
# the parser
# ------------------------------------------------------------------------------------------------


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



def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    from ..measures import MEASURES

    # -- pool -------------------------------------------------------------------------------------
    p: argparse.ArgumentParser = subparsers.add_parser(
        NAME, help="pool your own CSV (hazard ratios, proportions, medians or effect sizes)",
        description=_POOL_DESCRIPTION, formatter_class=FORMATTER,
        epilog=examples(
            "# OS hazard ratios, REML with Hartung-Knapp-Sidik-Jonkman CIs, forest plot",
            "metaoutcome pool my_hrs.csv --table hazard_ratios --outcome OS --method REML --ci-method knha --forest os.pdf",
            "# ORR by regimen class (logit proportions), RevMan-style forest plot",
            "metaoutcome pool my_orr.csv --outcome ORR --measure PLO --subgroup regimen_class --forest orr.png --layout revman",
            "# your own column names: --map YOUR_COLUMN=OUR_COLUMN, repeated",
            "metaoutcome pool trials.csv --table hazard_ratios --map HR=hr --map Lower=ci_low --map Upper=ci_high --label Study",
            "# effect sizes you computed: log HR and its standard error",
            "metaoutcome pool effects.csv --yi logHR --sei se --label study --measure HR",
            "metaoutcome pool effects.csv --yi yi --vi vi --method DL --level 90 --pi-method hts",
            "# metafor's names: test= for the CI method, hksj/hakn for knha",
            "metaoutcome pool effects.csv --yi yi --vi vi --test hksj",
            "# your own trials and sources tables, not the bundled ones; only HCC trials",
            "metaoutcome pool my_medians.csv --trials my_trials.csv --sources my_sources.csv --standalone --where cancer=HCC",
            "# the result as CSV or Markdown; the Python traceback of an error",
            "metaoutcome pool my_hrs.csv --outcome PFS --format csv > pfs.csv",
            "metaoutcome pool my_hrs.csv --outcome PFS --format markdown --traceback",
        ),
    )
    p.add_argument("file", metavar="FILE", help="your CSV file (UTF-8, comma-separated, header in row 1)")
    g = p.add_argument_group("what the file holds")
    g.add_argument("--table", type=choice(POOL_TABLES), metavar="{" + ",".join(POOL_TABLES) + "}",
                   help="the layout of FILE (default: told from its columns: hr, median, events/percent + n, yi + vi/sei)")
    add_map(g)
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
    g.add_argument("--method", type=choice(METHODS), default="REML", metavar="{" + ",".join(METHODS) + "}",
                   help="tau^2 estimator of the random-effects model, or FE/EE/CE for a common effect (default: %(default)s)")
    g.add_argument("--ci-method", type=choice(CI_METHODS, CI_METHOD_ALIASES, CI_METHOD_AMBIGUOUS), default=None,
                   metavar="{" + ",".join(CI_METHODS) + "}",
                   help="CI of the pooled estimate: normal, t, Hartung-Knapp-Sidik-Jonkman (also hksj, hakn), or HKSJ "
                        "floored at 1 (metafor test=; default: z)")
    g.add_argument("--test", type=choice(CI_METHODS, CI_METHOD_ALIASES, CI_METHOD_AMBIGUOUS), default=None,
                   metavar="{" + ",".join(CI_METHODS) + "}",
                   help="metafor's name for --ci-method (give either; both only if they agree)")
    g.add_argument("--level", type=level, default=95.0, metavar="PERCENT",
                   help="confidence level of the pooled and per-study CIs, a percentage (95) or a proportion "
                        "(0.95, read as 95%%, as metafor reads it) (default: %(default)g)")
    g.add_argument("--pi-method", type=choice(PI_METHODS), default="default", metavar="{" + ",".join(PI_METHODS) + "}",
                   help="prediction interval: metafor's predict, or Higgins-Thompson-Spiegelhalter (default: %(default)s)")
    g.add_argument("--subgroup", metavar="COLUMN",
                   help="pool within each value of COLUMN (e.g. regimen_class) and test for subgroup differences")
    g = p.add_argument_group("output")
    g.add_argument("--format", type=choice(FORMATS), default="text", metavar="{" + ",".join(FORMATS) + "}",
                   help="the printed result: metafor-style text, the tidy CSV table, or Markdown (default: %(default)s)")
    g.add_argument("--forest", metavar="FILE", help="write a forest plot; the type from the name: .pdf, .png or .svg")
    g.add_argument("--layout", type=choice(LAYOUTS), default="default", metavar="{" + ",".join(LAYOUTS) + "}",
                   help="forest-plot layout: metafor-like, Cochrane RevMan or JAMA (default: %(default)s)")
    add_traceback(p)
    return p

