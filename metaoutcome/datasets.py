"""The curated evidence base: list the bundled tables, load them as typed DataFrames, filter them
and join outcomes to trial metadata.

The tables ship inside the installed package (``metaoutcome._data``, the repository's
``datasets/`` folder) and are described by one Frictionless ``datapackage.json``; dtypes come from
it (nullable ``Int64`` for counts, ``float64`` for numbers, ``boolean`` for flags, ``string`` for
text).

>>> from metaoutcome import datasets
>>> hr = datasets.load_dataset("hazard_ratios", cancer="HCC", endpoint="OS")
>>> bool((hr["hr"] > 0).all())
True
"""

from __future__ import annotations

from functools import lru_cache

import pandas as pd

from ._checks import check_choice
from ._schema import Table, data_dir, package_tables

__all__ = ["list_datasets", "load_dataset", "describe", "join_trials", "evidence_summary", "TABLES"]

#: Names of the bundled tables, in descriptor order.
TABLES: tuple[str, ...] = ("sources", "trials", "proportions", "medians", "hazard_ratios")



def _table(name: str) -> Table:
    tables = package_tables()
    return tables[check_choice("name", name, tables, case_sensitive=True)]


def _read(t: Table) -> pd.DataFrame:
    """A fresh copy of a bundled table (each file is read and parsed once per process)."""
    return _read_once(t.name).copy()


@lru_cache(maxsize=None)
def _read_once(name: str) -> pd.DataFrame:
    """Read a bundled table with the one CSV reader and parse its cells by the descriptor."""
    from .csvfile import read_csv_text, typed_frame

    t = package_tables()[name]
    f = read_csv_text((data_dir() / t.path).read_bytes(), t.path)
    frame, problems = typed_frame(f, t)
    problems += f.errors
    if problems:  # the bundled data is validated in the tests; this guards a hand-edited install
        raise ValueError(f"the bundled table {t.name} cannot be read: " + "; ".join(map(str, problems[:5])))
    return frame[[c for c in t.field_names if c in frame.columns]].reset_index(drop=True)


def list_datasets() -> pd.DataFrame:
    """The bundled tables with their descriptions and sizes.

    Returns
    -------
    pandas.DataFrame
        Columns ``name``, ``description``, ``rows``, ``columns``, ``file``.
    """
    rows = []
    for t in package_tables().values():
        frame = _read(t)
        rows.append(dict(name=t.name, description=t.description, rows=len(frame), columns=len(t.fields), file=t.path))
    return pd.DataFrame(rows)


def describe(name: str) -> pd.DataFrame:
    """The columns of one table: name, type, unit, required, allowed values, description."""
    t = _table(name)
    return pd.DataFrame(
        [
            dict(
                column=f.name, type=f.type, unit=f.unit or "", required=f.required,
                allowed=f.allowed(), description=f.description,
            )
            for f in t.fields
        ]
    )


def join_trials(
    frame: pd.DataFrame,
    columns: list[str] | None = None,
    *,
    trials: pd.DataFrame | None = None,
    bundled: bool = True,
) -> pd.DataFrame:
    """Add trial metadata (short name, cancer, phase, design, setting ...) to an outcome table.

    The one trial join: the library, the analyses and ``metaoutcome pool`` all use it. A column the
    frame already has is kept as it is and the trial's value added as ``trial_<column>``; the
    frame's rows, their order and index are kept.

    Parameters
    ----------
    frame : DataFrame
        A table with a ``trial_id`` column.
    columns : list of str, optional
        Trial columns to add; default all of ``trials`` except its notes.
    trials : DataFrame, optional
        Your own trials table (``trial_id``, ``short_name`` ...); its rows replace bundled rows of
        the same ``trial_id``.
    bundled : bool, default True
        Use the bundled trials table (False: only ``trials``).

    Examples
    --------
    >>> hr = load_dataset("hazard_ratios", trial="checkmate_057")
    >>> join_trials(hr, ["short_name", "cancer"])[["trial_id", "short_name", "cancer"]].iloc[0].tolist()
    ['checkmate_057', 'CheckMate 057', 'NSCLC']
    """
    if "trial_id" not in frame.columns:
        raise ValueError("frame has no 'trial_id' column to join trials on")
    parts = [_read(_table("trials"))] if bundled else []
    if trials is not None:
        if "trial_id" not in trials.columns:
            raise ValueError("trials has no 'trial_id' column")
        parts.append(trials)
    if not parts:
        return frame.copy()
    table = parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)
    table = table.drop_duplicates("trial_id", keep="last")
    default = [c for c in table.columns if c not in ("notes", "population", "primary_source_id", "figures_from")]
    keep = columns or default
    unknown = [c for c in keep if c not in table.columns]
    if unknown:
        raise ValueError(f"columns {unknown} are not in trials; allowed: {list(table.columns)}")
    keep = ["trial_id", *[c for c in keep if c != "trial_id"]]
    clash = [c for c in keep if c in frame.columns and c != "trial_id"]
    right = table[keep].rename(columns={c: f"trial_{c}" for c in clash})
    out = frame.merge(right, on="trial_id", how="left", validate="many_to_one")
    out.index = frame.index  # a left many-to-one merge keeps the rows in order: keep their labels too
    return out


