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
    assert set(_subcommands()) == {"pool", "validate", "list", "reproduce", "design"}


@pytest.mark.parametrize("command", ["pool", "validate", "list", "reproduce", "design"])
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


# ------------------------------------------------------------------------------------------------
# issue 13: validate --map, and reproduce never loses a user's work
# ------------------------------------------------------------------------------------------------


def test_validate_map_checks_the_file_as_pool_reads_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "mine.csv"
    f.write_text("Study,HR,Lower,Upper,Level\nA,0.8,0.7,0.9,0.95\nB,0.5,0.9,1.1,95\n")
    maps = ["--map", "HR=hr", "--map", "Lower=ci_low", "--map", "Upper=ci_high", "--map", "Level=ci_level"]
    assert main(["validate", "--table", "hazard_ratios", *maps, str(f)]) == 1
    out = capsys.readouterr().out
    assert f"{f}:2:Level: warning: ci_level 0.95 read as 95% (a proportion; the level rule)" in out
    assert f"{f}:3:Lower: the CI (0.9 to 1.1) does not contain hr 0.5" in out
    # the same file pooled names the same problem, in the same words
    assert main(["pool", str(f), "--table", "hazard_ratios", *maps]) == 2
    assert f"{f}:3:Lower: the CI (0.9 to 1.1) does not contain hr 0.5" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--map", "HR"], "--map 'HR': expected YOUR_COLUMN=OUR_COLUMN, e.g. --map HR=hr"),
        (["--map", "Hazard=hr"], "--map Hazard=hr: no file has a column 'Hazard'"),
        (["--map", "HR=hr", "--map", "Lower=hr"], "--map Lower=hr: two columns are mapped to 'hr'"),
    ],
)
def test_validate_map_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> None:
    f = tmp_path / "mine.csv"
    f.write_text("HR,Lower,Upper\n0.8,0.7,0.9\n")
    assert main(["validate", "--table", "hazard_ratios", *argv, str(f)]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [f"metaoutcome validate: error: {message}"]


def test_validate_map_needs_files(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--map", "HR=hr"]) == 2
    assert "--map: give the files to read" in capsys.readouterr().err


def test_validate_reports_the_unterminated_quote(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = [str(CORPUS / n) for n in ("sources.csv", "trials.csv", "unterminated_quote_proportions.csv")]
    assert main(["validate", "--standalone", *files]) == 1
    out = capsys.readouterr().out
    assert "unterminated_quote_proportions.csv:4:-: a quote opened on this line is never closed" in out


def _previous_run(folder: Path) -> None:
    """A complete earlier output of ours: one file and the manifest that lists it."""
    import hashlib
    import json

    folder.mkdir(parents=True)
    (folder / "report.html").write_text("<p>earlier</p>")
    digest = hashlib.sha256(b"<p>earlier</p>").hexdigest()
    (folder / "manifest.json").write_text(json.dumps({"generated_by": "metaoutcome reproduce",
                                                      "outputs": {"report.html": digest}}))


def test_reproduce_refuses_a_folder_with_the_users_files(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(reproduce, "run_all", _fake_run_all(calls, {}))
    out = tmp_path / "R"
    _previous_run(out)
    (out / "nsclc_pd1_vs_docetaxel").mkdir()
    (out / "nsclc_pd1_vs_docetaxel" / "my_edits.md").write_text("x")
    (out / "my_notes.txt").write_text("x")
    assert main(["reproduce", "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert captured.err.strip().splitlines() == [
        f"metaoutcome reproduce: error: {out}: holds 2 file(s) that metaoutcome reproduce did not write (not in its "
        "manifest.json): my_notes.txt, nsclc_pd1_vs_docetaxel/; move them away or choose another folder (--force / "
        "force=True replaces the folder and deletes them)"
    ]
    assert calls == [] and "validating" not in captured.out  # refused before any work
    assert main(["reproduce", "--out", str(out), "--force"]) == 0
    assert calls[0]["force"] is True


def _unprivileged() -> list[str]:
    """A prefix that runs a command as an ordinary user (root ignores file permissions)."""
    import os
    import shutil

    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: file permissions cannot be tested")
    prefix = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    # the ordinary user must be able to run this interpreter and import the package (a virtual
    # environment inside a private folder, as mktemp -d makes, is unreadable to it)
    probe = subprocess.run([*prefix, sys.executable, "-c", "import metaoutcome.cli"], capture_output=True, cwd="/")
    if probe.returncode != 0:
        pytest.skip("an ordinary user cannot run this Python installation here: file permissions cannot be tested")
    return prefix


@pytest.mark.parametrize("case", ["read-only DIR", "read-only parent"])
def test_reproduce_into_a_read_only_place_is_one_line(case: str) -> None:
    import os
    import shutil
    import tempfile

    prefix = _unprivileged()
    base = Path(tempfile.mkdtemp(prefix="metaoutcome-ro-"))
    home = base
    try:
        os.chmod(base, 0o755)
        if prefix:
            os.chown(base, 65534, 65534)
        if case == "read-only DIR":
            out = base / "R"
            _previous_run(out)
            if prefix:
                for p in (out, *out.iterdir()):
                    os.chown(p, 65534, 65534)
            os.chmod(out, 0o555)
        else:
            out = base / "R"
            os.chmod(base, 0o555)
        before = sorted(str(p) for p in base.rglob("*"))
        home = Path(tempfile.mkdtemp(prefix="metaoutcome-home-"))
        os.chmod(home, 0o777)
        env = dict(os.environ, MPLCONFIGDIR=str(home), HOME=str(home))
        res = subprocess.run([*prefix, sys.executable, "-m", "metaoutcome", "reproduce", "--out", str(out)],
                             capture_output=True, text=True, env=env, cwd="/")
        lines = res.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in res.stderr, res.stderr
        if case == "read-only DIR":
            assert res.returncode == 2
            assert lines[0] == (f"metaoutcome reproduce: error: {out}: the folder is read-only; make it writable or "
                                "choose another folder")
        else:
            assert res.returncode == 1
            assert lines[0] == (f"metaoutcome reproduce: error: {base}: Permission denied (the output is built beside "
                                f"R, so this folder must be writable); {out} left as it was")
        assert sorted(str(p) for p in base.rglob("*")) == before
    finally:
        for p in (base, *base.rglob("*")):
            if p.is_dir():
                os.chmod(p, 0o755)
        shutil.rmtree(base)
        shutil.rmtree(home, ignore_errors=True)


@pytest.mark.parametrize("command", ["pool", "validate", "list", "reproduce"])
@pytest.mark.parametrize("raised, code, line", [
    (KeyboardInterrupt(), 130, "interrupted"),
    (OSError(28, "No space left on device", "/somewhere/file.pdf"), 1, "error: /somewhere/file.pdf: No space left on device"),
], ids=["ctrl-c", "disk-full"])
def test_every_command_ends_an_interrupt_or_os_error_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
    command: str, raised: BaseException, code: int, line: str,
) -> None:
    from metaoutcome import datasets, pooling, validation

    def boom(*args: Any, **kwargs: Any) -> Any:
        raise raised

    target = {"pool": (pooling, "pool"), "validate": (validation, "validate_files"), "list": (datasets, "list_datasets"),
              "reproduce": (reproduce, "run_all")}[command]
    monkeypatch.setattr(*target, boom)
    argv = {"pool": ["pool", str(Path(__file__).parent / "data" / "cli" / "synthetic_effects.csv"), "--yi", "logHR",
                     "--sei", "se"],
            "validate": ["validate"], "list": ["list"], "reproduce": ["reproduce", "--out", str(tmp_path / "R")]}[command]
    assert main(argv) == code
    err = capsys.readouterr().err.strip().splitlines()
    note = f"; {tmp_path / 'R'} left as it was" if command == "reproduce" else ""
    assert err == [f"metaoutcome {command}: {line}{note}"]
    assert not (tmp_path / "R").exists()


def test_cli_modules_are_small() -> None:
    from metaoutcome import cli

    for path in Path(cli.__file__).parent.glob("*.py"):
        assert len(path.read_text().splitlines()) <= 800, path.name


def test_a_new_command_is_one_module(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from metaoutcome import cli

    (tmp_path / "hello.py").write_text(
        "NAME = 'hello'\n"
        "def add_parser(subparsers):\n"
        "    p = subparsers.add_parser(NAME, help='say hello')\n"
        "    p.add_argument('--who', default='world')\n"
        "    return p\n"
        "def run(args):\n"
        "    if args.who == 'nobody':\n"
        "        raise ValueError('--who nobody: there is no one to greet')\n"
        "    print('hello', args.who)\n"
        "    return 0\n"
    )
    monkeypatch.setattr(cli, "__path__", [*cli.__path__, str(tmp_path)])
    monkeypatch.delitem(sys.modules, "metaoutcome.cli.hello", raising=False)
    try:
        assert main(["hello", "--who", "R users"]) == 0
        assert capsys.readouterr().out == "hello R users\n"
        assert main(["hello", "--who", "nobody"]) == 2
        assert capsys.readouterr().err == "metaoutcome hello: error: --who nobody: there is no one to greet\n"
        assert main(["--help"]) == 0 and "say hello" in capsys.readouterr().out
    finally:
        sys.modules.pop("metaoutcome.cli.hello", None)


def test_reproduce_on_a_full_disk_is_one_line_and_leaves_the_output(tmp_path: Path) -> None:
    """A real full file system: a 1 MiB tmpfs holding an earlier output (mounting needs root)."""
    import os
    import shutil
    import tempfile

    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small file system needs root")
    disk = Path(tempfile.mkdtemp(prefix="metaoutcome-full-"))
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(disk)], capture_output=True).returncode:
        shutil.rmtree(disk)
        pytest.skip("this machine does not let us mount a tmpfs")
    try:
        out = disk / "R"
        _previous_run(out)
        before = {p.name: p.read_bytes() for p in out.iterdir()}
        res = subprocess.run([sys.executable, "-m", "metaoutcome", "reproduce", "--out", str(out), "--jobs", "2"],
                             capture_output=True, text=True, cwd=tmp_path)
        lines = res.stderr.strip().splitlines()
        assert res.returncode == 1, res.stderr
        assert len(lines) == 1 and "Traceback" not in res.stderr, res.stderr
        assert lines[0].startswith("metaoutcome reproduce: error: ") and "No space left on device" in lines[0]
        assert lines[0].endswith(f"; {out} left as it was")
        assert {p.name: p.read_bytes() for p in out.iterdir()} == before
        assert sorted(p.name for p in disk.iterdir()) == ["R"]
    finally:
        subprocess.run(["umount", str(disk)], capture_output=True)
        shutil.rmtree(disk, ignore_errors=True)
