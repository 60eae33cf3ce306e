"""Sphinx helpers of the convfx docs: facts read from the registry, and gallery figures.

* ``convfx-filter-table`` (directive): the named filters and detectors, one row each,
  built from :func:`convfx.list_filters` and the detector registry when the docs are
  built, in the order and with the columns of ``convfx filters``.
* ``convfx-layers`` (directive): the import-linter layers of ``pyproject.toml``.
* ``convfx-count`` (role): a count from the registry, ``{convfx-count}`filters``` (the
  bank filters, ``len(convfx.list_filters())``), ``effects`` (the rows of ``convfx
  filters``: bank filters and detectors) or ``detectors``; so no page types a number
  that a new filter would make wrong.
* ``autodoc-process-docstring``: a constant without a doc-comment of its own gets
  no docstring, rather than its type's (``tuple``, ``ndarray``...).
* :class:`FigureScraper`: the gallery's scraper for figures that :mod:`convfx.plots`
  builds on matplotlib's object API (no pyplot), found among the script's variables.

This module must not compute anything the library computes: it only reads the
registry and draws what the scripts made.
"""

from __future__ import annotations

from typing import Any

from docutils import nodes
from docutils.parsers.rst import Directive


def _rows() -> list[tuple[str, str, str, str, str]]:
    """``convfx filters``' rows: (name, family, size, range, description), sorted by family then name."""
    import convfx
    from convfx import steps

    detectors = {item.name for item in steps.list_detectors()}
    items = sorted([*convfx.list_filters(), *steps.list_detectors()], key=lambda item: (item.family, item.name))
    return [
        (
            item.name,
            item.family,
            "detector" if item.name in detectors else item.size_label,
            item.output_range,
            item.description,
        )
        for item in items
    ]


def counts() -> dict[str, int]:
    """The counts the ``convfx-count`` role can print, by name."""
    import convfx
    from convfx import steps

    filters, detectors = len(convfx.list_filters()), len(steps.list_detectors())
    return {"filters": filters, "detectors": detectors, "effects": filters + detectors}


def _cell(text: str, *, literal: bool = False) -> nodes.entry:
    """One table cell holding ``text`` as plain words, or as code when ``literal``."""
    inline = nodes.literal(text, text) if literal else nodes.Text(text)
    return nodes.entry("", nodes.paragraph("", "", inline))


def _row(cells: list[nodes.entry]) -> nodes.row:
    row = nodes.row()
    row.extend(cells)
    return row


def filter_table() -> nodes.table:
    """The docutils table of ``convfx filters``: a header row, then one row per filter or detector.

    Built as nodes rather than as reStructuredText text, so it is the same table on a
    MyST Markdown page (whose nested parser reads Markdown) as on an rst page.
    """
    widths = (18, 10, 10, 10, 52)
    group = nodes.tgroup(cols=len(widths))
    group.extend(nodes.colspec(colwidth=width) for width in widths)
    head = nodes.thead()
    head.append(_row([_cell(title) for title in ("name", "family", "size", "range", "description")]))
    body = nodes.tbody()
    for name, family, size, output_range, description in _rows():
        body.append(
            _row(
                [
                    _cell(name, literal=True),
                    _cell(family),
                    _cell(size),
                    _cell(output_range, literal=True),
                    _cell(description),
                ]
            )
        )
    group += [head, body]
    return nodes.table("", group, classes=["convfx-filter-table"])


class FilterTable(Directive):
    """``.. convfx-filter-table::`` -- the table ``convfx filters`` prints, built at build time."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        return [filter_table()]


class LayerList(Directive):
    """``.. convfx-layers::`` -- the import-linter layers of ``pyproject.toml``, top to bottom.

    The contract CI checks is the one the page shows: nothing is copied by hand.
    """

    has_content = False

    def run(self) -> list[nodes.Node]:
        from pathlib import Path

        try:
            import tomllib
        except ImportError:  # Python 3.10
            import tomli as tomllib

        pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
        self.state.document.settings.record_dependencies.add(str(pyproject))
        contracts = tomllib.loads(pyproject.read_text(encoding="utf-8"))["tool"]["importlinter"]["contracts"]
        layers = next(c for c in contracts if c.get("type") == "layers")["layers"]
        text = "\n".join(" | ".join(part.strip().removeprefix("convfx.") for part in layer.split("|")) for layer in layers)
        block = nodes.literal_block(text, text)
        return [block]


def count_role(name, rawtext, text, lineno, inliner, options=None, content=None):
    """``:convfx-count:`filters``` -> the number, as text."""
    known = counts()
    if text not in known:
        message = inliner.reporter.error(f"convfx-count: expected one of {sorted(known)}, found {text!r}", line=lineno)
        return [inliner.problematic(rawtext, rawtext, message)], [message]
    return [nodes.Text(str(known[text]))], []


def drop_type_docstrings(app, what, name, obj, options, lines) -> None:
    """A constant shows its own doc-comment, never the docstring of its type."""
    if what not in ("data", "attribute") or not lines:
        return
    from sphinx.util.docstrings import prepare_docstring

    inherited = getattr(obj, "__doc__", None)  # on a value, its type's docstring
    if isinstance(inherited, str) and [line for line in lines if line.strip()] == [
        line for line in prepare_docstring(inherited) if line.strip()
    ]:
        lines[:] = []


class FigureScraper:
    """Collect the matplotlib figures a gallery script left in its variables.

    :mod:`convfx.plots` draws on the object API (``matplotlib.figure.Figure`` on an
    Agg canvas) and never registers figures with pyplot, so the matplotlib scraper
    does not see them.  Each figure is saved once, in the order the variables were
    made.
    """

    def __init__(self) -> None:
        self.script = ""
        self.seen: list = []  # the figures themselves, so that no id is reused while they are known

    def __repr__(self) -> str:  # a stable repr: Sphinx compares the configuration between builds
        return "FigureScraper()"

    def __call__(self, block: Any, block_vars: dict, gallery_conf: dict) -> str:
        from matplotlib.figure import Figure
        from sphinx_gallery.scrapers import figure_rst

        if block_vars.get("src_file") != self.script:
            self.script, self.seen = block_vars.get("src_file"), []
        found = [value for value in block_vars["example_globals"].values() if isinstance(value, Figure)]
        paths = []
        for figure in found:
            if any(figure is known for known in self.seen):
                continue
            self.seen.append(figure)
            path = next(block_vars["image_path_iterator"])
            figure.savefig(path, dpi=80)
            paths.append(path)
        return figure_rst(paths, gallery_conf["src_dir"])


def setup(app) -> dict:
    app.add_directive("convfx-filter-table", FilterTable)
    app.add_directive("convfx-layers", LayerList)
    app.add_role("convfx-count", count_role)
    app.connect("autodoc-process-docstring", drop_type_docstrings, priority=400)  # before numpydoc (500)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1"}