def load_dataset(
    name: str,
    *,
    cancer: str | list[str] | None = None,
    outcome: str | list[str] | None = None,
    endpoint: str | list[str] | None = None,
    trial: str | list[str] | None = None,
    with_trials: bool = False,
    source_type: str | list[str] | None = None,
) -> pd.DataFrame:
    """Load a bundled table as a typed DataFrame, optionally filtered.

    Parameters
    ----------
    name : {"sources", "trials", "proportions", "medians", "hazard_ratios"}
        The table.
    cancer : str or list of str, optional
        Keep trials of these cancers (``"NSCLC"``, ``"HCC"``).
    outcome : str or list of str, optional
        Keep these outcomes (proportions: ``ORR``, ``DCR``, ``CR``, ``PR``, ``TRAE_G3PLUS``,
        ``TRAE_G34``; medians: ``PFS``, ``OS``, ``DOR``, ``TTP``).
    endpoint : str or list of str, optional
        For hazard ratios: ``OS``, ``PFS``, ``TTP``.
    trial : str or list of str, optional
        Keep these trial ids.
    with_trials : bool, default False
        Join trial metadata (see :func:`join_trials`).
    source_type : str or list of str, optional
        Keep rows read in sources of these types (``peer_reviewed_article``,
        ``conference_abstract``, ``regulatory_label``, ``registry_results``,
        ``secondary_report``, ``seed_document``); applies to ``sources`` and the outcome tables.

    Returns
    -------
    pandas.DataFrame
        The columns described by :func:`describe`, in descriptor order.
    """
    t = _table(name)
    frame = _read(t)

    def _as_list(arg: str | list[str]) -> list[str]:
        return [arg] if isinstance(arg, str) else list(arg)

    def _filter(col: str, arg: str | list[str] | None, argname: str) -> None:
        nonlocal frame
        if arg is None:
            return
        if col not in frame.columns:
            raise ValueError(f"{argname}= does not apply to table '{t.name}' (it has no '{col}' column)")
        wanted = _as_list(arg)
        f = t.field(col)
        allowed = list(f.enum) if f.enum else sorted(frame[col].dropna().unique())
        for w in wanted:
            check_choice(argname, w, allowed, case_sensitive=True)
        frame = frame[frame[col].isin(wanted)]

    if cancer is not None:
        wanted = _as_list(cancer)
        cancers = list(_table("trials").field("cancer").enum or ())
        for c in wanted:
            check_choice("cancer", c, cancers, case_sensitive=True)
        if t.name == "trials":
            frame = frame[frame["cancer"].isin(wanted)]
        elif "trial_id" in frame.columns:
            trials = _read(_table("trials"))
            ids = set(trials.loc[trials["cancer"].isin(wanted), "trial_id"])
            frame = frame[frame["trial_id"].isin(ids)]
        else:
            raise ValueError(f"cancer= does not apply to table '{t.name}'")
    _filter("outcome", outcome, "outcome")
    _filter("endpoint", endpoint, "endpoint")
    if trial is not None:
        if "trial_id" not in frame.columns:
            raise ValueError(f"trial= does not apply to table '{t.name}'")
        known = set(_read(_table("trials"))["trial_id"])
        for tr in _as_list(trial):
            if tr not in known:
                raise ValueError(f"trial={tr!r} is not a bundled trial; see load_dataset('trials')['trial_id']")
        frame = frame[frame["trial_id"].isin(_as_list(trial))]
    if source_type is not None:
        if "source_id" not in frame.columns:
            raise ValueError(f"source_type= does not apply to table '{t.name}' (it has no 'source_id' column)")
        types = list(_table("sources").field("source_type").enum or ())
        for w in _as_list(source_type):
            check_choice("source_type", w, types, case_sensitive=True)
        sources = _read(_table("sources"))
        ids = set(sources.loc[sources["source_type"].isin(_as_list(source_type)), "source_id"])
        frame = frame[frame["source_id"].isin(ids)]
    frame = frame.reset_index(drop=True)
    if with_trials and t.name not in ("trials", "sources"):
        frame = join_trials(frame)
    frame.attrs["dataset"] = t.name
    return frame


def evidence_summary() -> str:
    """A Markdown summary of the bundled data: rows per table, trials by cancer, outcome rows.

    ``metaoutcome reproduce`` writes it as ``evidence_summary.md``.

    >>> print(evidence_summary().splitlines()[0])
    # metaoutcome bundled evidence base
    """
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
