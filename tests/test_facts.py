"""Lists the user guide repeats from the library: the same names, from one source.

The guide's prose cannot import the library, so these tests read the pages and
compare each list with the constant or registry it repeats: a choice added to
the library fails here until the guide says it too.  (The command line's help
reads the same constants; tests/test_cli_help.py checks it.)
"""

from __future__ import annotations

import re
from pathlib import Path

from typer.main import get_command

from convfx import steps
from convfx.cli import app
from convfx.conv import BOUNDARIES
from convfx.nn import config as nn_config
from convfx.ranges import OUTPUT_RANGES

GUIDE = Path(__file__).resolve().parent.parent / "docs" / "guide"


def _line(page: str, start: str) -> str:
    lines = [line for line in (GUIDE / page).read_text(encoding="utf-8").splitlines() if line.startswith(start)]
    assert len(lines) == 1, (page, start)
    return lines[0]


def test_output_range_table_has_one_row_per_range():
    rows = re.findall(r"^\| `([a-z]+)` \|", (GUIDE / "photos.md").read_text(encoding="utf-8"), flags=re.MULTILINE)
    assert rows == list(OUTPUT_RANGES)


def test_binary_range_names_the_registered_detectors():
    row = _line("photos.md", "| `binary` |")
    named = re.findall(r"`([a-z_]+)`", row.split("|")[3])
    assert named == [detector.name for detector in steps.list_detectors()]


def test_boundary_row_names_every_boundary():
    row = _line("core.md", "| `boundary` |")
    assert re.findall(r'`"([a-z]+)"`', row) == list(BOUNDARIES)


def test_network_options_are_the_configs():
    page = (GUIDE / "cnn.md").read_text(encoding="utf-8")
    assert re.search(r'`activation="(.*?)"`', page).group(1).split('"|"') == list(nn_config.ACTIVATIONS)
    assert re.search(r'`pooling="(.*?)"`', page).group(1).split('"|"') == list(nn_config.POOLINGS)
    assert re.search(r"`--optimizer (.*?)`", page).group(1).split("|") == list(nn_config.OPTIMIZERS)
    assert sorted(re.search(r"`--schedule (.*?)`", page).group(1).split("|")) == sorted(nn_config.SCHEDULES)


def test_train_options_listed_in_the_guide_are_the_commands():
    page = (GUIDE / "cnn.md").read_text(encoding="utf-8")
    paragraph = page[page.index("The options are `--dataset`") :].split("\n\n")[0]
    listed = set(re.findall(r"--[a-z-]+", paragraph))
    train = get_command(app).commands["train"]
    options = {name for param in train.params for name in param.opts if name.startswith("--")}
    assert listed == options
