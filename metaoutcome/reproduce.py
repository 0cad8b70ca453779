"""``metaoutcome reproduce``: run every bundled analysis and write its figures, tables and report.

Each analysis is a module in the repository's ``analyses/`` folder (installed as
``metaoutcome._analyses``) with a ``TITLE``, an ``ORDER`` (its place in the run and the report) and a
``run(out)`` function that writes through an
:class:`AnalysisOutput`: figures (PDF and PNG), tables (CSV and Markdown) and the methods and
results paragraphs. The runner adds

* ``report.html``: one self-contained page (figures embedded) a reader can open in a browser, and
  ``report.docx``, the same content for Word (built by :mod:`metaoutcome.report`);
* ``manifest.json``: the SHA-256 of every input file and every output, and the versions of
  Python and every dependency — no timestamps, so two runs give byte-identical folders.

A failing analysis is reported with its name and the cause; the others still run and the exit
status is non-zero.

The output is written whole or not at all: it is built in a new folder beside ``out``
(``.<name>.partial-*``) and moved into place in one step when every analysis has finished, so
``out`` holds the previous complete output or the new one. Nothing :func:`run_all` did not write is
deleted or overwritten: a folder holding other files (not in its ``manifest.json``, or changed
since) is refused unless ``force``. Ctrl-C, a killed worker process or a full disk leave ``out`` as
it was (a partial folder survives only if this process itself is killed).
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import pkgutil
import platform
import shutil
import sys
import tempfile
import time
import traceback
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = [
    "AnalysisOutput", "ReproduceReport", "list_analyses", "run_all", "markdown_table", "check_output_folder",
    "foreign_files", "ReproduceAborted", "OutputFolderError",
]

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
    """The bundled analyses as ``(name, title)``, in the order they run and the report shows them.

    A module's ``ORDER`` (a number; default 100) sets its place: the review questions first, then
    the analyses built on them. Ties go by name.
    """
    pkg = importlib.import_module("metaoutcome._analyses")
    found = []
    for info in pkgutil.iter_modules(pkg.__path__):
        if info.name.startswith("_"):
            continue
        header = _module_header(f"metaoutcome._analyses.{info.name}")
        if header is None:  # not a plain source file: import it to see
            mod = importlib.import_module(f"metaoutcome._analyses.{info.name}")
            header = (callable(getattr(mod, "run", None)), getattr(mod, "ORDER", 100), getattr(mod, "TITLE", info.name))
        has_run, order, title = header
        if has_run:
            found.append((float(order), info.name, str(title)))
    return [(name, title) for _, name, title in sorted(found)]


def _module_header(module: str) -> tuple[bool, Any, Any] | None:
    """Whether ``module`` defines ``run`` at top level, and its literal ``ORDER`` and ``TITLE``, read
    from its source without importing it (an analysis imports most of metaoutcome, and scipy; a
    run of one analysis should not pay for the others). ``None`` when the source cannot say."""
    import ast
    from importlib.util import find_spec

    spec = find_spec(module)
    origin = getattr(spec, "origin", None)
    if spec is None or not origin or not str(origin).endswith(".py"):
        return None
    try:
        tree = ast.parse(Path(origin).read_bytes())
    except (OSError, SyntaxError, ValueError):
        return None
    has_run, values = False, {"ORDER": 100, "TITLE": module.rpartition(".")[2]}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == "run":
            has_run = True
        value = node.value if isinstance(node, (ast.Assign, ast.AnnAssign)) else None
        targets = (node.targets if isinstance(node, ast.Assign)
                   else [node.target] if isinstance(node, ast.AnnAssign) else [])
        for target in targets:
            if isinstance(target, ast.Name) and target.id in values and value is not None:
                try:
                    values[target.id] = ast.literal_eval(value)
                except ValueError:  # not a literal: only importing can tell
                    return None
        if isinstance(node, (ast.ClassDef, ast.AsyncFunctionDef, ast.Import, ast.ImportFrom)) and any(
                getattr(n, "name", None) == "run" or getattr(n, "asname", None) == "run"
                for n in ([node] if not isinstance(node, (ast.Import, ast.ImportFrom)) else node.names)):
            return None  # ``run`` bound some other way: import to see what it is
    return has_run, values["ORDER"], values["TITLE"]


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


class ReproduceAborted(RuntimeError):
    """The run could not finish (e.g. a worker process was killed); the output folder was left as it was."""


class OutputFolderError(ValueError):
    """The output folder holds files :func:`run_all` did not write (or is not a writable folder)."""


MANIFEST = "manifest.json"


def _run_one(name: str, title: str, folder: Path, show_traceback: bool) -> _Outcome:
    """Run analysis ``name`` into the new ``folder``, here or in a worker process.

    An exception of the analysis is its failure (reported; the others still run); an ``OSError``
    (a full disk, a folder that cannot be written) is the run's and propagates, ending the run.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    start = time.perf_counter()
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
    except OSError:
        raise
    except Exception as exc:  # one analysis failing must not stop the others
        tb = traceback.format_exc() if show_traceback else None
        return _Outcome(output, notes, f"{type(exc).__name__}: {exc}", tb, time.perf_counter() - start)
    return _Outcome(output, notes, None, None, time.perf_counter() - start)


