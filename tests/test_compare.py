"""Tests of :mod:`convfx.compare`, the learned-filter effect and ``convfx compare`` / ``export-bank``.

Exact cases first (a classic kernel turned, mirrored and negated is found with
similarity 1 and the transform that maps it back), then the files, the effect
(equal to the engine with the transposed bank, and to the conv layer itself), the
commands, and finally the shipped models: their targets and their recorded
training losses.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

import convfx
from convfx import banks, compare, effects, imageio
from convfx.cli import app
from convfx.errors import FileError, ParameterError
from convfx.nn import LeNet, TrainConfig, load_dataset, evaluate, train

runner = CliRunner()
DIGITS = compare.SHIPPED_MODELS["digits"]
SHAPES = compare.SHIPPED_MODELS["shapes"]


def run(*args):
    return runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "200"})


@pytest.fixture(scope="module")
def gray_model(tmp_path_factory) -> Path:
    """A small untrained gray LeNet with a non-trivial input normalisation, saved as .npz."""
    model = LeNet(1, 10, seed=3, input_mean=[0.3], input_std=[0.4])
    model.layers["conv1"].params["bias"][...] = np.linspace(-0.5, 0.5, 6)
    return model.save(tmp_path_factory.mktemp("models") / "gray.npz")


@pytest.fixture(scope="module")
def rgb_model(tmp_path_factory) -> Path:
    model = LeNet(3, 4, seed=5, input_mean=[0.5, 0.4, 0.3], input_std=[0.2, 0.25, 0.3])
    model.layers["conv1"].params["bias"][...] = np.arange(6) / 10
    return model.save(tmp_path_factory.mktemp("models") / "rgb.npz")


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


# --------------------------------------------------------------------------- files


def test_load_weights_from_a_lenet(gray_model):
    weights = compare.load_weights(gray_model)
    assert weights.key == "conv1.weight" and weights.weight.shape == (6, 1, 5, 5)
    np.testing.assert_allclose(weights.bias, np.linspace(-0.5, 0.5, 6), rtol=1e-6)
    assert weights.model is not None and weights.init == "he"
    np.testing.assert_allclose(weights.input_mean, [0.3])


def test_load_weights_from_any_npz_and_safetensors_with_key(tmp_path, rng):
    from safetensors.numpy import save_file

    arrays = {
        "features.0.weight": rng.normal(size=(8, 3, 7, 7)).astype(np.float32),
        "features.0.bias": rng.normal(size=8).astype(np.float32),
        "features.3.weight": rng.normal(size=(4, 8, 3, 3)).astype(np.float32),
        "classifier.weight": rng.normal(size=(10, 4)).astype(np.float32),
    }
    np.savez(tmp_path / "net.npz", **arrays)
    save_file(arrays, str(tmp_path / "net.safetensors"))
    for name in ("net.npz", "net.safetensors"):
        weights = compare.load_weights(tmp_path / name, key="features.0.weight")
        np.testing.assert_array_equal(weights.weight, arrays["features.0.weight"])
        np.testing.assert_array_equal(weights.bias, arrays["features.0.bias"])
        assert weights.model is None
        assert len(compare.match_kernels(weights.weight)) == 8
        # No bias entry: zeros.
        assert not compare.load_weights(tmp_path / name, key="features.3.weight").bias.any()
        with pytest.raises(FileError, match=r"no array 'conv9.weight'; 4-D arrays in the file: features.0.weight, features.3.weight"):
            compare.load_weights(tmp_path / name, key="conv9.weight")
        with pytest.raises(FileError, match=r"which weight\? pass --key"):
            compare.load_weights(tmp_path / name)
        with pytest.raises(FileError, match=r"'classifier.weight' has shape \(10, 4\); expected a 4-D"):
            compare.load_weights(tmp_path / name, key="classifier.weight")


@pytest.mark.parametrize(
    "name, content, words",
    [
        ("missing.npz", None, "no such file"),
        ("weights.pt", b"x", "unsupported weights file type '.pt'"),
        ("broken.npz", b"not a zip", "not a readable .npz"),
        ("broken.safetensors", b"\x01\x00\x00\x00\x00\x00\x00\x00{", "not a readable .safetensors"),
    ],
)
def test_load_weights_errors_are_one_line(tmp_path, name, content, words):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(FileError, match=words) as error:
        compare.load_weights(path)
    assert "\n" not in str(error.value)


def test_shipped_names_resolve():
    assert compare.resolve_model(None) == DIGITS
    assert compare.resolve_model("shapes") == SHAPES
    with pytest.raises(ParameterError, match="digits"):
        compare.shipped_model("cats")


# --------------------------------------------------------------------------- export and the learned effect


def test_export_bank_round_trip(tmp_path, rgb_model, rgb_image):
    weights = compare.load_weights(rgb_model)
    path = compare.export_bank(weights, tmp_path / "my.toml")
    bank = banks.load_bank(path)
    assert len(bank) == 6 * 4
    for k in range(6):
        np.testing.assert_allclose(bank[f"learned_{k}"].kernels[0].weights, weights.weight[k].astype(np.float64).sum(axis=0), rtol=1e-12)
        np.testing.assert_allclose(bank[f"learned_{k}_g"].kernels[0].weights, weights.weight[k, 1], rtol=1e-12)
    # Usable wherever a kernel file is: bank.toml#name as an effect.
    response = convfx.apply(rgb_image, f"{path}#learned_2")
    np.testing.assert_allclose(response, convfx.correlate(rgb_image, weights.weight[2].astype(np.float64).sum(axis=0), boundary="reflect"), rtol=1e-5, atol=1e-3)
    with pytest.raises(imageio.OutputExistsError):
        compare.export_bank(weights, path)
    with pytest.raises(ParameterError, match=".toml"):
        compare.export_bank(weights, tmp_path / "my.json")


def _normalised(image: np.ndarray, model: LeNet) -> np.ndarray:
    x = image.astype(np.float32) / np.float32(255)
    return (x - model.input_mean) / model.input_std


def test_learned_effect_is_the_engine_with_the_transposed_bank(rgb_model, rgb_image):
    weights = compare.load_weights(rgb_model)
    bank = weights.weight.transpose(0, 2, 3, 1)  # (F, C, kh, kw) -> (F, kh, kw, C)
    expected = convfx.correlate(_normalised(rgb_image, weights.model), bank, bias=weights.bias, boundary="reflect")
    single = convfx.apply(rgb_image, f"learned:{rgb_model}#3")
    np.testing.assert_allclose(single, expected[:, :, 3], rtol=1e-5, atol=1e-5)
    grid = convfx.apply(rgb_image, f"learned:{rgb_model}")
    np.testing.assert_allclose(grid, compare.montage(expected), rtol=1e-5, atol=1e-5)
    relu = convfx.apply(rgb_image, f"learned:{rgb_model}#3:activation=true")
    np.testing.assert_allclose(relu, np.maximum(expected[:, :, 3], 0), rtol=1e-5, atol=1e-5)


def test_learned_effect_equals_the_conv_layer_away_from_the_border(gray_model, rng):
    model = LeNet.load(gray_model)
    image = rng.integers(0, 256, size=(32, 32), dtype=np.uint8)
    layer = model.layers["conv1"].forward(_normalised(image, model)[None, None])[0]  # (6, 28, 28), valid
    maps = compare.learned_responses(image, compare.load_weights(gray_model))
    np.testing.assert_allclose(maps[2:-2, 2:-2].transpose(2, 0, 1), layer, rtol=1e-5, atol=1e-5)
    # An RGB photo is seen through its luminance by a gray model.
    rgb = np.repeat(image[:, :, None], 3, axis=2)
    np.testing.assert_allclose(compare.learned_responses(rgb, compare.load_weights(gray_model)), maps, atol=1e-4)


def test_montage_places_maps_row_by_row():
    maps = np.arange(2 * 3 * 5, dtype=float).reshape(2, 3, 5) + 1
    grid = compare.montage(maps, gap=1)
    assert grid.shape == (2 * 2 + 1, 3 * 3 + 2)
    np.testing.assert_array_equal(grid[3:5, 4:7], maps[:, :, 4])
    assert grid[2, 0] == maps.min()


def test_learned_effect_errors(gray_model):
    with pytest.raises(ParameterError, match=r"#k must be a map index in 0..5"):
        effects.parse_effect(f"learned:{gray_model}#6")
    with pytest.raises(FileError, match="no such file"):
        effects.parse_effect("learned:nowhere.npz")
    with pytest.raises(ParameterError, match="unknown parameter"):
        effects.parse_effect(f"learned:{gray_model}:gain=2")


def test_render_file_writes_the_montage(tmp_path, gray_model):
    source = tmp_path / "in.png"
    imageio.write_image(source, np.random.default_rng(0).integers(0, 256, (20, 30, 4), dtype=np.uint8)[:, :, :3])
    out = convfx.render.render_file(source, tmp_path / "out.png", f"learned:{gray_model}")
    assert imageio.read_image(out).pixels.shape[:2] == (2 * 20 + 2, 3 * 30 + 4)


# --------------------------------------------------------------------------- commands


@pytest.mark.slow
def test_cli_compare_prints_the_table_and_writes_the_figure(tmp_path, rgb_model):
    photo = tmp_path / "photo.png"
    imageio.write_image(photo, np.random.default_rng(2).integers(0, 256, (48, 64, 3), dtype=np.uint8))
    result = run("compare", rgb_model, "--image", photo, "-o", tmp_path / "c.png", "--draws", "50")
    assert result.exit_code == 0, result.output
    assert "best classic match" in result.output and "R / G / B" in result.output and "random kernels" in result.output
    assert (tmp_path / "c.png").stat().st_size > 10_000
    result = run("compare", rgb_model, "--image", photo, "-o", tmp_path / "c.png", "--draws", "50")
    assert result.exit_code == 1 and "--force" in result.output  # OutputExistsError, as for apply


@pytest.mark.slow
def test_cli_compare_takes_a_deeper_layer_without_the_photo_rows(tmp_path, rgb_model):
    """conv2 (16, 6, 5, 5) sees 6 feature maps, not a photo: scores and kernels, no photo rows."""
    result = run("compare", rgb_model, "--key", "conv2.weight", "-o", tmp_path / "c2.png", "--draws", "20")
    assert result.exit_code == 0, result.output
    assert "mean best similarity" in result.output
    with Image.open(tmp_path / "c2.png") as drawn:
        width, height = drawn.size
    assert height < width / 4  # 16 columns, 2 rows of kernels


def test_bfloat16_safetensors_weights_are_widened_exactly(tmp_path, rng):
    """numpy has no bfloat16; recent checkpoints store conv weights in it."""
    import struct

    weight = rng.normal(size=(4, 3, 5, 5)).astype(np.float32)
    halves = (weight.view(np.uint32) >> 16).astype("<u2")  # bfloat16: the top 16 bits
    bias = rng.normal(size=4).astype("<f2")
    header = {
        "conv1.weight": {"dtype": "BF16", "shape": list(weight.shape), "data_offsets": [0, halves.nbytes]},
        "conv1.bias": {"dtype": "F16", "shape": [4], "data_offsets": [halves.nbytes, halves.nbytes + bias.nbytes]},
        "__metadata__": {"format": "pt"},
    }
    text = json.dumps(header).encode()
    path = tmp_path / "bf16.safetensors"
    path.write_bytes(struct.pack("<Q", len(text)) + text + halves.tobytes() + bias.tobytes())
    weights = compare.load_weights(path)
    expected = (halves.astype(np.uint32) << 16).view(np.float32)
    np.testing.assert_array_equal(weights.weight, expected)
    assert np.abs(weights.weight - weight).max() <= np.abs(weight).max() / 128  # bfloat16 keeps 8 bits
    np.testing.assert_array_equal(weights.bias, bias.astype(np.float32))
    header["conv1.bias"] = {"dtype": "F8_E4M3", "shape": [4], "data_offsets": [halves.nbytes, halves.nbytes + 4]}
    text = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(text)) + text + halves.tobytes() + bytes(4))
    with pytest.raises(FileError, match="tensor 'conv1.bias' has dtype F8_E4M3") as error:
        compare.load_weights(path)
    assert "\n" not in str(error.value)


@pytest.mark.slow
def test_cli_compare_evolution_strip_and_gif(tmp_path, rng):
    model = LeNet(1, 10, seed=0)
    start = model.layers["conv1"].params["weight"].copy()
    sobel = compare.standard_kernels()["sobel5_x"].astype(np.float32)
    # Three "epochs" sliding from random kernels to Sobel: the score must rise to 1.
    model.snapshots = {"conv1.weight": np.stack([start, (start + sobel) / 2, np.broadcast_to(sobel, start.shape)])}
    path = model.save(tmp_path / "evolving.npz")
    result = compare.compare_model(path, draws=20)
    assert result.evolution.shape == (3, 2) and result.evolution[-1, 0] == pytest.approx(1.0)
    assert result.evolution[0, 0] < result.evolution[1, 0]
    for name in ("e.png", "e.gif"):
        outcome = run("compare", path, "--evolution", "-o", tmp_path / name, "--draws", "20")
        assert outcome.exit_code == 0, outcome.output
        assert "score per epoch" in outcome.output and (tmp_path / name).stat().st_size > 1000


@pytest.mark.slow
def test_cli_compare_errors_are_one_line(tmp_path, gray_model):
    result = run("compare", gray_model, "--key", "nope", "-o", tmp_path / "c.png")
    assert result.exit_code == 1
    assert "no array 'nope'; 4-D arrays in the file: conv1.weight, conv2.weight" in result.output
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


@pytest.mark.slow
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


def test_shipped_models_have_snapshots_and_records():
    for path, channels in ((DIGITS, 1), (SHAPES, 3)):
        model = LeNet.load(path)
        assert model.in_channels == channels
        assert model.snapshots["conv1.weight"].shape[1:] == (6, channels, 5, 5)
        record = json.loads(path.with_suffix(".json").read_text())
        assert record["command"].startswith("convfx train ") and len(record["first_losses"]) == 20
        assert record["test_accuracy"] == pytest.approx(float(model.metadata["test_accuracy"]))


@pytest.mark.slow
def test_training_reproduces_the_recorded_loss_trajectory(digits):
    record = json.loads(DIGITS.with_suffix(".json").read_text())
    # The warm-up lasts the first epoch (23 steps) whatever the run length, so one
    # epoch with the recorded settings takes exactly the recorded first steps.
    config = TrainConfig(**{**record["config"], "epochs": 1})
    losses = train(digits, config).history["loss"][:20]
    np.testing.assert_allclose(losses, record["first_losses"], rtol=1e-4, atol=1e-5)
