"""Tables the command line prints: readable at 60 and 80 columns, the table itself on a wide terminal.

``convfx.cli.tables.print_table`` is tested on made-up rows at any width; every
command that prints a table (filters, summary, evaluate, compare) is run at 60, 80
and 140 columns, and what it must say is looked for whole in what it printed.
"""

from __future__ import annotations

import doctest
import io
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.cells import cell_len
from rich.console import Console
from rich.text import Text
from typer.testing import CliRunner

from convfx import banks, compare, steps
from convfx.cli import app, tables
from convfx.cli.tables import Column, Record, column_widths, print_table
from convfx.nn import inspect as nn_inspect

runner = CliRunner()
ELLIPSIS = "…"
# A heavy box rule: the table layout rather than one block per row.
TABLE_RULE = re.compile(r"^┏━+┳")


def printed(width: int, *args, **kwargs) -> str:
    console = Console(width=width, file=io.StringIO(), color_system=None)
    print_table(console, *args, **kwargs)
    return console.file.getvalue()  # type: ignore[attr-defined]


def assert_fits(output: str, width: int) -> None:
    for line in output.splitlines():
        assert cell_len(line) <= width, f"a line wider than {width} columns: {line!r}"
    assert ELLIPSIS not in output, f"a cell cut short at {width} columns:\n{output}"


def run_at(width: int, *args: str) -> str:
    result = runner.invoke(app, list(args), env={"COLUMNS": str(width)})
    assert result.exit_code == 0, result.output
    return result.stdout


# --------------------------------------------------------------------------- the widths


@given(
    st.lists(st.tuples(st.integers(0, 40), st.integers(0, 40)), min_size=1, max_size=9),
    st.integers(0, 200),
)
def test_column_widths_stay_between_each_minimum_and_natural_width_within_the_budget(pairs, budget):
    minimum = [min(a, b) for a, b in pairs]
    natural = [max(a, b) for a, b in pairs]
    widths = column_widths(natural, minimum, budget)
    if sum(minimum) > budget:
        assert widths is None
        return
    assert widths is not None and sum(widths) <= budget
    assert all(low <= width <= high for low, width, high in zip(minimum, widths, natural))
    if sum(natural) <= budget:
        assert widths == natural


def test_the_widest_column_gives_way_first():
    # Room for 30: the 40-wide prose column shrinks, the two 5-wide number columns keep their width.
    assert column_widths([5, 40, 5], [3, 8, 3], 30) == [5, 20, 5]


# --------------------------------------------------------------------------- print_table

COLUMNS = [
    Column("kernel", justify="right"),
    Column("class"),
    Column("closest derivative"),
    Column("similarity", justify="right", label="derivative similarity"),
]
ROWS = [
    ["#0", "edge detector", "prewitt5 45deg, rot90", "0.695"],
    ["#1", "other", "sobel5 22.5deg, transpose", "0.485"],
]


def test_a_table_that_fits_is_drawn_as_a_table():
    output = printed(140, COLUMNS, ROWS, title="kernel classes")
    assert output.splitlines()[0].strip() == "kernel classes"
    assert TABLE_RULE.match(output.splitlines()[1])
    assert any(re.search(r"#0 │ edge detector │ prewitt5 45deg, rot90\s+│\s+0\.695", line) for line in output.splitlines())


def test_a_squeezed_table_wraps_at_spaces_and_cuts_no_word():
    output = printed(50, COLUMNS, ROWS)
    assert TABLE_RULE.match(output.splitlines()[0])
    assert_fits(output, 50)
    words = set(output.split())
    for row in ROWS:
        assert set(" ".join(row).split()) <= words


@pytest.mark.parametrize("width", [30, 40])
def test_a_table_too_wide_for_its_words_becomes_one_block_per_row(width):
    output = printed(width, COLUMNS, ROWS, title="kernel classes", caption="a caption", heading_columns=2)
    assert_fits(output, width)
    lines = output.splitlines()
    assert lines[0] == "kernel classes" and not any(TABLE_RULE.match(line) for line in lines)
    assert "#0  edge detector" in lines and "#1  other" in lines
    # The other cells as indented key: value lines, under their own names.
    assert re.search(r"^    derivative similarity:\s+0\.695", output, re.M)
    assert re.search(r"^    closest derivative:\s+prewitt5", output, re.M)
    assert lines[-1] == "a caption"


def test_on_a_very_narrow_console_each_value_goes_under_its_key():
    output = printed(20, COLUMNS, ROWS, heading_columns=2)
    assert_fits(output, 20)
    assert re.search(r"^    closest\n    derivative:\n        prewitt5\n        45deg, rot90$", output, re.M)


