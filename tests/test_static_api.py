"""What type checkers and editors see: every public name, with its signature (issue 18).

``metaoutcome/__init__.py`` loads its names lazily through ``__getattr__``, which a type checker
cannot follow; a ``TYPE_CHECKING`` block imports the same names statically. These tests keep the
two lists in step and check that mypy sees ``metaoutcome.pool``'s real signature from a user's
script, and that the package ships ``py.typed``.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

import metaoutcome

ROOT = Path(__file__).resolve().parents[1]


def _type_checking_names() -> set[str]:
    tree = ast.parse((ROOT / "metaoutcome" / "__init__.py").read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for stmt in node.body:
                if isinstance(stmt, ast.ImportFrom):
                    names.update(a.asname or a.name for a in stmt.names)
    return names


def test_type_checking_block_lists_every_public_name() -> None:
    public = {n for n in metaoutcome.__all__ if not n.startswith("__")}
    static = _type_checking_names()
    assert public - static == set(), "in __all__ but invisible to type checkers"
    assert static - public == set(), "imported for type checkers but not public"


def test_every_public_name_resolves() -> None:
    for name in metaoutcome.__all__:
        assert getattr(metaoutcome, name) is not None


def test_every_figure_function_is_exported() -> None:
    import metaoutcome.plotting as plotting

    for module in ("forest", "funnel", "diagnostics", "bubble", "sensitivity", "gosh"):
        mod = __import__(f"metaoutcome.plotting.{module}", fromlist=["_"])
        drawn = [n for n, v in vars(mod).items() if callable(v) and not n.startswith("_")
                 and getattr(v, "__module__", "") == mod.__name__ and n.endswith(("plot", "forest", "funnel"))]
        for name in drawn:
            assert name in plotting.__all__, f"{mod.__name__}.{name} is a figure function but not exported"
    assert "gosh_plot" in plotting.__all__ and "gosh_plot" in metaoutcome.__all__


def test_package_ships_py_typed() -> None:
    assert (ROOT / "metaoutcome" / "py.typed").is_file()
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert '"metaoutcome" = ["py.typed"]' in text


def test_mypy_sees_pool_signature_from_a_user_script(tmp_path: Path) -> None:
    pytest.importorskip("mypy")
    script = tmp_path / "user_script.py"
    script.write_text(
        "import metaoutcome\n"
        "reveal_type(metaoutcome.pool)\n"
        "res = metaoutcome.pool([0.1, 0.2], [0.01, 0.02], method='REML')\n"
        "reveal_type(res.tau2)\n"
        "metaoutcome.pool([0.1], [0.01], not_an_argument=1)\n",
        encoding="utf-8",
    )
    # An editable install is found through an import hook that mypy does not follow; MYPYPATH
    # points it at the source tree, which is what a regular install puts on the path.
    env = {**os.environ, "MYPYPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict-optional", "--no-incremental", "--follow-imports=silent",
         "--cache-dir", str(tmp_path / "cache"), str(script)],
        capture_output=True, text=True, cwd=tmp_path, env=env,
    ).stdout
    assert 'Revealed type is "def (yi:' in out, out
    assert "method: str =" in out and "level: float =" in out, out
    assert "-> metaoutcome.results.PoolResult" in out and "Revealed type is \"float\"" in out, out
    assert 'Unexpected keyword argument "not_an_argument"' in out, out