def _worker_init() -> None:
    """A worker process ignores Ctrl-C: the main process stops it (no traceback from each worker)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _previous_outputs(out: Path) -> dict[str, str]:
    """The outputs ``out/manifest.json`` lists with their SHA-256 (empty when there is none of ours)."""
    path = out / MANIFEST
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(doc, dict) or doc.get("generated_by") != "metaoutcome reproduce":
        return {}
    outputs = doc.get("outputs")
    return {str(k): str(v) for k, v in outputs.items()} if isinstance(outputs, dict) else {}


def foreign_files(out: str | Path) -> list[str]:
    """What in ``out`` :func:`run_all` did not write: paths (relative, ``/``-separated) that its
    ``manifest.json`` does not list, or whose content changed since it was written.

    A folder holding none of the listed files is reported as one entry ending in ``/``.
    """
    out = Path(out)
    if not out.is_dir():
        return []
    listed = _previous_outputs(out)
    ours = set(listed) | ({MANIFEST} if listed else set())
    folders = {str(Path(p).parent.as_posix()) for p in ours}
    folders |= {"/".join(f.split("/")[:i]) for f in folders for i in range(1, f.count("/") + 1)}
    found: list[str] = []
    for dirpath, dirnames, filenames in os.walk(out):
        base = Path(dirpath).relative_to(out).as_posix()
        prefix = "" if base == "." else base + "/"
        for d in sorted(dirnames):
            rel = prefix + d
            if rel not in folders or (Path(dirpath) / d).is_symlink():
                found.append(rel + "/")
        dirnames[:] = sorted(d for d in dirnames if prefix + d in folders and not (Path(dirpath) / d).is_symlink())
        for fname in sorted(filenames):
            rel = prefix + fname
            if rel not in ours:
                found.append(rel)
            elif rel != MANIFEST and _sha256(out / rel) != listed[rel]:
                found.append(f"{rel} (changed since it was written)")
    return sorted(found)


def check_output_folder(out: str | Path, *, force: bool = False) -> None:
    """Refuse an output folder that holds files :func:`run_all` did not write, unless ``force``.

    Raises :class:`OutputFolderError` listing them (and for a path that is a file, or a folder
    that is read-only).
    """
    out = Path(out)
    if out.is_symlink():
        raise OutputFolderError(f"{out}: is a symbolic link; give the folder it points to ({os.path.realpath(out)})")
    if out.exists() and not out.is_dir():
        raise OutputFolderError(f"{out}: is a file, not a folder; choose a folder for the output")
    try:
        here = Path(os.getcwd())
    except OSError:
        here = None
    if here is not None and out.exists() and (here == out.resolve() or out.resolve() in here.parents):
        raise OutputFolderError(f"{out}: is the folder you are in (or holds it); the output replaces the whole "
                                "folder, so choose one beside or below it, e.g. --out results")
    if not out.exists():
        return
    if not os.access(out, os.W_OK):
        raise OutputFolderError(f"{out}: the folder is read-only; make it writable or choose another folder")
    if force:
        return
    found = foreign_files(out)
    if found:
        shown = ", ".join(found[:10]) + (f", ... ({len(found)} in all)" if len(found) > 10 else "")
        raise OutputFolderError(
            f"{out}: holds {len(found)} file(s) that metaoutcome reproduce did not write (not in its {MANIFEST}): "
            f"{shown}; move them away or choose another folder (--force / force=True replaces the folder and "
            "deletes them)"
        )


def _exchange(a: Path, b: Path) -> bool:
    """Swap two folders in one step (Linux ``renameat2(RENAME_EXCHANGE)``); False where not available."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes
    import errno

    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    at_fdcwd, rename_exchange = -100, 2
    if fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):  # a file system without the exchange
        return False
    raise OSError(err, os.strerror(err), str(b))


