"""Tests of :mod:`convfx.compare` and of ``convfx compare`` / ``export-bank``.

Exact cases first (a classic kernel turned, mirrored and negated is found with
similarity 1 and the transform that maps it back), then the shipped model names,
the bank export, the commands, and finally the shipped models: their targets and
their recorded training losses.  Reading weight files is tested in
``test_nn_weights.py``, the learned-filter effect in ``test_learned.py``.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

import convfx
from convfx import banks, compare, imageio, models
from convfx.cli import app
from convfx.errors import FileError, ParameterError
from convfx.kernel_classes import classify_kernels, count_edge_detectors, random_baseline
from convfx.nn import LeNet, TrainConfig, evaluate, load_dataset, train
from convfx.nn.weights import load_weights

runner = CliRunner()
DIGITS = models.SHIPPED_MODELS["digits"]
SHAPES = models.SHIPPED_MODELS["shapes"]
PHOTOS = models.SHIPPED_MODELS["photos"]


def run(*args):
    return runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "200"})


# --------------------------------------------------------------------------- classic kernels


def test_standard_kernels_are_the_documented_set():
    kernels = compare.standard_kernels()
    assert list(kernels) == ["sobel5_x", "sobel5_y", "sobel5_diag", "sobel5_antidiag", "laplacian5", "gaussian5"]
    assert all(k.shape == (5, 5) for k in kernels.values())
    np.testing.assert_array_equal(kernels["sobel5_x"][2], [-6, -12, 0, 12, 6])
    np.testing.assert_array_equal(kernels["sobel5_y"], kernels["sobel5_x"].T)
    # The textbook 5x5 Laplacian is the negated 5x5 LoG of the edges bank.
    np.testing.assert_array_equal(kernels["laplacian5"], -banks.get_filter("log").kernels[0].weights)
    np.testing.assert_allclose(kernels["gaussian5"], banks.get_filter("gaussian_blur").kernels[0].weights)
    assert kernels["laplacian5"].sum() == 0 and kernels["sobel5_diag"].sum() == 0


def test_resample_kernel_stretches_linearly_with_corners_fixed():
    sobel3 = banks.get_filter("sobel_x").kernels[0].weights
    expected = np.outer([1, 1.5, 2, 1.5, 1], [-1, -0.5, 0, 0.5, 1])
    np.testing.assert_allclose(compare.resample_kernel(sobel3, (5, 5)), expected)
    kernel = np.arange(12.0).reshape(3, 4)
    np.testing.assert_array_equal(compare.resample_kernel(kernel, (3, 4)), kernel)
    assert compare.resample_kernel(np.ones((1, 9)), (5, 5)).shape == (5, 5)
    with pytest.raises(ParameterError, match="kernel"):
        compare.resample_kernel(np.ones(3), (5, 5))


def test_classic_set_holds_standard_and_bank_kernels():
    kernels = compare.classic_kernels((5, 5))
    assert {"sobel5_x", "gaussian5", "laplacian (from 3x3)", "sobel_x (from 3x3)", "farid_x", "log"} <= set(kernels)
    assert not any(name in kernels for name in ("sobel", "kirsch", "prewitt"))  # combined filters are not kernels


# --------------------------------------------------------------------------- matching


@pytest.mark.parametrize("transform", list(compare.TRANSFORMS))
@pytest.mark.parametrize("sign", [1, -1])
def test_sobel_turned_flipped_negated_is_matched_exactly(transform, sign):
    sobel = compare.standard_kernels()["sobel5_x"]
    learned = 0.37 * compare.transform_kernel(sobel, transform, sign)
    match = compare.match_kernels(learned[None, None])[0]
    assert match.similarity == pytest.approx(1.0, abs=1e-12)
    # Several (classic, transform) pairs can be the same kernel (sobel5_y is sobel5_x
    # turned); whichever is reported must map back onto the learned kernel.
    classic = compare.classic_kernels()[match.name]
    rebuilt = compare.transform_kernel(classic, match.transform, match.sign)
    np.testing.assert_allclose(rebuilt / np.linalg.norm(rebuilt), learned / np.linalg.norm(learned), atol=1e-12)
    np.testing.assert_allclose(match.classic, rebuilt)


@pytest.mark.parametrize("transform", list(compare.TRANSFORMS))
def test_the_exact_transform_is_reported_for_an_asymmetric_classic(transform, rng):
    asymmetric = rng.normal(size=(5, 5))
    learned = -2.0 * compare.transform_kernel(asymmetric, transform)
    match = compare.match_kernels(learned[None, None], classics={"odd": asymmetric})[0]
    assert (match.name, match.transform, match.sign) == ("odd", transform, -1)
    assert match.similarity == pytest.approx(1.0)


def test_without_transforms_only_the_kernel_as_written_counts(rng):
    asymmetric = rng.normal(size=(5, 5))
    turned = np.rot90(asymmetric)[None, None]
    assert compare.match_kernels(turned, classics={"odd": asymmetric}, transforms=False)[0].similarity < 0.9
    assert compare.match_kernels(turned, classics={"odd": asymmetric})[0].transform == "rot90"


def test_similarity_is_the_cosine_of_the_channel_mean(rng):
    sobel, gaussian = compare.standard_kernels()["sobel5_x"], compare.standard_kernels()["gaussian5"]
    # R and B are Sobel, G is its negative: the mean is Sobel / 3, a perfect score;
    # each channel alone also scores 1 against the same (matched) kernel.
    rgb = np.stack([sobel, -sobel, sobel])[None]
    match = compare.match_kernels(rgb, classics={"sobel": sobel, "gauss": gaussian}, transforms=False)[0]
    assert (match.name, match.similarity) == ("sobel", pytest.approx(1.0))
    np.testing.assert_allclose(match.channel_similarity, [1.0, 1.0, 1.0])
    # The definition, by hand, on a random kernel.
    kernel = rng.normal(size=(1, 3, 5, 5))
    mean = kernel[0].mean(axis=0).ravel()
    expected = abs(mean @ sobel.ravel()) / np.linalg.norm(mean) / np.linalg.norm(sobel)
    got = compare.match_kernels(kernel, classics={"sobel": sobel}, transforms=False)[0]
    assert got.similarity == pytest.approx(expected)
    assert len(got.channel_similarity) == 3


def test_a_zero_kernel_scores_zero():
    match = compare.match_kernels(np.zeros((1, 1, 5, 5)))[0]
    assert match.similarity == 0.0


def test_non_square_kernels_use_the_shape_keeping_transforms(rng):
    classic = rng.normal(size=(3, 5))
    match = compare.match_kernels(classic[::-1][None, None], classics={"c": classic})[0]
    assert match.transform == "flip_ud" and match.similarity == pytest.approx(1.0)


@pytest.mark.parametrize(
    "weights, words",
    [
        (np.ones((6, 5, 5)), "4-D"),
        (np.full((1, 1, 5, 5), np.nan), "finite"),
        (np.ones((0, 1, 5, 5)), "non-empty"),
        (np.array([[[["a"]]]]), "real"),
    ],
)
def test_bad_weights_are_refused(weights, words):
    with pytest.raises(ParameterError, match=words):
        compare.match_kernels(weights)


def test_bad_classics_are_refused():
    with pytest.raises(ParameterError, match="classics"):
        compare.match_kernels(np.ones((1, 1, 5, 5)), classics="nope")
    with pytest.raises(ParameterError, match="zero"):
        compare.match_kernels(np.ones((1, 1, 5, 5)), classics={"z": np.zeros((5, 5))})


# --------------------------------------------------------------------------- baseline


def test_baseline_of_random_kernels():
    plain = compare.baseline((6, 1, 5, 5), classics="standard", transforms=False, draws=2000, seed=1)
    # Against the six standard kernels a random 5x5 kernel scores about 0.31 (the
    # expected largest of six |cosines| in 25 dimensions); rotations and the whole
    # bank make the best match easier, so the full baseline is higher.
    assert 0.28 < plain.mean < 0.34 and 0.03 < plain.sd < 0.06
    full = compare.baseline((6, 1, 5, 5), draws=500, seed=1)
    assert plain.mean < full.mean < 0.45
    assert compare.baseline((6, 1, 5, 5), draws=50, seed=7) == compare.baseline((6, 1, 5, 5), draws=50, seed=7)
    uniform = compare.baseline((6, 3, 5, 5), init="glorot", classics="standard", transforms=False, draws=500)
    assert abs(uniform.mean - plain.mean) < 0.03
    with pytest.raises(ParameterError, match="draws"):
        compare.baseline((6, 1, 5, 5), draws=1)


def test_baseline_in_slices_gives_the_numbers_of_one_draw(monkeypatch):
    """The random kernels are drawn and scored a slice at a time, from one generator.

    Held to the definition written out in one piece: every kernel drawn at once
    from ``initialize`` with the seed, scored, averaged per bank.
    """
    from convfx.nn.layers import initialize

    shape, draws, seed = (7, 2, 5, 5), 40, 3
    candidates, _ = compare.matching._candidates(compare.classic_kernels((5, 5)), (5, 5), True)
    random = initialize((draws * 7, 2, 5, 5), fan_in=50, fan_out=175, method="he", rng=seed, dtype=np.float64)
    rows = random.mean(axis=1).reshape(draws * 7, -1)
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    scores = np.abs(rows @ candidates.T).max(axis=1).reshape(draws, 7).mean(axis=1)
    for values in (10**9, 3_000, 1):  # one slice, slices that cut banks apart, one kernel at a time
        monkeypatch.setattr(compare.matching, "_BASELINE_SLICE_VALUES", values)
        result = compare.baseline(shape, draws=draws, seed=seed)
        assert result.mean == pytest.approx(scores.mean(), rel=1e-12)
        assert result.sd == pytest.approx(scores.std(ddof=1), rel=1e-12)


def test_compare_refuses_a_weight_of_too_many_kernels(tmp_path, monkeypatch):
    np.savez(tmp_path / "wide.npz", **{"conv1.weight": np.ones((9, 1, 5, 5), np.float32)})
    monkeypatch.setattr(compare.comparison, "MAX_COMPARED_KERNELS", 8)
    with pytest.raises(FileError, match=r"wide\.npz: 'conv1.weight' has 9 kernels; convfx compare matches at most 8"):
        compare.compare_model(tmp_path / "wide.npz", draws=2)


# --------------------------------------------------------------------------- shipped names


def test_shipped_names_resolve():
    assert models.DEFAULT_MODEL == "photos" and models.resolve_model(None) == PHOTOS
    assert models.resolve_model("shapes") == SHAPES and models.resolve_model("digits") == DIGITS
    with pytest.raises(ParameterError, match="digits"):
        models.shipped_model("cats")


# --------------------------------------------------------------------------- export


def test_export_bank_round_trip(tmp_path, rgb_model, rgb_image):
    weights = load_weights(rgb_model)
    path = compare.export_bank(weights, tmp_path / "my.toml")
    bank = banks.load_bank(path)
    assert len(bank) == 6 * 4
    for k in range(6):
        np.testing.assert_allclose(
            bank[f"learned_{k}"].kernels[0].weights, weights.weight[k].astype(np.float64).sum(axis=0), rtol=1e-12
        )
        np.testing.assert_allclose(bank[f"learned_{k}_g"].kernels[0].weights, weights.weight[k, 1], rtol=1e-12)
    # Usable wherever a kernel file is: bank.toml#name as an effect.
    response = convfx.apply(rgb_image, f"{path}#learned_2")
    np.testing.assert_allclose(
        response,
        convfx.correlate(rgb_image, weights.weight[2].astype(np.float64).sum(axis=0), boundary="reflect"),
        rtol=1e-5,
        atol=1e-3,
    )
    with pytest.raises(imageio.OutputExistsError):
        compare.export_bank(weights, path)
    with pytest.raises(ParameterError, match=".toml"):
        compare.export_bank(weights, tmp_path / "my.json")


# --------------------------------------------------------------------------- commands


def test_cli_compare_prints_the_table_and_writes_the_figure(tmp_path, rgb_model):
    photo = tmp_path / "photo.png"
    imageio.write_image(photo, np.random.default_rng(2).integers(0, 256, (48, 64, 3), dtype=np.uint8))
    result = run("compare", rgb_model, "--image", photo, "-o", tmp_path / "c.png", "--draws", "50")
    assert result.exit_code == 0, result.output
    assert "best classic match" in result.output and "R / G / B" in result.output and "random kernels" in result.output
    assert "kernel classes" in result.output and "colour-free" in result.output
    assert re.search(r"^\d of 6 kernels are edge detectors \(random initialisations: \d\.\d\d of 6\)$", result.output, re.M)
    assert (tmp_path / "c.png").stat().st_size > 10_000
    result = run("compare", rgb_model, "--image", photo, "-o", tmp_path / "c.png", "--draws", "50")
    assert result.exit_code == 1 and "--force" in result.output  # OutputExistsError, as for apply


def test_cli_compare_takes_a_deeper_layer_without_the_photo_rows(tmp_path, rgb_model):
    """conv2 (16, 6, 5, 5) sees 6 feature maps, not a photo: scores and kernels, no photo rows."""
    result = run("compare", rgb_model, "--key", "conv2.weight", "-o", tmp_path / "c2.png", "--draws", "20")
    assert result.exit_code == 0, result.output
    assert "mean best similarity" in result.output
    with Image.open(tmp_path / "c2.png") as drawn:
        width, height = drawn.size
    assert height < width / 4  # 16 columns, 2 rows of kernels


def test_cli_compare_evolution_strip_and_gif(tmp_path, rng):
    model = LeNet(1, 10, seed=0)
    start = model.layers["conv1"].params["weight"].copy()
    sobel = compare.standard_kernels()["sobel5_x"].astype(np.float32)
    # Three "epochs" sliding from random kernels to Sobel: the score must rise to 1.
    model.snapshots = {"conv1.weight": np.stack([start, (start + sobel) / 2, np.broadcast_to(sobel, start.shape)])}
    path = model.save(tmp_path / "evolving.npz")
    result = compare.compare_model(path, draws=20)
    assert result.evolution.shape == (3, 3) and result.evolution[-1, 0] == pytest.approx(1.0)
    assert result.evolution[0, 0] < result.evolution[1, 0]
    assert compare.EVOLUTION_COLUMNS[2] == "edge_detectors" and result.evolution[-1, 2] == 6  # six Sobel kernels
    assert result.evolution[0, 2] < 6
    for name in ("e.png", "e.gif"):
        outcome = run("compare", path, "--evolution", "-o", tmp_path / name, "--draws", "20")
        assert outcome.exit_code == 0, outcome.output
        assert "score per epoch" in outcome.output and (tmp_path / name).stat().st_size > 1000
        assert "edge detectors per epoch: 0: " in outcome.output and ", 2: 6" in outcome.output


def test_cli_compare_scale_option(tmp_path, gray_model):
    out = tmp_path / "c.svg"
    result = run("compare", gray_model, "-o", out, "--draws", "10", "--scale", "per-kernel")
    assert result.exit_code == 0, result.output
    assert "each kernel stretched to its own largest weight" in out.read_text().lower()
    bad = run("compare", gray_model, "-o", tmp_path / "d.png", "--draws", "10", "--scale", "own")
    assert bad.exit_code == 2 and "scale: invalid value 'own'" in bad.output and not (tmp_path / "d.png").exists()


def test_a_comparison_classifies_every_kernel_next_to_its_random_baseline(tmp_path):
    model = LeNet(1, 10, seed=0)
    sobel = compare.standard_kernels()["sobel5_x"]
    blur = compare.standard_kernels()["gaussian5"]
    model.layers["conv1"].params["weight"][...] = np.stack([sobel, sobel.T, -sobel, blur, blur, np.zeros((5, 5))])[:, None]
    result = compare.compare_model(model.save(tmp_path / "m.npz"), draws=50)
    assert [c.kind for c in result.classes] == ["edge detector"] * 3 + ["smoothing"] * 2 + ["other"]
    assert result.edge_detectors == 3
    assert result.class_baseline.shape == (6, 1, 5, 5) and result.class_baseline.draws == 50
    assert result.class_baseline.mean_edge_detectors < result.edge_detectors
    assert result.evolution is None


@pytest.mark.slow
def test_cli_compare_prints_each_class_with_its_numbers_and_the_baseline_of_the_kernels_size(tmp_path):
    sobel3 = np.outer([1.0, 2.0, 1.0], [-1.0, 0.0, 1.0])
    weights = np.stack([sobel3, sobel3.T, np.ones((3, 3)), -sobel3, np.rot90(sobel3), np.zeros((3, 3))])[:, None]
    path = tmp_path / "small.npz"
    np.savez(path, w=weights)
    result = run("compare", path, "--key", "w", "-o", tmp_path / "c.png", "--draws", "200")
    assert result.exit_code == 0, result.output
    rows = {line.split("│")[1].strip(): line for line in result.output.splitlines() if line.startswith("│") and "#" in line}
    assert "edge detector" in rows["#0"] and "0.000" in rows["#0"] and "1.000" in rows["#0"]  # zero mean, similarity 1
    assert "smoothing" in rows["#2"] and "box5" in rows["#2"]
    count = re.search(
        r"^4 of 6 kernels are edge detectors \(random 3x3 initialisations: (\d\.\d\d) of 6\); "
        r"the rule's thresholds are set for 5x5 kernels",
        result.output,
        re.M,
    )
    assert count, result.output
    assert float(count[1]) > 0.5  # 3x3 random kernels often pass: the count needs this baseline beside it


def test_cli_compare_errors_are_one_line(tmp_path, gray_model):
    result = run("compare", gray_model, "--key", "nope", "-o", tmp_path / "c.png")
    assert result.exit_code == 2
    assert result.stderr.startswith("convfx: error: --key: no array 'nope' in ")
    assert "; 4-D arrays in the file: conv1.weight, conv2.weight" in result.output
    assert "Traceback" not in result.output
    result = run("compare", gray_model, "--evolution", "-o", tmp_path / "e.png", "--draws", "10")
    assert result.exit_code == 2 and "--snapshots" in result.output
    assert not (tmp_path / "e.png").exists()


def test_cli_export_bank_then_apply(tmp_path, gray_model):
    bank = tmp_path / "my.toml"
    assert run("export-bank", gray_model, "-o", bank).exit_code == 0
    source = tmp_path / "photo.png"
    imageio.write_image(source, np.random.default_rng(1).integers(0, 256, (16, 16, 3), dtype=np.uint8))
    result = run("apply", f"{bank}#learned_1", source, "-o", tmp_path / "out.png")
    assert result.exit_code == 0, result.output
    result = run("apply", f"learned:{gray_model}#1", source, "-o", tmp_path / "map.png")
    assert result.exit_code == 0, result.output


# --------------------------------------------------------------------------- the shipped models


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


def test_shipped_digits_model_meets_both_targets(digits):
    model = LeNet.load(DIGITS)
    accuracy = evaluate(model, digits.test_images, digits.test_labels).accuracy
    weights = model.layers["conv1"].params["weight"]
    plain = compare.mean_similarity(compare.match_kernels(weights, classics="standard", transforms=False))
    full = compare.mean_similarity(compare.match_kernels(weights))
    random = compare.baseline(weights.shape, classics="standard", transforms=False, draws=500)
    assert accuracy >= 0.985
    assert plain >= 0.65 and full >= plain
    assert random.mean < 0.35 and plain > random.mean + 5 * random.sd


def test_the_shipped_photos_model_is_mostly_edge_detectors():
    model = LeNet.load(PHOTOS)
    assert model.metadata["dataset"] == "photos" and model.in_channels == 1
    classes = classify_kernels(model.layers["conv1"].params["weight"])
    assert count_edge_detectors(classes) >= 4
    assert random_baseline((6, 1, 5, 5), draws=300).mean_edge_detectors <= 0.5
    record = json.loads(PHOTOS.with_suffix(".json").read_text())
    assert record["kernel_classes"]["edge_detectors"] == count_edge_detectors(classes)
    assert [c[0] for c in record["kernel_classes"]["classes"]] == [c.kind for c in classes]


def test_shipped_models_have_snapshots_and_records():
    for path, channels in ((PHOTOS, 1), (DIGITS, 1), (SHAPES, 3)):
        model = LeNet.load(path)
        assert model.in_channels == channels
        assert model.snapshots["conv1.weight"].shape[1:] == (6, channels, 5, 5)
        record = json.loads(path.with_suffix(".json").read_text())
        assert record["command"].startswith("convfx train ") and len(record["first_losses"]) == 20
        assert record["test_accuracy"] == pytest.approx(float(model.metadata["test_accuracy"]))


def test_training_reproduces_the_recorded_loss_trajectory(digits):
    record = json.loads(DIGITS.with_suffix(".json").read_text())
    # The warm-up lasts the first epoch (23 steps) whatever the run length, so one
    # epoch with the recorded settings takes exactly the recorded first steps.
    config = TrainConfig(**{**record["config"], "epochs": 1})
    losses = train(digits, config).history["loss"][:20]
    np.testing.assert_allclose(losses, record["first_losses"], rtol=1e-4, atol=1e-5)


@pytest.mark.slow
def test_training_on_photos_reproduces_the_recorded_loss_trajectory():
    record = json.loads(PHOTOS.with_suffix(".json").read_text())
    config = TrainConfig(**{**record["config"], "epochs": 1})  # the warm-up is the first epoch (57 steps)
    losses = train(load_dataset("photos"), config).history["loss"][:20]
    np.testing.assert_allclose(losses, record["first_losses"], rtol=1e-4, atol=1e-5)
