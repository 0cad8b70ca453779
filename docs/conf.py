"""Sphinx configuration for the metaoutcome documentation.

Build from a fresh clone with ``pip install -e ".[docs]"`` and
``sphinx-build -W --keep-going -b html docs docs/_build/html`` (warnings are errors; the gallery
and tutorial scripts run during the build, so a broken example fails it).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))
os.environ.setdefault("MPLBACKEND", "Agg")

import metaoutcome  # noqa: E402
import mo_generated  # noqa: E402  (docs/_ext: the API index and the data dictionary)

# Written before Sphinx reads the sources, so autosummary sees the generated API index.
mo_generated.generate(HERE)

project = "metaoutcome"
author = "metaoutcome developers"
copyright = "metaoutcome developers"
version = release = metaoutcome.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.intersphinx",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "_generated_src", "**.ipynb_checkpoints", "gallery/README.rst",
                    "tutorials/README.rst"]
templates_path = ["_templates"]

autosummary_generate = True
autosummary_imported_members = False
autosummary_ignore_module_all = False
autodoc_default_options = {"members": False}
autodoc_typehints = "none"  # numpydoc's Parameters sections carry the types
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_validation_checks: set[str] = set()
numpydoc_xref_param_type = False

myst_enable_extensions = ["colon_fence"]
myst_heading_anchors = 3

intersphinx_mapping: dict[str, tuple[str, None]] = {}  # no network at build time

sphinx_gallery_conf = {
    "examples_dirs": ["gallery", "tutorials"],
    "gallery_dirs": ["auto_gallery", "auto_tutorials"],
    "filename_pattern": r"/(plot|tutorial)_",
    "download_all_examples": False,
    "remove_config_comments": True,
    "abort_on_example_error": True,
    "only_warn_on_example_error": False,
    "image_scrapers": ("mo_scraper.scrape",),
    "matplotlib_animations": False,
    "reset_modules": ("matplotlib",),
    "within_subsection_order": "FileNameSortKey",
    "show_memory": False,
    "show_signature": False,
}

html_theme = "alabaster"
html_theme_options = {
    "description": "Meta-analysis of the outcomes oncology trials report",
    "page_width": "1180px",
    "sidebar_width": "240px",
    "fixed_sidebar": True,
}
html_static_path: list[str] = []
html_last_updated_fmt = None
html_show_sourcelink = False
# Doctest-style prompts in docstrings render as they are; nothing is fetched at build time.
suppress_warnings = ["config.cache"]
