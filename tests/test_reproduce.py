"""The reproduce runner: failure isolation, determinism and the manifest."""

from __future__ import annotations

import hashlib
import json
import sys
import types
from pathlib import Path

import pandas as pd
import pytest

from metaoutcome import reproduce


def _fake_analyses(monkeypatch: pytest.MonkeyPatch, mods: dict[str, types.ModuleType]) -> None:
    # (modules that exist only in this process: the tests run them with jobs=1)
    for name, mod in mods.items():
        monkeypatch.setitem(sys.modules, f"metaoutcome._analyses.{name}", mod)
    monkeypatch.setattr(reproduce, "list_analyses", lambda: [(n, getattr(m, "TITLE", n)) for n, m in mods.items()])


def _module(name: str, run) -> types.ModuleType:  # noqa: ANN001
    mod = types.ModuleType(name)
    mod.TITLE = name.replace("_", " ")  # type: ignore[attr-defined]
    mod.run = run  # type: ignore[attr-defined]
    return mod


def _good(out: reproduce.AnalysisOutput) -> None:
    import matplotlib.figure

    out.text("Methods", "A fixed table and figure.")
    out.table("numbers", pd.DataFrame({"study": ["a", "b"], "estimate": [0.123456789, 1.5]}), "Numbers")
    fig = matplotlib.figure.Figure(figsize=(2, 2))
    fig.add_subplot().plot([0, 1], [0, 1])
    out.figure("line", fig, "A line")


def _broken(out: reproduce.AnalysisOutput) -> None:
    raise RuntimeError("the data said no")


def test_a_failing_analysis_is_reported_and_the_others_still_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_analyses(monkeypatch, {"a_broken": _module("a_broken", _broken), "b_good": _module("b_good", _good)})
    lines: list[str] = []
    res = reproduce.run_all(tmp_path, progress=lines.append, jobs=1)
    assert not res.ok
    assert res.failures == {"a_broken": "RuntimeError: the data said no"}
    assert res.status["b_good"] == "ok"
    assert "      FAILED a_broken: RuntimeError: the data said no" in lines
    assert (tmp_path / "b_good" / "figures" / "line.pdf").exists()
    assert "a_broken: failed" in (tmp_path / "report.html").read_text()


def test_outputs_are_written_and_hashed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_analyses(monkeypatch, {"b_good": _module("b_good", _good)})
    res = reproduce.run_all(tmp_path, progress=lambda s: None, jobs=1)
    manifest = json.loads(res.manifest.read_text())
    expected = {
        "b_good/b_good.md", "b_good/figures/line.pdf", "b_good/figures/line.png",
        "b_good/tables/numbers.csv", "b_good/tables/numbers.md", "report.html", "report.docx",
    }
    assert set(manifest["outputs"]) == expected
    for rel, digest in manifest["outputs"].items():
        assert hashlib.sha256((tmp_path / rel).read_bytes()).hexdigest() == digest
    assert set(manifest["versions"]) >= {"python", "metaoutcome", "numpy", "scipy", "pandas", "matplotlib", "statsmodels"}
    assert "datasets/proportions.csv" in manifest["inputs"]
    # the CSV keeps full precision; Markdown rounds for display only
    assert "0.123456789" in (tmp_path / "b_good/tables/numbers.csv").read_text()
    assert "| a | 0.123 |" in (tmp_path / "b_good/tables/numbers.md").read_text()


def test_two_runs_give_identical_bytes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_analyses(monkeypatch, {"b_good": _module("b_good", _good)})
    first = reproduce.run_all(tmp_path / "one", progress=lambda s: None, jobs=1).manifest.read_bytes()
    second = reproduce.run_all(tmp_path / "two", progress=lambda s: None, jobs=1).manifest.read_bytes()
    assert first == second


def test_an_analysis_a_worker_process_cannot_run_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the second analysis goes to a worker process, which does not have this test's modules
    _fake_analyses(monkeypatch, {"b_good": _module("b_good", _good), "c_here_only": _module("c_here_only", _good)})
    lines: list[str] = []
    res = reproduce.run_all(tmp_path, progress=lines.append, jobs=2)
    assert res.status["b_good"] == "ok"
    assert res.failures["c_here_only"].startswith("ModuleNotFoundError")
    assert lines[:2] == ["[1/2] b_good: b good ...", "[2/2] c_here_only: c here only ... (in a worker process)"]
    assert lines[2].startswith("      b_good: done in ")


def test_jobs_must_be_a_positive_integer(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"jobs=0 must be a positive integer"):
        reproduce.run_all(tmp_path, jobs=0)


# ------------------------------------------------------------------------------------------------
# the output folder: written whole or not at all, never losing a file we did not write (issue 13)
# ------------------------------------------------------------------------------------------------


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _leftovers(out: Path) -> list[str]:
    return sorted(p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}."))


