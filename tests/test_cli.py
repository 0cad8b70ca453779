"""The command line: each command, its options and its error paths."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from metaoutcome.cli import main

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


def test_unknown_table_choice_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["validate", "--table", "orr", "x.csv"])
    assert exc.value.code == 2
    assert "invalid choice: 'orr'" in capsys.readouterr().err


def test_no_command_prints_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "reproduce" in capsys.readouterr().out


def test_reproduce_writes_summary_report_and_manifest(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "results"
    assert main(["reproduce", "--out", str(out)]) == 0
    text = (out / "evidence_summary.md").read_text()
    assert "| trials |" in text and "NSCLC" in text and "HCC" in text
    assert (out / "report.html").exists() and (out / "manifest.json").exists()
    assert "validating the bundled data" in capsys.readouterr().out


def test_reproduce_unknown_analysis_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["reproduce", "--out", str(tmp_path), "--only", "nope"]) == 2
    assert capsys.readouterr().err.startswith("metaoutcome reproduce: error: unknown analyses ['nope']")


def test_reproduce_unwritable_out_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["reproduce", "--out", str(blocker / "sub")]) == 2
    assert capsys.readouterr().err.startswith("metaoutcome reproduce: error: --out ")


def test_traceback_flag_reraises() -> None:
    with pytest.raises(Exception):
        main(["--traceback", "validate", "no/such/file.csv"])


@pytest.mark.parametrize("command", ["reproduce", "validate", "list"])
def test_help_has_an_example(command: str) -> None:
    res = subprocess.run([sys.executable, "-m", "metaoutcome", command, "--help"], capture_output=True, text=True)
    assert res.returncode == 0 and "Example" in res.stdout
