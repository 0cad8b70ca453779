"""``metaoutcome reproduce``: run every bundled analysis and write its figures, tables and report.

Each analysis is a module in the repository's ``analyses/`` folder (installed as
``metaoutcome._analyses``) with a ``TITLE`` and a ``run(out)`` function that writes through an
:class:`AnalysisOutput`: figures (PDF and PNG), tables (CSV and Markdown) and the methods and
results paragraphs. The runner adds

* ``report.html``: one self-contained page (figures embedded) a reader can open in a browser, and
  ``report.docx``, the same content for Word (built by :mod:`metaoutcome.report`);
* ``manifest.json``: the SHA-256 of every input file and every output, and the versions of
  Python and every dependency — no timestamps, so two runs give byte-identical folders.

A failing analysis is reported with its name and the cause; the others still run and the exit
status is non-zero.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import pkgutil
import shutil
import platform
import sys
import time
import traceback
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["AnalysisOutput", "ReproduceReport", "list_analyses", "run_all", "markdown_table"]

DEPENDENCIES = ("numpy", "scipy", "statsmodels", "pandas", "matplotlib")


def markdown_table(frame: pd.DataFrame, digits: int = 3) -> str:
    """A GitHub-flavoured Markdown table of ``frame``, numbers rounded for display only."""

    def cell(v: Any) -> str:
        if v is None or (isinstance(v, float) and pd.isna(v)) or v is pd.NA:
            return ""
        if isinstance(v, float):
            return f"{v:.{digits}f}"
        return str(v).replace("|", "\\|")

    cols = [str(c) for c in frame.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for row in frame.itertuples(index=False):
        lines.append("| " + " | ".join(cell(v) for v in row) + " |")
    return "\n".join(lines) + "\n"


@dataclass
class AnalysisOutput:
    """Where one analysis writes; also records what it wrote, in order, for the report.

    ``text``, ``table`` and ``figure`` are all an analysis needs; the report then shows its
    paragraphs, figures and tables (a table's columns in words, numbers rounded). An analysis
    that gives more gets the full review layout (:mod:`metaoutcome.report`): a summary of findings
    (:meth:`summary_of_findings`), the included trials (:meth:`included_trials`), reader's versions
    of its tables (``table(..., display=...)``), what was not pooled (:meth:`not_pooled`), the
    methods' references (:meth:`references`) and the data sources (:meth:`sources`).
    """

    name: str
    title: str
    folder: Path
    items: list[tuple[str, Any]] = field(default_factory=list)
    displays: dict[str, pd.DataFrame] = field(default_factory=dict)
    table_notes: dict[str, tuple[str, ...]] = field(default_factory=dict)
    hidden: set[str] = field(default_factory=set)
    study_tables: set[str] = field(default_factory=set)

    def text(self, heading: str, markdown: str) -> None:
        """A paragraph under ``heading``; "Methods" goes to the methods section, the rest to the results."""
        self.items.append(("text", (heading, markdown.strip())))

    def table(self, name: str, frame: pd.DataFrame, caption: str, digits: int = 3, *,
              display: pd.DataFrame | None = None, notes: Sequence[str] = (), report: bool = True,
              study_rows: bool = False) -> Path:
        """Write ``frame`` as ``tables/<name>.csv`` (full precision) and ``.md`` (rounded).

        ``display`` is what the report shows instead (natural scale, journal headers, one string
        per cell), with ``notes`` under it; ``report=False`` keeps the table out of the report
        (CSV and Markdown only); ``study_rows=True`` marks the last row as the pooled one.
        """
        folder = self.folder / "tables"
        folder.mkdir(parents=True, exist_ok=True)
        csv_path = folder / f"{name}.csv"
        frame.to_csv(csv_path, index=False, lineterminator="\n")
        md = f"**{caption}**\n\n" + markdown_table(frame, digits)
        (folder / f"{name}.md").write_text(md, encoding="utf-8")
        self.items.append(("table", (name, caption, frame, digits)))
        if display is not None:
            self.displays[name] = display
        if notes:
            self.table_notes[name] = tuple(notes)
        if not report:
            self.hidden.add(name)
        if study_rows:
            self.study_tables.add(name)
        return csv_path

    def figure(self, name: str, fig: Any, caption: str, dpi: int = 300) -> Path:
        """Save ``fig`` as ``figures/<name>.pdf`` and ``.png`` (deterministic bytes) and close it."""
        from .report._figures import save_pdf_png

        folder = self.folder / "figures"
        folder.mkdir(parents=True, exist_ok=True)
        _, png = save_pdf_png(fig, folder, name, dpi=dpi)
        import matplotlib.pyplot as plt

        plt.close(fig)
        self.items.append(("figure", (name, caption, png)))
        return png

    def summary_of_findings(self, rows: Sequence[Any], caption: str = "Summary of findings") -> Path:
        """Record summary-of-findings rows (:func:`metaoutcome.report.sof_row`); CSV ``summary_of_findings``."""
        from .report.sof import sof_frame

        path = self._csv("summary_of_findings", sof_frame(rows))
        self.items.append(("sof", (tuple(rows), caption)))
        return path

    def included_trials(self, display: pd.DataFrame, caption: str = "Characteristics of the included trials",
                        notes: Sequence[str] = ()) -> Path:
        """Record the characteristics-of-included-trials table (one string per cell); CSV ``included_trials``."""
        path = self._csv("included_trials", display)
        self.items.append(("characteristics", (caption, display, tuple(notes))))
        return path

    def not_pooled(self, flows: Sequence[Any]) -> Path:
        """Record the rows not pooled, per outcome (:class:`metaoutcome.report.FlowRow`); CSV ``not_pooled``."""
        from .report.tables import flow_frame

        path = self._csv("not_pooled", flow_frame(flows))
        self.items.append(("not_pooled", tuple(flows)))
        return path

    def references(self, *keys: str) -> None:
        """Cite methods' references by key (:data:`metaoutcome.report.REFERENCES`)."""
        from .report.references import reference_list

        reference_list(keys)  # unknown keys fail here, in the analysis, not in the report
        self.items.append(("references", tuple(keys)))

    def sources(self, source_ids: Sequence[str]) -> None:
        """The curated data's ``source_id`` values the numbers come from (listed with DOI and PMID)."""
        self.items.append(("sources", tuple(dict.fromkeys(str(s) for s in source_ids))))

    def _csv(self, name: str, frame: pd.DataFrame) -> Path:
        folder = self.folder / "tables"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{name}.csv"
        frame.to_csv(path, index=False, lineterminator="\n")
        return path

    def write_markdown(self) -> Path:
        """Write ``<name>.md``: the same sections as the report, figures linked."""
        from .report.build import analysis_blocks
        from .report.markdown import render_markdown

        blocks, _ = analysis_blocks(self)
        path = self.folder / f"{self.name}.md"
        path.write_text(render_markdown(blocks, relative_to=self.folder, shift=1), encoding="utf-8")
        return path


@dataclass(frozen=True)
class ReproduceReport:
    """What :func:`run_all` did: per-analysis status, and the paths it wrote."""

    out: Path
    status: dict[str, str]
    failures: dict[str, str]
    manifest: Path
    report: Path

    @property
    def ok(self) -> bool:
        return not self.failures


def list_analyses() -> list[tuple[str, str]]:
    """The bundled analyses as ``(name, title)``, in the order they run."""
    pkg = importlib.import_module("metaoutcome._analyses")
    found = []
    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        mod = importlib.import_module(f"metaoutcome._analyses.{info.name}")
        if callable(getattr(mod, "run", None)):
            found.append((info.name, str(getattr(mod, "TITLE", info.name))))
    return found


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version(), "metaoutcome": metadata.version("metaoutcome")}
    for dep in DEPENDENCIES:
        try:
            out[dep] = metadata.version(dep)
        except metadata.PackageNotFoundError:  # pragma: no cover - a broken environment
            out[dep] = "not installed"
    return out


