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
