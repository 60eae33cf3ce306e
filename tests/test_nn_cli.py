"""``convfx train`` and ``convfx evaluate`` through typer's CliRunner (tiny runs)."""

from __future__ import annotations

import re

import numpy as np
import pytest
from typer.testing import CliRunner

import convfx.nn
from convfx.cli import app
from convfx.nn import LeNet, TrainConfig, load_dataset, train
from convfx.nn.config import DATASET_DEFAULTS, FOLDER_STEPS
from convfx.nn.data import Dataset

runner = CliRunner()


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A model trained for one epoch on digits by the command line."""
    path = tmp_path_factory.mktemp("cli") / "model.npz"
    result = runner.invoke(app, ["train", "--epochs", "1", "--seed", "3", "--snapshots", "-o", str(path)])
    assert result.exit_code == 0, result.output
    return path, result.output


@pytest.mark.slow
def test_train_writes_a_loadable_model_and_one_summary_line(trained):
    path, output = trained
    summary = re.search(r"digits: held-out accuracy (\d+\.\d\d)% \((\d+)/359\) after 1 epochs in [\d.]+ s; saved (.+)", output)
    assert summary, output
    percent, correct, saved = float(summary[1]), int(summary[2]), summary[3].strip()
    assert saved == str(path)
    model = LeNet.load(path)
    # The line reports the accuracy the model file records, as a percentage and as a count.
    recorded = float(model.metadata["test_accuracy"])
    assert correct == round(recorded * 359) and percent == pytest.approx(100 * correct / 359, abs=0.005)
    assert 0 < correct <= 359
    assert model.metadata["dataset"] == "digits" and model.metadata["seed"] == 3 and model.metadata["epochs"] == 1
    assert model.snapshots["conv1.weight"].shape == (2, 6, 1, 5, 5)
    assert model.history["loss"].shape == (23,)


@pytest.mark.slow
def test_train_is_reproducible_from_the_command_line(trained, tmp_path):
    path, _ = trained
    again = tmp_path / "again.npz"
    result = runner.invoke(app, ["train", "--epochs", "1", "--seed", "3", "-o", str(again)])
    assert result.exit_code == 0, result.output
    with np.load(path) as first, np.load(again) as second:
        for key in ("conv1.weight", "fc3.bias", "convfx.history.loss"):
            np.testing.assert_array_equal(first[key], second[key])


@pytest.mark.slow
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


@pytest.mark.slow
def test_train_refuses_to_overwrite_before_training(trained):
    path, _ = trained
    result = runner.invoke(app, ["train", "--epochs", "50", "-o", str(path)])
    assert result.exit_code == 1
    assert "already exists" in result.output and "--force" in result.output


@pytest.mark.slow
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
        (["train", "--dataset", "nowhere", "-o", "x.npz"], 2, "--dataset: no such data set 'nowhere'"),
        (["train", "--optimizer", "rmsprop"], 2, "rmsprop"),
        (["evaluate", "missing.npz"], 2, "missing.npz: no such file"),  # a MODEL that does not exist: usage
    ],
)
def test_errors_are_one_line_with_an_exit_code(tmp_path, monkeypatch, arguments, code, message):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, arguments)
    assert result.exit_code == code
    assert message in result.output
    assert "Traceback" not in result.output


@pytest.mark.slow
def test_bad_data_sets_are_one_line_and_nothing_is_written(tmp_path, monkeypatch):
    from PIL import Image

    monkeypatch.chdir(tmp_path)
    one = tmp_path / "one_photo"
    one.mkdir()
    Image.fromarray(np.zeros((300, 300), np.uint8)).save(one / "a.png")
    cifar = tmp_path / "cifar"
    cifar.mkdir()
    (cifar / "data_batch_1.bin").write_bytes(bytes(3074))
    (cifar / "test_batch.bin").write_bytes(bytes(3073))
    cases = [
        ("photos:missing", 1, "convfx: error: photos:missing: expected a folder of photos, found nothing"),
        (f"photos:{one}", 1, f"convfx: error: photos:{one}: expected at least 2 photos"),
        (
            f"cifar10:{cifar}",
            1,
            f"convfx: error: {cifar / 'data_batch_1.bin'}: expected a CIFAR-10 binary file, a multiple of 3073 bytes",
        ),
        ("nosuch:x", 2, "convfx: error: --dataset: invalid value 'nosuch:x'; expected one of digits, shapes, photos,"),
        ("photos:", 2, "convfx: error: --dataset: expected photos:DIR with a folder, found 'photos:'"),
    ]
    for spec, code, start in cases:
        result = runner.invoke(app, ["train", "--dataset", spec, "-o", str(tmp_path / "m.npz")])
        assert result.exit_code == code, (spec, result.output)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(start), (spec, result.stderr)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cifar", "one_photo"]


@pytest.mark.slow
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


def test_train_refuses_a_bad_seed_before_training(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    negative = runner.invoke(app, ["train", "--epochs", "1", "--seed", "-1", "-o", "x.npz"])
    assert negative.exit_code == 2 and "--seed" in negative.output and "Traceback" not in negative.output
    # Beyond int64: refused before training, not when the trained model is saved.
    huge = runner.invoke(app, ["train", "--epochs", "1", "--seed", "99999999999999999999", "-o", "x.npz"])
    assert huge.exit_code == 2
    assert huge.stderr.strip().splitlines() == [
        "convfx: error: --seed: expected an int in [0, 2**63 - 1], found 99999999999999999999"
    ]
    assert list(tmp_path.iterdir()) == []


def test_train_reports_a_corrupt_gzip_idx_file_in_one_line(tmp_path):
    import gzip

    folder = tmp_path / "mnist"
    folder.mkdir()
    images = np.zeros((20, 28, 28), np.uint8)
    images[:, 8:20, 12:16] = 255
    for split, count in (("train", 20), ("t10k", 10)):
        for kind, array in (("images-idx3", images[:count]), ("labels-idx1", np.arange(count, dtype=np.uint8) % 10)):
            header = bytes([0, 0, 0x08, array.ndim]) + np.array(array.shape, ">u4").tobytes()
            (folder / f"{split}-{kind}-ubyte.gz").write_bytes(gzip.compress(header + array.tobytes()))
    corrupt = folder / "train-images-idx3-ubyte.gz"
    data = bytearray(corrupt.read_bytes())
    data[30:60] = b"\xff" * 30
    corrupt.write_bytes(bytes(data))
    result = runner.invoke(app, ["train", "--dataset", str(folder), "--epochs", "1", "-o", str(tmp_path / "m.npz")])
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"convfx: error: {corrupt}: cannot read"), result.stderr


@pytest.mark.slow
def test_a_model_trained_on_a_relative_folder_evaluates_from_anywhere(tmp_path, monkeypatch, rng):
    from PIL import Image

    for name, value in (("dark", 40), ("light", 220)):
        (tmp_path / "data" / name).mkdir(parents=True)
        for i in range(3):
            pixels = np.clip(value + rng.normal(0, 10, (12, 12)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(tmp_path / "data" / name / f"{i}.png")
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path)
    trained = runner.invoke(app, ["train", "-d", "data", "--epochs", "1", "-b", "4", "-o", "m.npz"])
    assert trained.exit_code == 0, trained.output
    assert LeNet.load(tmp_path / "m.npz").metadata["dataset"] == str((tmp_path / "data").resolve())
    monkeypatch.chdir(tmp_path / "elsewhere")
    evaluation = runner.invoke(app, ["evaluate", "../m.npz"])
    assert evaluation.exit_code == 0, evaluation.output
    assert "accuracy" in evaluation.output and "/2)" in evaluation.output


# --------------------------------------------------------------------------- the command line and the library agree


class _Stop(Exception):
    """Raised by the stand-in for convfx.nn.train once it has seen the configuration."""


def config_of(monkeypatch, tmp_path, arguments: list[str], *, train_images: int = 100) -> TrainConfig:
    """The TrainConfig that ``convfx train ARGUMENTS`` hands to the library (no data are read, nothing is trained)."""
    seen: list[TrainConfig] = []

    def stand_in(data, config, progress=None):
        seen.append(config)
        raise _Stop

    def small_data(spec, **_):
        images = np.zeros((train_images, 1, 32, 32), np.float32)
        return Dataset(str(spec), images, np.arange(train_images) % 2, images[:2], np.array([0, 1]), ("a", "b"))

    monkeypatch.setattr(convfx.nn, "train", stand_in)
    monkeypatch.setattr(convfx.nn, "load_dataset", small_data)
    result = runner.invoke(app, ["train", *arguments, "-o", str(tmp_path / "unused.npz")])
    assert isinstance(result.exception, _Stop), result.output
    return seen[0]


@pytest.mark.parametrize(
    ("arguments", "options"),
    [
        ([], {}),
        (
            ["--epochs", "3", "-b", "32", "--lr", "0.01", "--weight-decay", "0", "--schedule", "step", "--shift", "0",
             "--activation", "tanh", "--pooling", "avg", "--seed", "5", "--workers", "1", "--snapshots"],
            {"epochs": 3, "batch_size": 32, "lr": 0.01, "weight_decay": 0.0, "schedule": "step", "shift": 0,
             "activation": "tanh", "pooling": "avg", "seed": 5, "workers": 1, "snapshots": True},
        ),
        (["--optimizer", "sgd", "--lr", "0.2"], {"optimizer": "sgd", "lr": 0.2}),
        (["--optimizer", "adam", "--lr", "0.002"], {"optimizer": "adam", "lr": 0.002}),
        (["--optimizer", "adam"], {"optimizer": "adam"}),  # the optimizer's own rate, 1e-3
    ],
)  # fmt: skip
def test_train_hands_the_library_the_config_the_same_options_give(monkeypatch, tmp_path, arguments, options):
    assert config_of(monkeypatch, tmp_path, arguments) == TrainConfig(**options)


@pytest.mark.parametrize(
    ("arguments", "dataset", "options"),
    [
        (["-d", "photos"], "photos", {}),
        (["-d", "photos-rgb", "--seed", "2"], "photos-rgb", {"seed": 2}),
        (["-d", "photos", "--epochs", "4", "--weight-decay", "0.03"], "photos", {"epochs": 4, "weight_decay": 0.03}),
        (["-d", "photos:pictures"], "photos:pictures", {}),
        (["-d", "photos:pictures", "-b", "16"], "photos:pictures", {"batch_size": 16}),
        (["-d", "photos:pictures", "-e", "2"], "photos:pictures", {"epochs": 2}),
        (["-d", "shapes"], "shapes", {}),
    ],
)  # fmt: skip
def test_train_falls_back_to_the_data_sets_own_defaults(monkeypatch, tmp_path, arguments, dataset, options):
    config = config_of(monkeypatch, tmp_path, arguments, train_images=900)
    assert config == TrainConfig.for_dataset(dataset, train_images=900, **options)


def test_the_data_sets_defaults_differ_from_the_class_defaults_only_where_the_table_says():
    plain = TrainConfig()
    photos = TrainConfig.for_dataset("photos")
    assert photos == TrainConfig(**DATASET_DEFAULTS["photos"]) and photos.epochs < plain.epochs
    assert TrainConfig.for_dataset("digits") == plain == TrainConfig.for_dataset("/some/folder")
    assert TrainConfig.for_dataset("photos", epochs=3, seed=1) == TrainConfig(
        **{**DATASET_DEFAULTS["photos"], "epochs": 3, "seed": 1}
    )


@pytest.mark.parametrize("train_images", [1, 64, 900, 4000, 100_000])
def test_a_photo_folder_trains_for_the_fewest_epochs_that_reach_the_folder_steps(train_images):
    config = TrainConfig.for_dataset("photos:~/pictures", train_images=train_images)
    steps_per_epoch = -(-train_images // config.batch_size)
    least = DATASET_DEFAULTS["photos:DIR"]["epochs"]
    assert config.epochs >= least and config.epochs * steps_per_epoch >= FOLDER_STEPS
    assert config.epochs == least or (config.epochs - 1) * steps_per_epoch < FOLDER_STEPS
    assert config.weight_decay == DATASET_DEFAULTS["photos:DIR"]["weight_decay"]


def test_the_help_shows_the_data_sets_defaults():
    result = runner.invoke(app, ["train", "--help"], env={"COLUMNS": "300"})
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    assert "Default: 60; 12 for photos, photos-rgb; for photos:DIR enough for 700 steps, at least 10." in text
    assert "Default: 0.02; 0.01 for photos, photos-rgb, photos:DIR." in text


@pytest.mark.slow
def test_a_command_line_run_is_the_library_run_with_the_same_options(tmp_path):
    path = tmp_path / "cli.npz"
    result = runner.invoke(app, ["train", "--epochs", "1", "--seed", "4", "--shift", "1", "-o", str(path)])
    assert result.exit_code == 0, result.output
    library = train(load_dataset("digits"), TrainConfig(epochs=1, seed=4, shift=1)).model
    command_line = LeNet.load(path)
    state = library.state_dict()
    assert sorted(command_line.state_dict()) == sorted(state)
    for name, weights in command_line.state_dict().items():
        np.testing.assert_array_equal(weights, state[name], err_msg=name)
    np.testing.assert_array_equal(command_line.history["loss"], library.history["loss"])