def _complete_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    _fake_analyses(monkeypatch, {"b_good": _module("b_good", _good)})
    out = tmp_path / "R"
    reproduce.run_all(out, progress=lambda s: None, jobs=1)
    return out


def test_manifest_lists_exactly_the_runs_outputs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = _complete_run(tmp_path, monkeypatch)
    listed = set(json.loads((out / "manifest.json").read_text())["outputs"])
    assert listed == set(_snapshot(out)) - {"manifest.json"}
    # a rerun replaces its own earlier output: an output no longer produced does not linger
    (out / "b_good" / "tables" / "old.csv").write_text("x")
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["outputs"]["b_good/tables/old.csv"] = hashlib.sha256(b"x").hexdigest()
    (out / "manifest.json").write_text(json.dumps(manifest))
    reproduce.run_all(out, progress=lambda s: None, jobs=1)
    assert not (out / "b_good" / "tables" / "old.csv").exists()
    assert set(json.loads((out / "manifest.json").read_text())["outputs"]) == listed
    assert _leftovers(out) == []


@pytest.mark.parametrize(
    "plant, listed",
    [
        ("b_good/my_edits.md", ["b_good/my_edits.md"]),       # a file of the user's inside an analysis folder
        ("my_notes.txt", ["my_notes.txt"]),                   # ... at the top (it was put into the manifest)
        ("report.html", ["report.html (changed since it was written)"]),  # our file, edited by the user
        ("notes/", ["notes/"]),                               # a folder of the user's
    ],
    ids=["file-in-analysis", "file-at-top", "edited-report", "folder"],
)
def test_a_folder_with_files_we_did_not_write_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, plant: str, listed: list[str]
) -> None:
    out = _complete_run(tmp_path, monkeypatch)
    target = out / plant
    if plant.endswith("/"):
        target.mkdir()
    else:
        target.write_text("the user's own words")
    before = _snapshot(out)
    with pytest.raises(reproduce.OutputFolderError) as info:
        reproduce.run_all(out, progress=lambda s: None, jobs=1)
    assert f"{out}: holds 1 file(s) that metaoutcome reproduce did not write (not in its manifest.json): " \
           f"{listed[0]}; move them away" in str(info.value)
    assert _snapshot(out) == before and _leftovers(out) == []
    assert reproduce.foreign_files(out) == listed
    # force replaces the folder: the user asked for it
    reproduce.run_all(out, progress=lambda s: None, jobs=1, force=True)
    assert not (out / plant.rstrip("/")).exists() or plant == "report.html"
    assert reproduce.foreign_files(out) == []


def test_a_folder_without_a_manifest_of_ours_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_analyses(monkeypatch, {"b_good": _module("b_good", _good)})
    out = tmp_path / "R"
    (out / "b_good").mkdir(parents=True)
    (out / "b_good" / "b_good.md").write_text("mine")
    (out / "manifest.json").write_text('{"outputs": {"b_good/b_good.md": "x"}}')  # not written by us
    with pytest.raises(reproduce.OutputFolderError, match=r"holds 2 file\(s\) .*: b_good/, manifest.json;"):
        reproduce.run_all(out, progress=lambda s: None, jobs=1)
    assert (out / "b_good" / "b_good.md").read_text() == "mine"


def test_a_path_that_is_a_file_or_a_link_is_refused(tmp_path: Path) -> None:
    (tmp_path / "R").write_text("x")
    with pytest.raises(reproduce.OutputFolderError, match="is a file, not a folder"):
        reproduce.run_all(tmp_path / "R", progress=lambda s: None, jobs=1)
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    with pytest.raises(reproduce.OutputFolderError, match="is a symbolic link; give the folder it points to"):
        reproduce.run_all(tmp_path / "link", progress=lambda s: None, jobs=1)
    assert (tmp_path / "link").is_symlink() and list((tmp_path / "real").iterdir()) == []


def test_the_current_folder_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # replacing the folder a process (and the user's shell) is in would leave them in a deleted folder
    (tmp_path / "R" / "sub").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "R" / "sub")
    for out in (".", "..", str(tmp_path / "R")):
        with pytest.raises(reproduce.OutputFolderError, match="is the folder you are in"):
            reproduce.run_all(out, progress=lambda s: None, jobs=1)
    assert (tmp_path / "R" / "sub").is_dir() and _leftovers(tmp_path / "R") == []


def _interrupting(out: reproduce.AnalysisOutput) -> None:
    _good(out)
    raise KeyboardInterrupt


def _disk_full(out: reproduce.AnalysisOutput) -> None:
    import errno

    out.text("Methods", "half")
    raise OSError(errno.ENOSPC, "No space left on device", str(out.folder / "tables" / "x.csv"))


def _swallowing(out: reproduce.AnalysisOutput) -> None:
    # third-party code that turns a Ctrl-C into another error (seen in a font library's import)
    import os
    import signal
    import time

    try:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(1)
    except KeyboardInterrupt:
        raise RuntimeError("half-imported module") from None


