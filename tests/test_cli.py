"""The command line: each command, its options and its error paths."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from metaoutcome import reproduce
from metaoutcome.cli import CLIError, build_parser, main

CORPUS = Path(__file__).parent / "data" / "corpus"


def test_list(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for name in ("sources", "trials", "proportions", "medians", "hazard_ratios"):
        assert name in out


def test_validate_bundled(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate"]) == 0
    assert "0 error(s)" in capsys.readouterr().out


def test_validate_user_files_reports_and_fails(capsys: pytest.CaptureFixture[str]) -> None:
    files = [str(CORPUS / n) for n in ("sources.csv", "trials.csv", "events_exceed_n_proportions.csv")]
    assert main(["validate", "--standalone", *files]) == 1
    out = capsys.readouterr().out
    assert "events_exceed_n_proportions.csv:2:events: events (70) exceed n (67)" in out
    assert "1 error(s), 0 warning(s) in 3 file(s)" in out


def test_validate_with_table_option(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--standalone", "--table", "trials", str(CORPUS / "mystery.csv")]) == 1
    assert "missing required column 'trial_id'" in capsys.readouterr().out


def test_validate_missing_file_is_one_line_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "no/such/file.csv"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["metaoutcome validate: error: no/such/file.csv: no such file"]


def test_unknown_table_choice_is_one_line_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--table", "orr", "x.csv"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("metaoutcome validate: error: argument --table: invalid choice: 'orr'")
    assert err[0].endswith("(see 'metaoutcome validate --help')")


def test_unknown_command_is_one_line_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["poll"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "invalid choice: 'poll'" in err[0]


def test_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    assert "Examples:" in capsys.readouterr().out


def test_no_command_prints_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "reproduce" in capsys.readouterr().out


def _fake_run_all(calls: list[dict[str, Any]], failures: dict[str, str]) -> Any:
    """Stands in for reproduce.run_all (run end to end in test_reproduce.py, ~15 s): records the call."""

    def run_all(out: Path, *, only: Any = None, progress: Any = print, show_traceback: bool = False,
                jobs: int | None = None, force: bool = False, extra_files: Any = None) -> Any:
        calls.append(dict(out=Path(out), only=only, show_traceback=show_traceback, jobs=jobs, force=force,
                          extra_files=sorted(extra_files or {})))
        Path(out).mkdir(parents=True, exist_ok=True)
        for rel, text in (extra_files or {}).items():
            (Path(out) / rel).write_text(text)
        progress("  fake analysis ... ok")
        return reproduce.ReproduceReport(Path(out), {"fake": "ok"}, failures, Path(out) / "manifest.json",
                                         Path(out) / "report.html")

    return run_all


def test_reproduce_validates_summarises_and_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(reproduce, "run_all", _fake_run_all(calls, {}))
    out = tmp_path / "results"
    assert main(["reproduce", "--out", str(out), "--only", "hcc_after_first_line", "--traceback", "--jobs", "1"]) == 0
    text = (out / "evidence_summary.md").read_text()
    assert "| trials |" in text and "NSCLC" in text and "HCC" in text
    assert calls == [dict(out=out, only=["hcc_after_first_line"], show_traceback=True, jobs=1, force=False,
                          extra_files=["evidence_summary.md"])]
    printed = capsys.readouterr().out
    assert "validating the bundled data" in printed and "0 error(s)" in printed
    assert "fake analysis ... ok" in printed and f"open {out / 'report.html'}" in printed


def test_reproduce_failed_analysis_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reproduce, "run_all", _fake_run_all([], {"fake": "ValueError: boom"}))
    assert main(["reproduce", "--out", str(tmp_path)]) == 1
    assert "reproduce: 1 analysis(es) failed: fake" in capsys.readouterr().err


def test_reproduce_unknown_analysis_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["reproduce", "--out", str(tmp_path), "--only", "nope"]) == 2
    assert capsys.readouterr().err.startswith("metaoutcome reproduce: error: unknown analyses ['nope']")


@pytest.mark.parametrize("jobs", ["0", "two"])
def test_reproduce_jobs_must_be_a_positive_whole_number(jobs: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["reproduce", "--jobs", jobs]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"metaoutcome reproduce: error: argument --jobs: {jobs!r} is not a positive whole number")
    assert err.count("\n") == 1


def test_reproduce_unwritable_out_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["reproduce", "--out", str(blocker / "sub")]) == 2
    assert capsys.readouterr().err.startswith("metaoutcome reproduce: error: --out ")


@pytest.mark.parametrize("argv", [["--traceback", "validate", "no/such/file.csv"], ["validate", "no/such/file.csv", "--traceback"]],
                         ids=["before-command", "after-command"])
def test_traceback_flag_reraises(argv: list[str]) -> None:
    with pytest.raises(CLIError, match="no such file"):
        main(argv)


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


def test_every_command_is_listed() -> None:
    assert set(_subcommands()) == {"pool", "validate", "list", "reproduce"}


@pytest.mark.parametrize("command", ["pool", "validate", "list", "reproduce"])
def test_help_documents_every_option_with_an_example(command: str) -> None:
    parser = _subcommands()[command]
    text = parser.format_help()
    assert "\nExamples:\n" in text
    examples = text.split("\nExamples:\n", 1)[1]
    assert examples.strip() and all(line.startswith("  ") for line in examples.splitlines() if line.strip())
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        assert action.help and action.help != argparse.SUPPRESS, f"{command}: {action.dest} has no help"
        if action.option_strings:
            long = max(action.option_strings, key=len)
            assert long in text.split("\nExamples:\n")[0], f"{command}: {long} is not documented"
            assert long in examples, f"{command}: no example uses {long}"


def test_help_in_a_subprocess() -> None:
    res = subprocess.run([sys.executable, "-m", "metaoutcome", "validate", "--help"], capture_output=True, text=True)
    assert res.returncode == 0 and "Examples:" in res.stdout
