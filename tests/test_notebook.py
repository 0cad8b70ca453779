"""The walk-through notebook runs in a real Jupyter kernel and shows the library's numbers.

The notebook is executed by nbclient in an IPython kernel started from this interpreter (a
kernelspec written to a temporary folder by ipykernel, so a ``python3`` kernel installed
elsewhere on the machine is never used), in a temporary working directory. nbclient, nbformat
and ipykernel are in the ``test`` extra: if they are missing the tests fail, they do not skip.
"""

from __future__ import annotations

import base64
import importlib
import json
import os
import re
import sys
import warnings
from importlib import resources
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import metaoutcome as mo
from metaoutcome import effects
from metaoutcome.printer import fmt_estimate_ci, fmt_x
from metaoutcome.report import pooled_table
from metaoutcome.review import one_population
from metaoutcome.results import PoolResult
from metaoutcome.printer import fmt_x

ROOT = Path(__file__).resolve().parents[1]
NAME = "walkthrough_nsclc_os.ipynb"
NOTEBOOK = ROOT / "analyses" / NAME

# per cell; the whole notebook runs in a few seconds, the margin is for a slow CI machine
CELL_TIMEOUT = 120
# an extra cell appended to the in-memory copy (never to the file): which Python runs the kernel
PROBE = "import sys; print(sys.executable)"

Direct = tuple[PoolResult, PoolResult, list[str]]


def _require(module: str) -> ModuleType:
    try:
        return importlib.import_module(module)
    except ImportError as exc:  # a failure, not a skip: CI installs the test extra
        pytest.fail(f"{module} is not installed; install the test extra: pip install -e '.[test]' ({exc})")


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The notebook after running it top to bottom in a fresh kernel of this interpreter."""
    nbformat = _require("nbformat")
    nbclient = _require("nbclient")
    ipykernel_spec = _require("ipykernel.kernelspec")
    kernelspec = _require("jupyter_client.kernelspec")

    tmp = tmp_path_factory.mktemp("notebook")
    jupyter_path = tmp / "share" / "jupyter"
    ipykernel_spec.write_kernel_spec(jupyter_path / "kernels" / "python3")
    workdir = tmp / "work"
    workdir.mkdir()

    nb = nbformat.read(NOTEBOOK, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(PROBE, id="probe-executable"))
    with pytest.MonkeyPatch.context() as mp:
        # JUPYTER_PATH comes first in the kernelspec search; IPYTHONDIR keeps the user's
        # profile and startup files out; the connection file goes to the temporary folder
        mp.setenv("JUPYTER_PATH", str(jupyter_path))
        mp.setenv("IPYTHONDIR", str(tmp / "ipython"))
        mp.setenv("JUPYTER_RUNTIME_DIR", str(tmp / "runtime"))
        spec = kernelspec.KernelSpecManager().get_kernel_spec("python3")
        assert spec.argv[0] == sys.executable, f"the python3 kernel would run {spec.argv[0]}, not {sys.executable}"
        client = nbclient.NotebookClient(
            nb, timeout=CELL_TIMEOUT, kernel_name="python3", resources={"metadata": {"path": str(workdir)}}
        )
        client.execute()
    return nb


def _cell(nb: Any, cell_id: str) -> Any:
    found = [c for c in nb.cells if c.get("id") == cell_id]
    assert len(found) == 1, f"the notebook has no cell with id {cell_id!r} (the tests find their outputs by cell id)"
    return found[0]


def _outputs(nb: Any, cell_id: str, mime: str) -> list[Any]:
    return [o["data"][mime] for o in _cell(nb, cell_id).outputs if mime in o.get("data", {})]


@pytest.fixture(scope="module")
def direct() -> Direct:
    """The review question computed here, with the library, outside the notebook and its kernel.

    Returns the default (REML, Wald) and HKSJ fits and the row ids that are not pooled.
    """
    hr = mo.load_dataset("hazard_ratios", cancer="NSCLC", endpoint="OS", with_trials=True)
    hr = hr[(hr["experimental_class"] == "PD-(L)1 monotherapy") & (hr["control_class"] == "chemotherapy")]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", effects.ExclusionWarning)
        es = one_population(effects.from_hazard_ratios(hr), ["trial_id", "endpoint"])
    used = effects.combine_shared_control(es[es["yi"].notna()])
    excluded = list(es.loc[es["yi"].isna(), "row_id"])
    return mo.pool(used, measure="HR"), mo.pool(used, measure="HR", method="REML", ci_method="knha"), excluded


def _natural_cells(res: PoolResult) -> str:
    """HR and its CI as consecutive cells of the pooled table, formatted as PoolResult's HTML does."""
    nat = res.back_transform()
    return "".join(f"<td>{fmt_x(x)}</td>" for x in (nat.estimate, nat.ci_low, nat.ci_high))


# -- the committed file ---------------------------------------------------------------------------