@pytest.mark.parametrize("run, error", [(_interrupting, KeyboardInterrupt), (_disk_full, OSError),
                                        (_swallowing, KeyboardInterrupt)],
                         ids=["ctrl-c", "disk-full", "ctrl-c-swallowed-by-the-analysis"])
def test_an_interrupted_run_leaves_the_previous_output_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run: types.FunctionType, error: type[BaseException]
) -> None:
    out = _complete_run(tmp_path, monkeypatch)
    before = _snapshot(out)
    _fake_analyses(monkeypatch, {"b_good": _module("b_good", _good), "c_stop": _module("c_stop", run)})
    with pytest.raises(error):
        reproduce.run_all(out, progress=lambda s: None, jobs=1)
    assert _snapshot(out) == before and _leftovers(out) == []
    # into a new folder: nothing at all
    with pytest.raises(error):
        reproduce.run_all(tmp_path / "fresh", progress=lambda s: None, jobs=1)
    assert not (tmp_path / "fresh").exists() and _leftovers(tmp_path / "fresh") == []


def test_a_killed_worker_aborts_the_run_and_leaves_the_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the worker process runs a stand-in of _run_one (importable there: spawn passes sys.path on)
    # that kills its own process, as the out-of-memory killer or `kill -9` would
    (tmp_path / "killer_mod.py").write_text(
        "import multiprocessing, os, signal\n"
        "from metaoutcome import reproduce\n"
        "REAL = reproduce._run_one\n"
        "def run_one(*args):\n"
        "    if multiprocessing.parent_process() is not None:\n"
        "        os.kill(os.getpid(), signal.SIGKILL)\n"
        "    return REAL(*args)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    import killer_mod  # type: ignore[import-not-found]

    out = _complete_run(tmp_path, monkeypatch)
    before = _snapshot(out)
    _fake_analyses(monkeypatch, {"b_good": _module("b_good", _good), "c_other": _module("c_other", _good)})
    monkeypatch.setattr(reproduce, "_run_one", killer_mod.run_one)
    with pytest.raises(reproduce.ReproduceAborted, match="the worker process running c_other stopped unexpectedly"):
        reproduce.run_all(out, progress=lambda s: None, jobs=2)
    assert _snapshot(out) == before and _leftovers(out) == []


@pytest.mark.parametrize("delay", [0.0, 1.5], ids=["while-workers-start", "while-analyses-run"])
def test_sigint_to_a_real_run_leaves_the_previous_complete_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, delay: float
) -> None:
    """Ctrl-C in a terminal: SIGINT to the whole process group of a real `metaoutcome reproduce`."""
    import os
    import signal
    import subprocess
    import time

    out = _complete_run(tmp_path, monkeypatch)
    before = _snapshot(out)
    proc = subprocess.Popen(
        [sys.executable, "-m", "metaoutcome", "reproduce", "--out", str(out), "--jobs", "2"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )
    try:
        assert proc.stdout is not None
        seen = []
        for line in proc.stdout:  # wait until the analyses run (main process and a worker)
            seen.append(line)
            if "(in a worker process)" in line:
                break
        time.sleep(delay)
        os.killpg(proc.pid, signal.SIGINT)
        rest, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert any("(in a worker process)" in line for line in seen), "".join(seen) + err
    assert proc.returncode == 130, err
    assert err.strip().splitlines() == [f"metaoutcome reproduce: interrupted; {out} left as it was"], err
    assert _snapshot(out) == before and _leftovers(out) == []


def test_a_remembered_ctrl_c_in_a_callback_is_not_printed(monkeypatch: pytest.MonkeyPatch) -> None:
    """A SIGINT that lands in a weakref callback cannot propagate; Python would print it as
    "Exception ignored". It is remembered (check() raises it), so the hook stays quiet about it,
    and only about it."""
    from metaoutcome.reproduce import _Interrupts

    def info(exc: BaseException) -> types.SimpleNamespace:
        return types.SimpleNamespace(exc_type=type(exc), exc_value=exc, exc_traceback=None,
                                     err_msg="Exception ignored in", object=None)

    passed_on: list[BaseException] = []
    monkeypatch.setattr(sys, "unraisablehook", lambda i: passed_on.append(i.exc_value))
    hook = sys.unraisablehook
    with _Interrupts() as interrupts:
        sys.unraisablehook(info(KeyboardInterrupt()))  # type: ignore[arg-type]
        assert len(passed_on) == 1  # not one we saw arrive: passed on
        interrupts.seen = True
        sys.unraisablehook(info(KeyboardInterrupt()))  # type: ignore[arg-type]
        other = RuntimeError("other")
        sys.unraisablehook(info(other))  # type: ignore[arg-type]
        assert passed_on[1:] == [other]
        with pytest.raises(KeyboardInterrupt):
            interrupts.check()
    assert sys.unraisablehook is hook
