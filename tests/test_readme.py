"""The README's Quick start has exactly two commands, and CI runs the second one verbatim."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def quick_start_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = re.search(r"^#+ [^\n]*[Qq]uick[ -]?[Ss]tart[^\n]*\n.*?```[^\n]*\n(.*?)```", text, re.S | re.M)
    assert section, "README.md has no Quick start code block"
    return [ln.strip() for ln in section.group(1).splitlines() if ln.strip() and not ln.strip().startswith("#")]


def test_quick_start_has_two_commands() -> None:
    cmds = quick_start_commands()
    assert len(cmds) == 2
    assert "metaoutcome reproduce" in cmds[0]
    assert "pytest" in cmds[1] and "[test]" in cmds[1]


def test_ci_runs_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert quick_start_commands()[1] in [ln.strip() for ln in ci]


def test_every_subpackage_is_packaged() -> None:
    # pyproject lists packages explicitly (the data and analyses folders are mapped in), so a
    # new subpackage must be added there or a plain `pip install .` silently leaves it out
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    listed = set(re.search(r"^packages = \[(.*?)\]", text, re.M).group(1).replace('"', "").replace(" ", "").split(","))
    on_disk = {
        "metaoutcome." + p.parent.relative_to(ROOT / "metaoutcome").as_posix().replace("/", ".")
        for p in (ROOT / "metaoutcome").rglob("__init__.py")
        if p.parent != ROOT / "metaoutcome"
    }
    assert on_disk <= listed, f"not in pyproject packages: {sorted(on_disk - listed)}"
