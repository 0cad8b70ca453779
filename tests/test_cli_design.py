"""``metaoutcome design`` on the command line."""

from __future__ import annotations

import pandas as pd
import pytest

from metaoutcome.cli import main


def run(capsys, *argv):
    rc = main(["design", *argv])
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_p0_as_a_number(capsys, tmp_path):
    target = tmp_path / "designs.csv"
    rc, out, err = run(capsys, "--p0", "0.1", "--p1", "0.3", "--out", str(target))
    assert rc == 0, err
    t = pd.read_csv(target)
    simon_opt = t[t.design == "Simon optimal"].iloc[0]
    assert (simon_opt.r1, simon_opt.n1, simon_opt.r, simon_opt.n) == (1, 10, 5, 29)  # Simon (1989)
    assert "A'Hern" in out and "p0 = 0.1000 (given)" in out
    assert [p.name for p in tmp_path.iterdir()] == ["designs.csv"]  # no temporary file left


def test_p0_from_bundled_arms(capsys):
    rc, out, err = run(capsys, "--where", "cancer=NSCLC", "--where", "regimen_class=chemotherapy", "--delta", "0.15")
    assert rc == 0, err
    assert "mean of the MAP prior; 4 arms" in out
    assert "not used: OAK: subset of the patients" in out  # excluded rows are listed, not dropped silently
    assert "Bayesian operating characteristics" in out


def test_p0_from_csv_of_arms_pooled(capsys, tmp_path):
    f = tmp_path / "arms.csv"
    f.write_text("label,events,n\nA,10,60\nB,14,70\nC,8,55\n")
    rc, out, err = run(capsys, "--arms", str(f), "--p0-from", "pool", "--p1", "0.35")
    assert rc == 0, err
    assert "REML pooled logit proportion; 3 arms" in out


@pytest.mark.parametrize("argv, msg", [
    (["--p0", "0.3", "--p1", "0.2"], "p1 must be larger than p0"),
    (["--p0", "1.3", "--p1", "0.2"], "p0 must be a probability"),
    (["--p0", "0.1", "--p1", "0.3", "--alpha", "0.7"], "alpha"),
    (["--p0", "0.1", "--p1", "0.3", "--power", "0.3"], "power"),
    (["--p0", "0.1"], "--p1"),
    ([], "--p0"),
    (["--where", "cancer"], "COLUMN=VALUE"),
    (["--where", "planet=Mars", "--p1", "0.3"], "planet"),
])
def test_bad_input_is_one_line_naming_the_argument(capsys, argv, msg):
    rc, out, err = run(capsys, *argv)
    assert rc == 2
    assert msg in err and err.startswith("metaoutcome design: error:")


def test_bad_csv_cell_names_file_row_column(capsys, tmp_path):
    f = tmp_path / "arms.csv"
    f.write_text("events,n\n10,60\nten,70\n")
    rc, out, err = run(capsys, "--arms", str(f), "--p1", "0.4")
    assert rc == 2 and f"{f}:3:events" in err


def test_design_nmax_100_warns_in_one_plain_line(capsys) -> None:  # type: ignore[no-untyped-def]
    # clinfun's nmax = 100 misses Simon's optimal design here (n = 104); the CLI says so on stderr, no traceback
    assert main(["design", "--p0", "0.4", "--p1", "0.55", "--power", "0.9", "--nmax", "100"]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("metaoutcome design: warning: simon: a design with n between 101 and")
    assert main(["design", "--p0", "0.4", "--p1", "0.55", "--power", "0.9"]) == 0
    out, err2 = capsys.readouterr()
    assert err2 == "" and "Simon optimal   19   45 49 104" in out