def _install(new: Path, out: Path, progress: Callable[[str], None]) -> None:
    """Move the complete output ``new`` to ``out``, replacing the previous one in one step."""
    import signal
    import threading

    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if main_thread else None  # no Ctrl-C halfway
    try:
        if not out.exists():
            os.rename(new, out)
            return
        if _exchange(new, out):
            old = new  # now holds the previous output
        else:  # two renames: out is missing for an instant in between
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
            os.rmdir(old)
            os.rename(out, old)
            os.rename(new, out)
        try:
            shutil.rmtree(old)
        except OSError as exc:
            progress(f"note: the previous output was moved to {old} but could not be removed ({exc.strerror or exc})")
    finally:
        if main_thread:
            signal.signal(signal.SIGINT, previous)


def run_all(
    out: str | Path,
    *,
    only: Sequence[str] | None = None,
    progress: Callable[[str], None] = print,
    show_traceback: bool = False,
    jobs: int | None = None,
    force: bool = False,
    extra_files: Mapping[str, str] | None = None,
) -> ReproduceReport:
    """Run the bundled analyses into ``out`` and write ``report.html`` and ``manifest.json``.

    The output is built in a new folder beside ``out`` and moved into place only when every
    analysis has finished, in one step: ``out`` holds the previous complete output or the new one,
    never a mix. An analysis that raises is reported (in the report and the status) and the others
    still run. Ctrl-C (KeyboardInterrupt), a killed worker process (:class:`ReproduceAborted`) or
    a file that cannot be written (OSError) end the run with ``out`` left as it was.

    Parameters
    ----------
    out : path
        Output folder. Each analysis writes to ``out/<name>/``. An existing ``out`` may hold only
        what an earlier run wrote (the files its ``manifest.json`` lists, unchanged): anything else
        raises :class:`OutputFolderError` naming the files, unless ``force``.
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
    force : bool, default False
        Replace ``out`` even when it holds files this function did not write (they are deleted).
    extra_files : mapping of str to str, optional
        More text files to write into the output (relative path -> content), listed in the
        manifest like the rest (``metaoutcome reproduce`` adds ``evidence_summary.md``).

    Returns
    -------
    ReproduceReport
        The status of each analysis and the paths of ``report.html`` and ``manifest.json``.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    out = Path(out)
    analyses = list_analyses()
    if only is not None:
        known = {n for n, _ in analyses}
        unknown = [n for n in only if n not in known]
        if unknown:
            raise ValueError(f"unknown analyses {unknown}; allowed: {sorted(known)}")
        analyses = [(n, t) for n, t in analyses if n in only]
    if jobs is not None and (not isinstance(jobs, int) or jobs < 1):
        raise ValueError(f"jobs={jobs!r} must be a positive integer (or None for one per CPU)")
    for rel in extra_files or {}:
        if Path(rel).is_absolute() or ".." in Path(rel).parts or rel in (MANIFEST, "report.html", "report.docx"):
            raise ValueError(f"extra_files: {rel!r} must be a relative path inside the output, not {MANIFEST}, "
                             "report.html or report.docx")
    check_output_folder(out, force=force)
    jobs = max(1, min(len(analyses), jobs or os.cpu_count() or 1))
    dest = Path(os.path.abspath(out))  # "." or "results/" name the folder itself
    parent = dest.parent
    parent.mkdir(parents=True, exist_ok=True)
    try:
        build = Path(tempfile.mkdtemp(prefix=f".{dest.name}.partial-", dir=parent))
    except OSError as exc:
        raise OSError(exc.errno, f"{exc.strerror} (the output is built beside {dest.name}, so this folder must be "
                                 "writable)", str(parent)) from exc
    try:
        mode = dest.stat().st_mode if dest.is_dir() else 0o777 & ~_umask()
        os.chmod(build, mode & 0o7777)
        with _Interrupts() as interrupts:
            status, failures, outputs = _run_analyses(analyses, build, jobs, progress, show_traceback, interrupts)
            for rel, text in (extra_files or {}).items():
                (build / rel).parent.mkdir(parents=True, exist_ok=True)
                (build / rel).write_text(text, encoding="utf-8")
            versions = _versions()
            from .report.build import write_report

            write_report(build, outputs, failures, versions)  # report.html and report.docx
            files = sorted(p for p in build.rglob("*") if p.is_file())
            doc = {
                "generated_by": "metaoutcome reproduce",
                "versions": versions,
                "inputs": _input_hashes(),
                "analyses": status,
                "outputs": {p.relative_to(build).as_posix(): _sha256(p) for p in files},
            }
            (build / MANIFEST).write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n", encoding="utf-8")
            interrupts.check()
            check_output_folder(out, force=force)  # again: the folder may have changed during the run
        _install(build, dest, progress)
    except BaseException:
        shutil.rmtree(build, ignore_errors=True)
        raise
    return ReproduceReport(out, status, failures, out / MANIFEST, out / "report.html")


class _Interrupts:
    """Remember a Ctrl-C even if the code it interrupted swallowed the KeyboardInterrupt.

    A KeyboardInterrupt raised inside a library's import or a ``try/except`` can come out as
    another exception (seen in matplotlib's PDF font subsetting), which would make the analysis
    look failed and the run go on; :meth:`check` raises it again after each analysis.
    """

    def __init__(self) -> None:
        self.seen = False
        self._previous: Any = None
        self._hook: Any = sys.unraisablehook

    def _handler(self, signum: int, frame: Any) -> None:
        self.seen = True
        raise KeyboardInterrupt

    def check(self) -> None:
        if self.seen:
            raise KeyboardInterrupt

    def __enter__(self) -> _Interrupts:
        import signal
        import threading

        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handler)
            self._hook = sys.unraisablehook
            sys.unraisablehook = self._unraisable
        return self

    def _unraisable(self, info: Any) -> None:
        """A Ctrl-C landing in a weakref callback or ``__del__`` cannot propagate, and Python would
        print it as "Exception ignored"; it is remembered (:meth:`check` raises it), so say nothing."""
        if self.seen and isinstance(info.exc_value, KeyboardInterrupt):
            return
        self._hook(info)

    def __exit__(self, *exc: object) -> None:
        import signal

        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            sys.unraisablehook = self._hook


def _run_analyses(
    analyses: Sequence[tuple[str, str]], out: Path, jobs: int, progress: Callable[[str], None], show_traceback: bool,
    interrupts: _Interrupts,
) -> tuple[dict[str, str], dict[str, str], list[AnalysisOutput]]:
    """Run ``analyses`` into ``out``; their status, failures and outputs."""
    status: dict[str, str] = {}
    failures: dict[str, str] = {}
    outputs: list[AnalysisOutput] = []
    n = len(analyses)

    def record(name: str, res: _Outcome, label: str) -> None:
        interrupts.check()  # a Ctrl-C the analysis swallowed is still a Ctrl-C
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
        return status, failures, outputs

    import signal
    import threading
    from concurrent.futures import Future, ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool
    from multiprocessing import get_context

    # "spawn": a clean interpreter per worker (forking a process with BLAS threads is unsafe). The
    # workers start with Ctrl-C ignored (a disposition a new process inherits, unlike a handler or
    # a blocked mask): the terminal sends it to the whole process group, and only this process
    # should answer it, by stopping them.
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if main_thread else None
    try:
        pool = ProcessPoolExecutor(max_workers=jobs - 1, mp_context=get_context("spawn"), initializer=_worker_init)
        futures: dict[str, Future[_Outcome]] = {
            name: pool.submit(_run_one, name, title, out / name, show_traceback) for name, title in analyses[1:]
        }
    finally:
        if main_thread:
            signal.signal(signal.SIGINT, previous)
    try:
        for i, (name, title) in enumerate(analyses, 1):
            progress(f"[{i}/{n}] {name}: {title} ..." + (" (in a worker process)" if i > 1 else ""))
        first, title = analyses[0]
        record(first, _run_one(first, title, out / first, show_traceback), f"{first}: ")
        for (name, title), fut in zip(analyses[1:], futures.values()):
            try:
                res = fut.result()
            except BrokenProcessPool:
                raise ReproduceAborted(f"the worker process running {name} stopped unexpectedly (killed, or out of "
                                       "memory?); the output folder was left as it was") from None
            except OSError:
                raise
            except Exception as exc:  # the worker could not run the analysis (e.g. could not import it)
                res = _Outcome(AnalysisOutput(name, title, out / name), [],
                               f"{type(exc).__name__} in a worker process: {exc}", None, 0.0)  # fmt: skip
            record(name, res, f"{name}: ")
    except BaseException:
        _stop(pool)
        raise
    pool.shutdown()
    return status, failures, outputs


def _stop(pool: Any) -> None:
    """Stop a process pool now: cancel what has not started and end the running workers."""
    procs = list((getattr(pool, "_processes", None) or {}).values())  # no public way to end them
    pool.shutdown(wait=False, cancel_futures=True)
    for proc in procs:
        proc.terminate()
    for proc in procs:
        proc.join(timeout=10)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


if __name__ == "__main__":  # pragma: no cover
    sys.exit(0 if run_all(sys.argv[1] if len(sys.argv) > 1 else "metaoutcome-results").ok else 1)
