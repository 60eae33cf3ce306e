"""Sphinx configuration of the convfx documentation.

One command builds it, offline, from the repository root:

    python -m sphinx -W --keep-going -b html docs docs/_build/html

Nothing here downloads: no intersphinx inventories, no web fonts, no CDN; the
gallery runs its scripts on the bundled samples and the shipped models.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import convfx

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS / "_ext"))
os.environ.setdefault("MPLBACKEND", "Agg")

project = "convfx"
author = "convfx developers"
copyright = "convfx developers"
release = convfx.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
    "sphinxcontrib.typer",
    "convfx_docs",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
# sg_execution_times.rst: sphinx-gallery's timing page loads DataTables from a CDN
exclude_patterns = ["_build", "**/GALLERY_HEADER.rst", "sg_execution_times.rst"]
templates_path = ["_templates"]
root_doc = "index"

# --- MyST: the guide pages are Markdown, as the README was -----------------------
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

# --- API reference ----------------------------------------------------------------
autosummary_generate = True
autosummary_imported_members = True
autodoc_typehints = "none"  # numpydoc's Parameters section says the types
autodoc_default_options = {"inherited-members": False}
# Class pages (docs/_templates/autosummary/class.rst) render the class docstring and
# those of the public methods and properties the class itself defines.
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = False
# A public function, class or method whose docstring lacks a Parameters section (for
# parameters it has) or a Returns section (when it returns a value) is a build
# warning, and -W makes it an error: the API reference cannot lose them unnoticed.
# (The Examples of the names most users import are required, and run, by
# tests/test_docs.py.)
numpydoc_validation_checks = {"PR01", "RT01"}
# A dataclass documents its fields once, as Attributes: they are its parameters too.
numpydoc_validation_overrides = {"PR01": [r"\n\s*Attributes\n\s*-{5,}"]}
numpydoc_validation_exclude = {
    r"\.__init__$",  # the class docstring documents the constructor
    r"\.__\w+__$",  # dunder methods are not part of the reading path
}

# --- The example gallery -----------------------------------------------------------
from convfx_docs import FigureScraper  # noqa: E402  (after sys.path has _ext)

sphinx_gallery_conf = {
    "examples_dirs": ["examples"],
    "gallery_dirs": ["auto_examples"],
    "filename_pattern": r"/plot_",
    "image_scrapers": ("matplotlib", FigureScraper()),
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    "reset_modules": ("matplotlib",),
    "min_reported_time": 1,
    "show_memory": False,
    "plot_gallery": "True",
    "abort_on_example_error": True,
    "matplotlib_animations": False,
    "show_signature": False,
    # The execution-times page loads DataTables from a CDN: the site must work offline.
    "write_computation_times": False,
    "copyfile_regex": "",
}

# --- CLI reference (sphinxcontrib-typer) -----------------------------------------
# (the directive asks for plain text: no SVG, whose web font would come from a CDN)

# --- HTML ---------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"convfx {release}"
html_static_path = ["_static"]
html_css_files = ["convfx.css"]
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "navbar_align": "left",
    "header_links_before_dropdown": 7,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": [],
    "use_edit_page_button": False,
    "icon_links": [],
}
html_sidebars = {"index": [], "benchmarks": [], "architecture": [], "extras": [], "cli": []}
html_show_sourcelink = False
html_copy_source = False
html_last_updated_fmt = None
