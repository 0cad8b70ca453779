"""Check curated CSVs — the bundled ones or a user's own of the same layout.

Every problem is reported, not only the first, as ``file:row:column: message`` where ``row``
counts the header as row 1 (as a spreadsheet shows it) and ``-`` stands for "the whole file" or
"the whole row". Problems are errors (the data cannot be used as is) or warnings (worth a look).

Rules, all taken from the descriptor ``datapackage.json`` plus the cross-field rules below:

* the file is UTF-8, not empty, and has every required column; unknown columns are a warning;
* each cell has the declared type, is present when required, is one of the allowed values,
  within the declared range and of the declared pattern;
* primary keys are unique, no row repeats another, foreign keys (trial, source) exist;
* proportions: ``events <= n`` (events without ``n`` is a warning); ``percent`` agrees with ``100 * events / n`` at the precision
  it is printed with; the CI contains the estimate;
* medians and hazard ratios: the CI contains the estimate, bounds are not reversed, a CI comes
  with its level, an upper bound printed as "not reached" is not also given as a number;
* hazard ratios: a HR far from the midpoint of its CI on the log scale is a warning (see
  :func:`hr_asymmetry`); the p-value as printed parses to a value in (0, 1] plus a bound flag
  (:func:`metaoutcome.effects.parse_p_value`);
* a derived value states how it was derived.

>>> report = validate_files()          # the bundled data
>>> report.ok
True
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._schema import Table, data_dir, package_tables
from .csvfile import CSVFile, Problem, ProblemList, Severity, read_csv_file

__all__ = [
    "Problem",
    "ValidationReport",
    "validate_files",
    "hr_asymmetry",
    "HR_ASYMMETRY_WARN",
]

#: A HR whose log lies further than this fraction of the log CI half-width from the CI's log
#: midpoint (after allowing for rounding of the printed figures) is flagged with a warning.
HR_ASYMMETRY_WARN = 0.1


@dataclass(frozen=True)
class ValidationReport(ProblemList):
    """What :func:`validate_files` found.

    Attributes
    ----------
    problems : tuple of Problem
        Every problem, in file and row order.
    checked : tuple of (path, table, rows)
        Each file checked, the table it was checked as and its number of data rows.
    """

    problems: tuple[Problem, ...]
    checked: tuple[tuple[str, str, int], ...] = field(default=())

    @property
    def ok(self) -> bool:
        """True when there are no errors (warnings allowed)."""
        return not self.errors

    def __str__(self) -> str:
        lines = [str(p) for p in self.problems]
        files = ", ".join(f"{Path(p).name} ({t}, {n} rows)" for p, t, n in self.checked)
        lines.append(
            f"{len(self.errors)} error(s), {len(self.warnings)} warning(s) in {len(self.checked)} file(s)"
            + (f": {files}" if files else "")
        )
        return "\n".join(lines)


def _decimals(text: str) -> int:
    text = text.strip()
    return len(text.split(".", 1)[1]) if "." in text else 0


def _half_unit(text: str) -> float:
    """Half a unit in the last printed digit of ``text`` (the rounding error it can carry)."""
    return 0.5 * 10.0 ** (-_decimals(text))


def hr_asymmetry(hr: float, low: float, high: float, *, rounding: tuple[float, float, float] = (0.0, 0.0, 0.0)) -> float:
    """Distance of ln(HR) from the midpoint of the log CI, as a fraction of the log half-width.

    ``rounding`` gives the half-unit rounding error of the printed HR, lower and upper bound; the
    smallest distance compatible with those errors is returned (0 when the printed figures could
    be symmetric). The validator warns above :data:`HR_ASYMMETRY_WARN`.

    >>> round(hr_asymmetry(0.73, 0.59, 0.89), 3)
    0.035
    >>> hr_asymmetry(0.73, 0.59, 0.89, rounding=(0.005, 0.005, 0.005))
    0.0
    """
    dh, dl, du = rounding
    lo_l, hi_l = math.log(max(low - dl, 1e-300)), math.log(low + dl)
    lo_u, hi_u = math.log(max(high - du, 1e-300)), math.log(high + du)
    lo_h, hi_h = math.log(max(hr - dh, 1e-300)), math.log(hr + dh)
    mid_lo, mid_hi = (lo_l + lo_u) / 2, (hi_l + hi_u) / 2
    half = (math.log(high) - math.log(low)) / 2
    if half <= 0:
        return 0.0
    gap = max(0.0, lo_h - mid_hi, mid_lo - hi_h)
    return gap / half


# --------------------------------------------------------------------------------------------
# reading


@dataclass
class _Parsed:
    """A file read as text records, each cell also parsed to its declared type."""

    path: str
    table: Table
    header: list[str]
    raw: list[dict[str, str]]  # cell text by column
    values: list[dict[str, Any]]  # typed values (None when empty or unparsable)
    rows: list[int]  # spreadsheet row number of each record


class _Collector:
    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, path: str, row: int | None, column: str | None, message: str, severity: Severity = "error") -> None:
        self.problems.append(Problem(path, row, column, message, severity))


def _guess_table(path: Path, header: Sequence[str], tables: dict[str, Table]) -> Table | None:
    stem = path.stem.lower()
    for t in tables.values():
        if stem == t.name or stem.endswith("_" + t.name) or stem.startswith(t.name):
            return t
    best, score = None, 0.0
    for t in tables.values():
        req = [f.name for f in t.fields if f.required]
        s = sum(c in header for c in req) / max(len(req), 1)
        if s > score:
            best, score = t, s
    return best if score >= 0.5 else None


def _parse_file(f: CSVFile, tables: dict[str, Table], table: str | None, out: _Collector) -> _Parsed | None:
    """Check a file read by the one reader (:func:`metaoutcome.csvfile.read_csv_file`) as a table."""
    label = f.path
    out.problems.extend(f.problems)
    if not f.readable:
        return None
    header = f.header
    if table is not None:
        t = tables[table]
    else:
        guessed = _guess_table(Path(label), header, tables)
        if guessed is None:
            out.add(
                label, 1, None,
                "cannot tell which table this file is; name it after one ("
                + ", ".join(f"{n}.csv" for n in tables) + ") or pass --table",
            )
            return None
        t = guessed
    known = set(t.field_names)
    for h in header:
        if h and h not in known:
            if h in f.renamed:  # the user asked for this name: a typo in the mapping, not a spare column
                out.add(label, 1, h, f"is mapped to {h!r}, which is not a column of table '{t.name}'; "
                                     f"its columns: {', '.join(t.field_names)}")
            else:
                out.add(label, 1, h, f"unknown column for table '{t.name}' (ignored)", "warning")
    missing = [fl.name for fl in t.fields if fl.required and fl.name not in header]
    for name in missing:
        out.add(label, 1, name, f"missing required column '{name}' ({t.field(name).description})")
    if not f.rows and not f.errors:
        out.add(label, None, None, "file has a header but no data rows", "warning")

    parsed = _Parsed(label, t, header, [], [], [])
    for raw, rowno in zip(f.records(), f.lines):
        vals: dict[str, Any] = {}
        for fl in t.fields:
            cell = raw.get(fl.name, "")
            if cell == "":
                vals[fl.name] = None
                if fl.required and fl.name in header:
                    out.add(label, rowno, fl.name, f"required value is missing ({fl.description})")
                continue
            v, err, note = fl.parse(cell)
            if err is not None:
                out.add(label, rowno, fl.name, err)
            elif note is not None:
                out.add(label, rowno, fl.name, note, "warning")
            vals[fl.name] = v
        parsed.raw.append(raw)
        parsed.values.append(vals)
        parsed.rows.append(rowno)
    return parsed


# --------------------------------------------------------------------------------------------
# rules across cells, rows and tables


def _check_keys(p: _Parsed, out: _Collector) -> None:
    t = p.table
    first_by_key: dict[tuple[Any, ...], int] = {}
    first_by_row: dict[tuple[str, ...], int] = {}
    for raw, vals, rowno in zip(p.raw, p.values, p.rows):
        whole = tuple(raw.get(h, "") for h in p.header)
        if whole in first_by_row:
            out.add(p.path, rowno, None, f"duplicate of row {first_by_row[whole]}")
            continue
        first_by_row[whole] = rowno
        if t.primary_key:
            key = tuple(vals.get(k) for k in t.primary_key)
            if None in key:
                continue
            if key in first_by_key:
                shown = ", ".join(str(k) for k in key)
                out.add(p.path, rowno, t.primary_key[0], f"key '{shown}' is already used in row {first_by_key[key]}")
            else:
                first_by_key[key] = rowno


def _check_foreign_keys(p: _Parsed, keys: dict[str, set[Any]], out: _Collector) -> None:
    for fk in p.table.foreign_keys:
        col = fk.fields[0]
        resource = fk.resource or p.table.name  # "" = a reference within the same table
        ref = keys.get(resource)
        if ref is None or col not in p.header:
            continue
        for vals, rowno in zip(p.values, p.rows):
            v = vals.get(col)
            if v is None:
                continue
            if not fk.resource:
                if v == vals.get(fk.reference_fields[0]):
                    out.add(p.path, rowno, col, f"row '{v}' cannot supersede itself")
                elif v not in ref:
                    out.add(p.path, rowno, col, f"unknown {fk.reference_fields[0]} '{v}' in this table")
            elif v not in ref:
                out.add(p.path, rowno, col, f"unknown {resource[:-1]} '{v}' (add it to {resource}.csv)")


def _ci_rules(
    p: _Parsed, out: _Collector, rowno: int, vals: dict[str, Any], raw: dict[str, str], est_col: str,
    est: float | None, est_text: str,
) -> None:
    lo, hi = vals.get("ci_low"), vals.get("ci_high")
    if lo is not None and hi is not None and lo > hi:
        out.add(p.path, rowno, "ci_low", f"CI bounds are reversed: ci_low {raw['ci_low']} > ci_high {raw['ci_high']}")
        return
    if (lo is not None or hi is not None) and not raw.get("ci_level") and "ci_level" in p.header:
        out.add(p.path, rowno, "ci_level", "a CI is given without its level (e.g. 95)")
    if est is None:
        return
    tol_lo = _half_unit(raw.get("ci_low", "")) + _half_unit(est_text) if est_text else 0.0
    tol_hi = _half_unit(raw.get("ci_high", "")) + _half_unit(est_text) if est_text else 0.0
    if lo is not None and est < lo - tol_lo:
        out.add(p.path, rowno, "ci_low", f"the CI ({raw['ci_low']} to {raw.get('ci_high') or 'NR'}) does not contain {est_col} {est_text}")
    elif hi is not None and est > hi + tol_hi:
        out.add(p.path, rowno, "ci_high", f"the CI ({raw.get('ci_low') or '?'} to {raw['ci_high']}) does not contain {est_col} {est_text}")


def _row_rules(p: _Parsed, out: _Collector) -> None:
    name = p.table.name
    for raw, vals, rowno in zip(p.raw, p.values, p.rows):
        if vals.get("status") == "derived" and not vals.get("derivation") and "status" in p.header:
            out.add(p.path, rowno, "derivation", "status is 'derived' but the derivation is not given (say how, e.g. 'events = round(28.4% x 67)')")
        if name == "proportions":
            ev, n, pct = vals.get("events"), vals.get("n"), vals.get("percent")
            if ev is not None and n is None and raw.get("n", "") == "":
                out.add(p.path, rowno, "n", "events are given without n (the denominator); the row cannot be analysed", "warning")
            if ev is None and pct is None and not raw.get("events") and not raw.get("percent"):
                out.add(p.path, rowno, "percent", f"no events and no percent: only the printed text {raw.get('printed', '')!r} (cannot be analysed)", "warning")
            if ev is not None and n is not None and ev > n:
                out.add(p.path, rowno, "events", f"events ({ev}) exceed n ({n})")
                continue
            est, est_text = None, ""
            if pct is not None:
                est, est_text = pct, raw["percent"]
                if ev is not None and n is not None:
                    exact = 100.0 * ev / n
                    tol = _half_unit(raw["percent"]) + 1e-9
                    if abs(exact - pct) > tol:
                        out.add(
                            p.path, rowno, "percent",
                            f"percent {raw['percent']} does not match events/n = {ev}/{n} = {exact:.{_decimals(raw['percent']) + 2}f}% "
                            f"at the printed precision (±{tol:.2g})",
                        )
            elif ev is not None and n is not None:
                est, est_text = 100.0 * ev / n, ""
            _ci_rules(p, out, rowno, vals, raw, "percent", est, est_text or (f"{est:.1f}" if est is not None else ""))
        elif name == "medians":
            if vals.get("ci_high_nr") and vals.get("ci_high") is not None:
                out.add(p.path, rowno, "ci_high", "ci_high is given but ci_high_nr says the upper bound was not reached; keep one")
            if vals.get("ci_low") is not None and vals.get("ci_high") is None and vals.get("ci_high_nr") is False:
                out.add(p.path, rowno, "ci_high", "ci_low is given without ci_high; if the upper bound was not reached set ci_high_nr to true")
            _ci_rules(p, out, rowno, vals, raw, "median", vals.get("median"), raw.get("median", ""))
        elif name == "hazard_ratios":
            hr, lo, hi = vals.get("hr"), vals.get("ci_low"), vals.get("ci_high")
            if (lo is None) != (hi is None):
                out.add(p.path, rowno, "ci_low" if lo is None else "ci_high", "only one CI bound is given; give both or neither")
            _ci_rules(p, out, rowno, vals, raw, "hr", hr, raw.get("hr", ""))
            if hr is not None and lo is not None and hi is not None and lo < hi and lo <= hr <= hi:
                a = hr_asymmetry(hr, lo, hi, rounding=(_half_unit(raw["hr"]), _half_unit(raw["ci_low"]), _half_unit(raw["ci_high"])))
                if a > HR_ASYMMETRY_WARN:
                    out.add(
                        p.path, rowno, "hr",
                        f"HR {raw['hr']} is far from the midpoint of its CI on the log scale "
                        f"({a:.0%} of the half-width beyond rounding); check the figures "
                        "(the SE from this CI may not match the HR)", "warning",
                    )
            pv = raw.get("p_value", "")
            if pv:
                from .effects import parse_p_value  # the one reader of printed p-values

                try:
                    parse_p_value(pv)
                except ValueError as exc:
                    out.add(p.path, rowno, "p_value", str(exc))


# the source policy, one rule for every cancer (datasets/README.md, "One source policy")
SOURCE_RANK = {
    "peer_reviewed_article": 0, "regulatory_label": 1, "registry_results": 1,
    "conference_abstract": 2, "secondary_report": 3, "seed_document": 4,
}


def _source_policy_rules(parsed: Sequence[_Parsed], out: _Collector) -> None:
    """Primary publication first; any other source type only with the reason recorded.

    A row read in a source that is not a peer-reviewed article must have that source named in
    its trial's ``figures_from`` (which says why the publication was not used), and a row may be
    superseded only by a row from a source of the same or a better type. Runs when the sources
    (and, for the first rule, trials) tables are among the files checked.
    """
    by = {p.table.name: p for p in parsed}
    if "sources" not in by:
        return
    stype = {v.get("source_id"): v.get("source_type") for v in by["sources"].values}
    figures_from = {v.get("trial_id"): v.get("figures_from") or "" for v in by["trials"].values} if "trials" in by else None
    for p in parsed:
        if p.table.name not in ("proportions", "medians", "hazard_ratios"):
            continue
        source_of = {v.get("row_id"): v.get("source_id") for v in p.values}
        for vals, rowno in zip(p.values, p.rows):
            sid, t = vals.get("source_id"), stype.get(vals.get("source_id"))
            if t is None:
                continue
            if t != "peer_reviewed_article" and figures_from is not None and vals.get("trial_id") in figures_from \
                    and str(sid) not in figures_from[vals.get("trial_id")]:
                out.add(p.path, rowno, "source_id",
                        f"source '{sid}' is a {t}: the source policy takes figures from a peer-reviewed article first; "
                        f"name '{sid}' in trials.figures_from of trial '{vals.get('trial_id')}' with why the publication was not used")
            sup = vals.get("superseded_by")
            t_sup = stype.get(source_of.get(sup)) if sup else None
            if t_sup is not None and SOURCE_RANK.get(t_sup, 9) > SOURCE_RANK.get(t, 9):
                out.add(p.path, rowno, "superseded_by",
                        f"row '{sup}' comes from a {t_sup}, a lower source type than this row's {t}; "
                        "a row is superseded only by one from an equal or better source")


def validate_files(
    paths: Iterable[str | Path | CSVFile] | None = None,
    *,
    table: str | Sequence[str | None] | None = None,
    against_bundled: bool = True,
    columns: Mapping[str, str] | None = None,
) -> ValidationReport:
    """Validate CSV files against the curated-data layout and report every problem.

    Every file is read by the one CSV reader (:func:`metaoutcome.csvfile.read_csv_file`), so a
    quoting trap, a ragged row or a bad encoding is reported here as in ``metaoutcome pool``.

    Parameters
    ----------
    paths : iterable of path or CSVFile, optional
        Files to check (or files already read with :func:`~metaoutcome.csvfile.read_csv_file`).
        Default: the bundled data (every table in ``datapackage.json``).
    table : str or sequence of str, optional
        Check every file as this table (``trials``, ``sources``, ``proportions``, ``medians``,
        ``hazard_ratios``), or one table (or None) per file. Default: infer from the file name
        (``proportions.csv``, ``my_proportions.csv``) or else from the header.
    against_bundled : bool, default True
        Resolve trial and source references of user files against the bundled ``trials`` and
        ``sources`` tables as well as any ``trials``/``sources`` files passed alongside.
    columns : mapping, optional
        Your column names read as ours, ``{"HR": "hr", "Lower": "ci_low"}`` (the command line's
        ``--map HR=hr``), applied to every file that has the column; problems name your column.

    Returns
    -------
    ValidationReport
        ``.problems`` lists each problem; ``.ok`` is False when any is an error.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "my_hazard_ratios.csv"
    >>> _ = path.write_text("Study,HR,Lower,Upper,Level\\nA,0.8,0.7,0.9,0.95\\n", encoding="utf-8")
    >>> report = validate_files([path], table="hazard_ratios", columns={"HR": "hr", "Lower": "ci_low",
    ...                         "Upper": "ci_high", "Level": "ci_level"})
    >>> print(report.problems[-1])  # doctest: +ELLIPSIS
    /tmp/.../my_hazard_ratios.csv:2:Level: warning: ci_level 0.95 read as 95% (a proportion; the level rule)
    """
    tables = package_tables()
    bundled = paths is None
    items: list[str | Path | CSVFile]
    if bundled:
        root = data_dir()
        items = [Path(str(root / t.path)) for t in tables.values()]
        names: list[str | None] = list(tables)
    else:
        assert paths is not None
        items = list(paths)
        if table is None or isinstance(table, str):
            names = [table] * len(items)
        else:
            names = list(table)
            if len(names) != len(items):
                raise ValueError(f"table: {len(names)} tables given for {len(items)} files; give one per file")
    for name in names:
        if name is not None and name not in tables:
            raise ValueError(f"table={name!r} is not one of the allowed values: " + ", ".join(repr(t) for t in tables))
    files = [it if isinstance(it, CSVFile) else read_csv_file(it) for it in items]
    if columns:
        from .csvfile import map_columns

        unused = set(columns)
        for f in files:
            if f.readable:
                here = {u: o for u, o in columns.items() if u in f.header}
                unused -= set(here)
                map_columns(f, here)
        if unused and any(f.readable for f in files):
            raise ValueError(f"columns: no file has the column(s) {', '.join(repr(u) for u in sorted(unused))}")

    out = _Collector()
    parsed: list[_Parsed] = []
    for f, tname in zip(files, names):
        pf = _parse_file(f, tables, tname, out)
        if pf is not None:
            parsed.append(pf)

    # reference keys for foreign keys: user files plus (optionally) the bundled tables
    keys: dict[str, set[Any]] = {}
    for pf in parsed:
        pk = pf.table.primary_key
        if len(pk) == 1:
            keys.setdefault(pf.table.name, set()).update(v.get(pk[0]) for v in pf.values)
    if not bundled and against_bundled:
        for name in ("trials", "sources"):
            if name in tables:
                ref_file = read_csv_file(Path(str(data_dir() / tables[name].path)))
                ref = _parse_file(ref_file, tables, name, _Collector())
                if ref is not None:
                    keys.setdefault(name, set()).update(v.get(tables[name].primary_key[0]) for v in ref.values)

    for pf in parsed:
        _check_keys(pf, out)
        _check_foreign_keys(pf, keys, out)
        _row_rules(pf, out)
    _source_policy_rules(parsed, out)

    # name each column as the user wrote it (after ``columns``)
    by_path = {f.path: f for f in files}
    problems_named = [
        Problem(q.path, q.row, by_path[q.path].user_column(q.column) if q.column and q.path in by_path else q.column,
                q.message, q.severity)
        for q in out.problems
    ]
    order = {f.path: i for i, f in enumerate(files)}
    problems = sorted(problems_named, key=lambda q: (order.get(q.path, 0), q.row or 0, q.column or ""))
    checked = tuple((pf.path, pf.table.name, len(pf.values)) for pf in parsed)
    return ValidationReport(tuple(problems), checked)