def _input_hashes() -> dict[str, str]:
    """SHA-256 of every input: the curated tables, their descriptor and the analysis scripts."""
    from importlib import resources

    hashes = {}
    for package, folder, endings in (
        ("metaoutcome._data", "datasets", (".csv", ".json")),
        ("metaoutcome._analyses", "analyses", (".py", ".ipynb")),
    ):
        root = resources.files(package)
        for entry in sorted(root.iterdir(), key=lambda e: e.name):
            if entry.name.endswith(endings) and entry.is_file():
                hashes[f"{folder}/{entry.name}"] = hashlib.sha256(entry.read_bytes()).hexdigest()
    return hashes


@dataclass
class _Outcome:
    """What running one analysis gives back (also across a process boundary)."""

    output: AnalysisOutput
    notes: list[str]
    failure: str | None
    traceback: str | None
    seconds: float


def _run_one(name: str, title: str, folder: Path, show_traceback: bool) -> _Outcome:
    """Run analysis ``name`` into ``folder``, here or in a worker process."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    start = time.perf_counter()
    if folder.exists():  # start clean so no stale output of an earlier run lingers
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    output = AnalysisOutput(name, title, folder)
    notes: list[str] = []
    try:
        mod = importlib.import_module(f"metaoutcome._analyses.{name}")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            mod.run(output)
        notes = list(dict.fromkeys(str(w.message).splitlines()[0] for w in caught))
        output.write_markdown()
    except Exception as exc:  # one analysis failing must not stop the others
        tb = traceback.format_exc() if show_traceback else None
        return _Outcome(output, notes, f"{type(exc).__name__}: {exc}", tb, time.perf_counter() - start)
    return _Outcome(output, notes, None, None, time.perf_counter() - start)


def run_all(
    out: str | Path,
    *,
    only: Sequence[str] | None = None,
    progress: Callable[[str], None] = print,
    show_traceback: bool = False,
    jobs: int | None = None,
) -> ReproduceReport:
    """Run the bundled analyses into ``out`` and write ``report.html`` and ``manifest.json``.

    Parameters
    ----------
    out : path
        Output folder (created if needed). Each analysis writes to ``out/<name>/``.
    only : sequence of str, optional
        Run only these analyses (names from :func:`list_analyses`).
    progress : callable, default print
        Receives one line per step.
    show_traceback : bool, default False
        Include the full traceback of a failing analysis in what ``progress`` receives.
    jobs : int, optional
        Analyses run at once: the first in this process, the others in worker processes
        (saving the figures' PDFs, which embeds and subsets their fonts, is most of the time).
        Default: one per CPU, at most one per analysis. The outputs are the same bytes
        whatever ``jobs`` is.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    analyses = list_analyses()
    if only is not None:
        known = {n for n, _ in analyses}
        unknown = [n for n in only if n not in known]
        if unknown:
            raise ValueError(f"unknown analyses {unknown}; allowed: {sorted(known)}")
        analyses = [(n, t) for n, t in analyses if n in only]
    if jobs is not None and (not isinstance(jobs, int) or jobs < 1):
        raise ValueError(f"jobs={jobs!r} must be a positive integer (or None for one per CPU)")
    jobs = max(1, min(len(analyses), jobs or os.cpu_count() or 1))
    status: dict[str, str] = {}
    failures: dict[str, str] = {}
    outputs: list[AnalysisOutput] = []
    n = len(analyses)

    def record(name: str, res: _Outcome, label: str) -> None:
        if res.failure is not None:
            failures[name] = res.failure
            status[name] = f"failed: {res.failure}"
            progress(f"      FAILED {name}: {res.failure}")
            if res.traceback:
                progress(res.traceback)
        else:
            for note in res.notes:
                progress(f"      {label}note: {note}")
            status[name] = "ok"
            n_fig = sum(k == "figure" for k, _ in res.output.items)
            n_tab = sum(k == "table" for k, _ in res.output.items)
            progress(f"      {label}done in {res.seconds:.1f} s ({n_fig} figures, {n_tab} tables)")
        outputs.append(res.output)

    if jobs == 1:
        for i, (name, title) in enumerate(analyses, 1):
            progress(f"[{i}/{n}] {name}: {title} ...")
            record(name, _run_one(name, title, out / name, show_traceback), "")
    else:
        from concurrent.futures import ProcessPoolExecutor
        from multiprocessing import get_context

        # "spawn": a clean interpreter per worker (forking a process with BLAS threads is unsafe)
        with ProcessPoolExecutor(max_workers=jobs - 1, mp_context=get_context("spawn")) as pool:
            futures = {name: pool.submit(_run_one, name, title, out / name, show_traceback)
                       for name, title in analyses[1:]}  # fmt: skip
            for i, (name, title) in enumerate(analyses, 1):
                progress(f"[{i}/{n}] {name}: {title} ..." + (" (in a worker process)" if i > 1 else ""))
            first, title = analyses[0]
            record(first, _run_one(first, title, out / first, show_traceback), f"{first}: ")
            for (name, title), fut in zip(analyses[1:], futures.values()):
                try:
                    res = fut.result()
                except Exception as exc:  # the worker itself failed (e.g. it could not start)
                    res = _Outcome(AnalysisOutput(name, title, out / name), [],
                                   f"{type(exc).__name__} in a worker process: {exc}", None, 0.0)  # fmt: skip
                record(name, res, f"{name}: ")

    versions = _versions()
    from .report.build import write_report

    report, _ = write_report(out, outputs, failures, versions)
    manifest = out / "manifest.json"
    files = sorted(p for p in out.rglob("*") if p.is_file() and p != manifest)
    doc = {
        "generated_by": "metaoutcome reproduce",
        "versions": versions,
        "inputs": _input_hashes(),
        "analyses": status,
        "outputs": {p.relative_to(out).as_posix(): _sha256(p) for p in files},
    }
    manifest.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return ReproduceReport(out, status, failures, manifest, report)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(0 if run_all(sys.argv[1] if len(sys.argv) > 1 else "metaoutcome-results").ok else 1)