def test_committed_notebook_is_clean() -> None:
    nbformat = _require("nbformat")
    raw = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    nbformat.validate(nbformat.reads(json.dumps(raw), as_version=4))
    assert raw["metadata"]["kernelspec"]["name"] == "python3"
    code = [c for c in raw["cells"] if c["cell_type"] == "code"]
    assert code, "the notebook has no code cells"
    dirty = [c.get("id") for c in code if c["outputs"] or c["execution_count"] is not None or "execution" in c["metadata"]]
    assert not dirty, f"commit the notebook without outputs (clear all outputs before committing); cells with outputs: {dirty}"


def test_notebook_uses_only_the_public_api() -> None:
    # what a reader copies from the notebook must keep working: no private module, no private name
    raw = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    code = "\n".join("".join(c["source"]) for c in raw["cells"] if c["cell_type"] == "code")
    imports = [line.strip() for line in code.splitlines() if line.strip().startswith(("import ", "from "))]
    assert imports, "the notebook imports nothing?"
    private = [line for line in imports if re.search(r"(^|[\s.,])_[A-Za-z]", line)]
    assert not private, f"the notebook imports private names: {private}"
    assert not re.search(r"\b(?:mo|nsclc|effects)\._[A-Za-z]", code), "the notebook calls a private attribute"


def test_notebook_is_installed_with_the_analyses() -> None:
    # pyproject's package-data for metaoutcome._analyses must list *.ipynb
    assert resources.files("metaoutcome._analyses").joinpath(NAME).is_file()


# -- the executed notebook ------------------------------------------------------------------------


def test_runs_in_a_kernel_of_this_interpreter(executed: Any) -> None:
    text = "".join(o.get("text", "") for o in _cell(executed, "probe-executable").outputs)
    assert os.path.realpath(text.strip()) == os.path.realpath(sys.executable)


def test_no_errors_and_no_raw_warnings(executed: Any) -> None:
    errors = [(c.get("id"), o.get("ename"), o.get("evalue")) for c in executed.cells if c.cell_type == "code"
              for o in c.outputs if o.output_type == "error"]
    assert not errors
    stderr = [(c.get("id"), o.get("text")) for c in executed.cells if c.cell_type == "code"
              for o in c.outputs if o.output_type == "stream" and o.name == "stderr"]
    assert not stderr, f"a reader would see raw warnings: {stderr}"


@pytest.mark.parametrize("cell_id", ["pool", "pool-hksj", "leave-one-out", "influence", "egger", "excluded", "compare"])
def test_results_display_as_html_tables(executed: Any, cell_id: str) -> None:
    html = _outputs(executed, cell_id, "text/html")
    assert html and "<table" in html[-1]


def test_forest_plot_is_inline_png(executed: Any) -> None:
    png = _outputs(executed, "forest", "image/png")
    assert len(png) == 1, "the forest plot should be shown once"
    assert base64.b64decode(png[0])[:8] == b"\x89PNG\r\n\x1a\n"


def test_pooled_hr_shown_equals_the_library(executed: Any, direct: Direct) -> None:
    res, hksj, _ = direct
    (pooled_html,) = _outputs(executed, "pool", "text/html")
    assert pooled_html == res._repr_html_()
    assert _natural_cells(res) in pooled_html
    (hksj_html,) = _outputs(executed, "pool-hksj", "text/html")
    assert _natural_cells(hksj) in hksj_html


def test_natural_scale_table_is_the_reports(executed: Any, direct: Direct) -> None:
    # the side-by-side cell shows the report's natural-scale table of the same two fits, as HTML
    res, hksj, _ = direct
    (html,) = _outputs(executed, "compare", "text/html")
    expected = pooled_table({"OS HR (REML, Wald CI)": res, "OS HR (REML, HKSJ CI)": hksj})
    nat = res.back_transform()
    assert fmt_estimate_ci(nat.estimate, nat.ci_low, nat.ci_high) in html
    for cell in expected.to_numpy().ravel():
        assert str(cell).replace("<", "&lt;") in html


def test_results_paragraph_uses_the_computed_numbers(executed: Any, direct: Direct) -> None:
    res, hksj, excluded = direct
    (text,) = _outputs(executed, "text", "text/markdown")
    nat, hk = res.back_transform(), hksj.back_transform()
    assert f"Across {res.k} randomised trials" in text
    assert fmt_estimate_ci(nat.estimate, nat.ci_low, nat.ci_high) in text
    assert f"HKSJ CI {fmt_x(hk.ci_low, 2)} to {fmt_x(hk.ci_high, 2)}" in text
    assert f"{len(excluded)} reported hazard ratios were not pooled" in text
    assert f"metaoutcome {mo.__version__}" in text


def test_excluded_rows_are_shown_with_the_reason(executed: Any, direct: Direct) -> None:
    _, _, excluded = direct
    assert excluded
    (html,) = _outputs(executed, "excluded", "text/html")
    assert "exclusion_reason" in html
    assert [row for row in excluded if f"<td>{row}</td>" not in html] == []
