"""``convfx train`` and ``convfx evaluate`` through typer's CliRunner (tiny runs)."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from convfx.cli import app
from convfx.nn import LeNet

runner = CliRunner()


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A model trained for one epoch on digits by the command line."""
    path = tmp_path_factory.mktemp("cli") / "model.npz"
    result = runner.invoke(app, ["train", "--epochs", "1", "--seed", "3", "--snapshots", "-o", str(path)])
    assert result.exit_code == 0, result.output
    return path, result.output


def test_train_writes_a_loadable_model_and_one_summary_line(trained):
    path, output = trained
    assert "digits: held-out accuracy" in output and "(" in output and "/359)" in output
    assert f"saved {path}" in output
    model = LeNet.load(path)
    assert model.metadata["dataset"] == "digits" and model.metadata["seed"] == 3 and model.metadata["epochs"] == 1
    assert model.snapshots["conv1.weight"].shape == (2, 6, 1, 5, 5)
    assert model.history["loss"].shape == (23,)


def test_train_is_reproducible_from_the_command_line(trained, tmp_path):
    path, _ = trained
    again = tmp_path / "again.npz"
    result = runner.invoke(app, ["train", "--epochs", "1", "--seed", "3", "-o", str(again)])
    assert result.exit_code == 0, result.output
    with np.load(path) as first, np.load(again) as second:
        for key in ("conv1.weight", "fc3.bias", "convfx.history.loss"):
            np.testing.assert_array_equal(first[key], second[key])


def test_evaluate_prints_confusion_table_and_draws_it(trained, tmp_path):
    path, _ = trained
    plot = tmp_path / "confusion.png"
    result = runner.invoke(app, ["evaluate", str(path), "--plot", str(plot)])
    assert result.exit_code == 0, result.output
    assert "true \\ predicted" in result.output
    assert "accuracy" in result.output and "/359)" in result.output
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    again = runner.invoke(app, ["evaluate", str(path), "--plot", str(plot)])
    assert again.exit_code == 1 and "already exists" in again.output


def test_train_refuses_to_overwrite_before_training(trained):
    path, _ = trained
    result = runner.invoke(app, ["train", "--epochs", "50", "-o", str(path)])
    assert result.exit_code == 1
    assert "already exists" in result.output and "--force" in result.output


def test_train_with_adam_on_an_image_folder(tmp_path, rng):
    from PIL import Image

    for name, value in (("dark", 40), ("light", 220)):
        (tmp_path / "data" / name).mkdir(parents=True)
        for i in range(6):
            pixels = np.clip(value + rng.normal(0, 10, (12, 12)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(tmp_path / "data" / name / f"{i}.png")
    model_path = tmp_path / "folder.npz"
    result = runner.invoke(
        app,
        ["train", "-d", str(tmp_path / "data"), "--epochs", "2", "--optimizer", "adam", "-b", "4", "-o", str(model_path)],
    )
    assert result.exit_code == 0, result.output
    model = LeNet.load(model_path)
    assert model.class_names == ["dark", "light"] and model.metadata["lr"] == 0.001
    evaluation = runner.invoke(app, ["evaluate", str(model_path)])
    assert evaluation.exit_code == 0, evaluation.output
    assert "dark" in evaluation.output


@pytest.mark.parametrize(
    "arguments, code, message",
    [
        (["train", "--dataset", "nowhere", "-o", "x.npz"], 1, "nowhere: no such data set"),
        (["train", "--optimizer", "rmsprop"], 2, "rmsprop"),
        (["evaluate", "missing.npz"], 1, "missing.npz: no such file"),
    ],
)
def test_errors_are_one_line_with_an_exit_code(tmp_path, monkeypatch, arguments, code, message):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, arguments)
    assert result.exit_code == code
    assert message in result.output
    assert "Traceback" not in result.output


def test_evaluate_rejects_a_data_set_of_another_kind(trained, tmp_path):
    from PIL import Image

    path, _ = trained
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        for i in range(2):
            Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / name / f"{i}.png")
    result = runner.invoke(app, ["evaluate", str(path), "--dataset", str(tmp_path)])
    assert result.exit_code == 2
    assert "has 2 classes" in result.output and "predicts 10" in result.output