def test_blocks_leave_out_empty_cells_and_keep_the_footer():
    columns = [Column("layer"), Column("kernel"), Column("params", justify="right")]
    rows = [["conv1 (C1)", "5x5", "156"], ["act1", "", "-"]]
    output = printed(24, columns, rows, footer=["total", "", "61,706"])
    act1 = output.split("act1")[1].split("total")[0]
    assert "kernel" not in act1 and "params: -" in act1
    assert re.search(r"^total\n    params: 61,706", output, re.M)


def test_cells_are_printed_as_written_not_as_markup():
    output = printed(140, [Column("file"), Column("size")], [["[draft].png", "3x3"]], title="[bold]x[/bold]")
    assert "[draft].png" in output and "[bold]x[/bold]" in output


def test_records_given_replace_the_blocks_made_from_the_rows():
    records = [Record(Text("cat"), [("predicted as", "cat (4), text (3)")])]
    output = printed(20, COLUMNS, ROWS, records=records)
    assert "cat" in output.splitlines()[0] and "edge detector" not in output
    assert_fits(output, 20)


def test_the_examples_in_the_docstrings_run():
    failed, attempted = doctest.testmod(tables)
    assert attempted >= 4 and failed == 0


# --------------------------------------------------------------------------- the commands


@pytest.mark.parametrize("width", [60, 80])
def test_filters_is_readable(width):
    output = run_at(width, "filters")
    assert_fits(output, width)
    lines = output.split()
    for item in [*banks.list_filters(), *steps.list_detectors()]:
        assert item.name in lines, item.name
        assert set(item.description.split()) <= set(lines), item.name


@pytest.mark.parametrize("width", [60, 80])
def test_summary_is_readable(width):
    output = run_at(width, "summary", "digits")
    assert_fits("\n".join(output.splitlines()[1:-1]), width)  # the first and last lines are say()'s, wrapped by the terminal
    for row in nn_inspect.summarize(nn_inspect.load_model("digits")):
        assert row.shape in output.split(), row.name
        assert (row.lenet_name or row.name) in output, row.name


def test_wide_terminals_show_the_tables():
    assert any(TABLE_RULE.match(line) for line in run_at(140, "filters").splitlines())
    assert re.search(r"^\s*layer\s+type\s+output\s+kernel\s+stride\s+pad\s+pool\s+params\s*$", run_at(140, "summary"), re.M)


@pytest.mark.slow
@pytest.mark.parametrize("width", [60, 80])
def test_evaluate_is_readable(width):
    output = run_at(width, "evaluate", "photos")
    assert_fits(output, width)
    # 14 classes with long names: one block per true class, what it was taken for written out.
    assert re.search(r"^immunohistochemistry$", output, re.M)
    assert re.search(r"^    predicted as: .*hubble_deep_field \(\d+\)", output, re.M | re.S)


@pytest.mark.slow
def test_evaluate_draws_the_matrix_where_it_fits():
    output = run_at(80, "evaluate", "digits")
    assert_fits(output, 80)
    assert re.search(r"┃ true \\ predicted ┃\s+0 ┃\s+1 ┃.* 9 ┃ correct ┃", output)


@pytest.fixture(scope="module")
def shipped_comparison():
    return compare.compare_model("photos", draws=20)


@pytest.mark.slow
@pytest.mark.parametrize("width", [60, 80])
def test_compare_is_readable(width, tmp_path, shipped_comparison):
    output = run_at(width, "compare", "photos", "--draws", "20", "-o", str(tmp_path / "c.png"))
    tables = re.split(r"^\d+ of \d+ kernels are edge detectors", output, flags=re.M)[0]
    assert_fits(tables, width)  # the lines after the tables are say()'s, wrapped by the terminal
    for match in shipped_comparison.matches:
        assert re.search(rf"^    best classic match:\s+{re.escape(match.name)}$", output, re.M), match.name
    for found in shipped_comparison.classes:
        assert f"#{found.index}  {found.kind}" in output.splitlines()
        assert found.derivative in output and found.blur in output


@pytest.mark.slow
def test_compare_draws_tables_on_a_wide_terminal(tmp_path):
    output = run_at(140, "compare", "photos", "--draws", "20", "-o", str(tmp_path / "c.png"))
    lines = output.splitlines()
    assert sum(bool(TABLE_RULE.match(line)) for line in lines) == 2
    assert any(re.search(r"┃ kernel ┃ best classic match\s+┃ transform", line) for line in lines)
    assert ELLIPSIS not in output
