"""A run of one command builds that command only, and says exactly what the whole app says."""

from __future__ import annotations

import pytest
from typer.main import get_command
from typer.testing import CliRunner

import convfx.cli
from convfx.cli import app

runner = CliRunner()

COMMAND_NAMES = [info.name for info in app.registered_commands]


def lines(arguments: list[str], tmp_path) -> list[list[str]]:
    # Each ends at once: help, a usage error, or a file that is not there (never a run that trains or serves).
    return [
        [*arguments, "--help"],
        [*arguments, "--no-such-option"],
        [*arguments, "--workers", "0", "--epochs", "-1", str(tmp_path / "missing.png")],
        [*arguments, str(tmp_path / "missing.png"), str(tmp_path / "missing2.png"), "x", "y", "z", "w"],
    ]


@pytest.mark.parametrize("name", COMMAND_NAMES)
def test_a_command_run_alone_says_what_the_whole_app_says(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a command that writes by default writes here
    single = convfx.cli._app_for([name])
    assert single is not app
    assert [info.name for info in single.registered_commands] == [name]
    assert list(get_command(single).commands) == [name]  # the others are not built
    for arguments in lines([name], tmp_path):
        alone = runner.invoke(single, arguments, env={"COLUMNS": "120"})
        whole = runner.invoke(app, arguments, env={"COLUMNS": "120"})
        assert (alone.exit_code, alone.stdout, alone.stderr) == (whole.exit_code, whole.stdout, whole.stderr), arguments


def test_the_whole_app_runs_anything_that_names_no_single_command():
    for arguments in ([], ["--help"], ["--version"], ["explain", "conv"], ["aply"], ["--version", "apply"], None):
        assert convfx.cli._app_for(arguments) is app, arguments
    convfx.cli._app_for(["batch"])
    assert [info.name for info in app.registered_commands] == COMMAND_NAMES  # left whole, in its order
