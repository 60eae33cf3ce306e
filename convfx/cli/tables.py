"""Tables on the terminal that stay readable at any width: the one way commands print rows.

A command describes its table (:class:`Column`\\ s and rows of cells) and calls
:func:`print_table`, which chooses the layout from the console's width:

* the table, as wide as its content, when every column gets its widest cell;
* the same table with cells wrapped at spaces, when every column can still get its
  longest word (the widest columns give up width first);
* otherwise one block per row: the row's heading (``#0  edge detector``), then its
  other cells as indented ``key: value`` lines that wrap.

No cell is ever cut short with an ellipsis, and no line is wider than the console.

This module must not compute what the rows say (the commands and the library do)
and must not decide what is printed beyond the layout.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from rich import box
from rich.cells import cell_len
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

__all__ = ["Column", "Record", "print_table", "column_widths"]

Cell = str | Text

#: Indent of the ``key: value`` lines under a record's heading.
RECORD_INDENT = 4
# Below this width for the values, each value goes under its key instead of beside it.
_NARROWEST_VALUE = 12
# A width no table reaches, to measure one at its natural width.
_UNLIMITED = 1_000_000


@dataclass(frozen=True)
class Column:
    """One column of a table printed by :func:`print_table`.

    Attributes
    ----------
    header : str
        Its heading in the table.
    justify : {"left", "right"}
        Alignment of its cells in the table.
    label : str or None
        Its key in the one-block-per-row layout, where the neighbouring columns
        that explain it are not in sight (``"derivative similarity"`` for a
        ``"similarity"`` column).  Default: ``header``.
    style : str or None
        A rich style for its cells in the table (``"bold"``).
    """

    header: str
    justify: Literal["left", "right"] = "left"
    label: str | None = None
    style: str | None = None

    @property
    def key(self) -> str:
        return self.label or self.header


@dataclass(frozen=True)
class Record:
    """One row as a block, for a table whose rows read better as a sentence than cell by cell.

    Attributes
    ----------
    heading : Text or str
        The block's first line.
    fields : sequence of (str, Text or str)
        The ``key: value`` lines under it.
    """

    heading: Cell
    fields: Sequence[tuple[str, Cell]]


def _text(cell: Cell) -> Text:
    # A plain str is shown as written: a file named [draft].png is not rich markup.
    return cell.copy() if isinstance(cell, Text) else Text(cell)


def _widest_line(text: Text) -> int:
    return max((cell_len(line) for line in text.plain.split("\n")), default=0)


def _longest_word(text: Text) -> int:
    return max((cell_len(word) for word in text.plain.split()), default=0)


def column_widths(natural: Sequence[int], minimum: Sequence[int], budget: int) -> list[int] | None:
    """Widths of the columns' content in ``budget`` cells, or None if even their minima do not fit.

    Each column gets its natural width (its widest line) when they all fit; otherwise
    the widest columns shrink first, evenly, each no further than its minimum (its
    longest word), so a column of short numbers keeps its width while a column of
    prose wraps.

    Parameters
    ----------
    natural, minimum : sequence of int, length C
        Per column, the width without wrapping and the width of its longest word.
    budget : int
        Cells available for the columns' content (the console's width less borders and padding).

    Returns
    -------
    list of int, length C, or None
        ``widths[i]`` between ``minimum[i]`` and ``natural[i]``, summing to at most ``budget``.

    Examples
    --------
    >>> column_widths([10, 30], [5, 8], 40)
    [10, 30]
    >>> column_widths([10, 30], [5, 8], 25)
    [10, 15]
    >>> column_widths([10, 30], [5, 8], 12) is None
    True
    """
    floors = [min(low, high) for low, high in zip(minimum, natural)]
    if sum(floors) > budget:
        return None
    # The largest cap t such that every column at min(natural, max(floor, t)) fits.
    cap = max(natural, default=0)
    while cap > 0 and sum(max(low, min(high, cap)) for low, high in zip(floors, natural)) > budget:
        cap -= 1
    return [max(low, min(high, cap)) for low, high in zip(floors, natural)]


def _table(
    columns: Sequence[Column],
    rows: Sequence[Sequence[Text]],
    footer: Sequence[Text] | None,
    *,
    title: str | None,
    caption: str | None,
    compact: bool,
    widths: Sequence[int],
) -> Table:
    table = Table(
        title=None if title is None else Text(title),
        title_justify="left",
        caption=None if caption is None else Text(caption),
        caption_justify="left",
        # compact: no vertical rules, no padding at the edges.
        box=box.SIMPLE_HEAD if compact else box.HEAVY_HEAD,
        pad_edge=not compact,
    )
    for column, width in zip(columns, widths):
        # fold, not ellipsis: should a word be longer than its column after all, it goes on the next line whole.
        table.add_column(column.header, justify=column.justify, style=column.style, width=width, overflow="fold")
    for row in rows:
        table.add_row(*row)
    if footer is not None:
        table.add_section()
        table.add_row(*footer, style="bold")
    return table


def _records(columns: Sequence[Column], rows: Sequence[Sequence[Text]], heading_columns: int) -> list[Record]:
    records = []
    for row in rows:
        heading = Text("  ").join(cell for cell in row[:heading_columns] if cell.plain)
        heading.stylize("bold")
        fields = [(column.key, cell) for column, cell in zip(columns[heading_columns:], row[heading_columns:]) if cell.plain]
        records.append(Record(heading, fields))
    return records


def _print_fields(console: Console, fields: Sequence[tuple[str, Cell]]) -> None:
    """``key: value`` lines under a heading, values aligned and wrapped under themselves."""
    if not fields:
        return
    key_width = max(cell_len(key) for key, _ in fields) + 1
    value_width = console.width - RECORD_INDENT - key_width - 1
    if value_width < _NARROWEST_VALUE:  # no room beside the keys: each value under its key
        key_width, value_width = 0, max(console.width - 2 * RECORD_INDENT, 1)
    for key, value in fields:
        lines = list(_text(value).wrap(console, value_width, overflow="fold"))
        if key_width == 0:
            _print_indented(console, Text(f"{key}:", style="dim"), RECORD_INDENT)
            _print_indented(console, Text("\n").join(lines), 2 * RECORD_INDENT)
            continue
        label = Text(" " * RECORD_INDENT + f"{key}:".ljust(key_width), style="dim")
        for number, line in enumerate(lines):
            line.rstrip()
            margin = label if number == 0 else Text(" " * label.cell_len)
            console.print(Text.assemble(margin, " ", line), soft_wrap=True)


def _print_indented(console: Console, text: Text, indent: int) -> None:
    for line in text.wrap(console, max(console.width - indent, 1), overflow="fold"):
        line.rstrip()
        console.print(Text.assemble(" " * indent, line), soft_wrap=True)


def print_table(
    console: Console,
    columns: Sequence[Column],
    rows: Sequence[Sequence[Cell]],
    *,
    title: str | None = None,
    caption: str | None = None,
    footer: Sequence[Cell] | None = None,
    heading_columns: int = 1,
    records: Sequence[Record] | None = None,
    compact: bool = False,
) -> None:
    """Print rows as a table if it fits ``console``'s width without cutting a word, else one block per row.

    Parameters
    ----------
    console : rich.console.Console
        Where to print; its width decides the layout.
    columns : sequence of Column, length C
    rows : sequence of sequences of str or rich Text, each of length C
        A ``str`` is printed as written (not rich markup); a ``Text`` keeps its styles.
    title, caption : str, optional
        Above and below the table (the title is also printed above the blocks, the
        caption below them), wrapped to the width.
    footer : sequence of str or Text, length C, optional
        A last row set apart (a total): after a rule in the table, a block of its own otherwise.
    heading_columns : int
        How many leading cells make a block's heading (``#0  edge detector``: 2).
    records : sequence of Record, optional
        The blocks to print instead of the ones made from ``rows``, for a table
        whose rows say more as a sentence (a confusion matrix's row as "predicted as: ...").
    compact : bool
        Draw the table without vertical rules or padding at its edges.

    Examples
    --------
    >>> from rich.console import Console
    >>> console = Console(width=30, color_system=None)
    >>> columns = [Column("kernel", justify="right"), Column("best match"), Column("similarity", justify="right")]
    >>> print_table(console, columns, [["#0", "sobel5 22.5deg", "0.907"]])
    #0
        best match: sobel5 22.5deg
        similarity: 0.907
    """
    cells = [[_text(cell) for cell in row] for row in rows]
    last = [_text(cell) for cell in footer] if footer is not None else None
    body = [*cells, *([last] if last is not None else [])]
    headers = [Text(column.header) for column in columns]
    natural = [max(_widest_line(text) for text in (header, *(row[i] for row in body))) for i, header in enumerate(headers)]
    minimum = [max(_longest_word(text) for text in (header, *(row[i] for row in body))) for i, header in enumerate(headers)]
    # Borders and padding: what the table measures beyond its columns' content.
    sized = _table(columns, cells, last, title=title, caption=caption, compact=compact, widths=natural)
    frame = Measurement.get(console, console.options.update_width(_UNLIMITED), sized).maximum - sum(natural)
    widths = column_widths(natural, minimum, console.width - frame)
    if widths is not None:
        console.print(_table(columns, cells, last, title=title, caption=caption, compact=compact, widths=widths))
        return
    blocks = list(records) if records is not None else _records(columns, body, heading_columns)
    if title:
        console.print(Text(title, style="bold"))
    for block in blocks:
        console.print(_text(block.heading))
        _print_fields(console, block.fields)
    if caption:
        console.print(Text(caption))
