"""convfx.learned: a model's first layer as an effect (``learned:MODEL[#k]``), and the montage of its maps.

The maps are held to the plain-loop correlation (convfx.reference) and to the conv
layer itself, the grid to a layout written out by hand.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import convfx
from convfx import effects, imageio, learned, reference
from convfx.errors import FileError, ParameterError
from convfx.nn import LeNet
from convfx.nn.weights import load_weights


def _normalised(image: np.ndarray, model: LeNet) -> np.ndarray:
    x = image.astype(np.float32) / np.float32(255)
    return (x - model.input_mean) / model.input_std


def test_learned_effect_is_the_correlation_with_the_transposed_bank(rgb_model, rgb_image):
    weights = load_weights(rgb_model)
    bank = weights.weight.transpose(0, 2, 3, 1)  # (F, C, kh, kw) -> (F, kh, kw, C)
    # The plain-loop definition, padded as the effect pads: by reflection, 2 pixels a side.
    expected = reference.correlate(_normalised(rgb_image, weights.model), bank, bias=weights.bias, padding=2, boundary="reflect")
    assert expected.shape == (20, 17, 6)
    single = convfx.apply(rgb_image, f"learned:{rgb_model}#3")
    np.testing.assert_allclose(single, expected[:, :, 3], rtol=1e-5, atol=1e-5)
    # All six maps in a 3-column grid, 2 pixels apart, the gaps at the maps' minimum.
    grid = np.full((2 * 20 + 2, 3 * 17 + 2 * 2), expected.min())
    for k, (row, column) in enumerate([(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2)]):
        grid[row * 22 : row * 22 + 20, column * 19 : column * 19 + 17] = expected[:, :, k]
    np.testing.assert_allclose(convfx.apply(rgb_image, f"learned:{rgb_model}"), grid, rtol=1e-5, atol=1e-5)
    relu = convfx.apply(rgb_image, f"learned:{rgb_model}#3:activation=true")
    np.testing.assert_allclose(relu, np.maximum(expected[:, :, 3], 0), rtol=1e-5, atol=1e-5)


def test_learned_effect_equals_the_conv_layer_away_from_the_border(gray_model, rng):
    model = LeNet.load(gray_model)
    image = rng.integers(0, 256, size=(32, 32), dtype=np.uint8)
    layer = model.layers["conv1"].forward(_normalised(image, model)[None, None])[0]  # (6, 28, 28), valid
    maps = learned.learned_responses(image, load_weights(gray_model))
    np.testing.assert_allclose(maps[2:-2, 2:-2].transpose(2, 0, 1), layer, rtol=1e-5, atol=1e-5)
    # An RGB photo is seen through its luminance by a gray model.
    rgb = np.repeat(image[:, :, None], 3, axis=2)
    np.testing.assert_allclose(learned.learned_responses(rgb, load_weights(gray_model)), maps, atol=1e-4)


def test_montage_places_maps_row_by_row():
    maps = np.arange(2 * 3 * 5, dtype=float).reshape(2, 3, 5) + 1
    grid = learned.montage(maps, gap=1)
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


def test_learned_without_a_model_uses_the_default_shipped_model(monkeypatch, gray_model):
    from convfx import models

    monkeypatch.setitem(models.SHIPPED_MODELS, models.DEFAULT_MODEL, gray_model)
    every = effects.parse_effect("learned:").steps[0]
    one = effects.parse_effect("learned:#2").steps[0]
    assert every.name == f"learned:{models.DEFAULT_MODEL}" and one.name == f"learned:{models.DEFAULT_MODEL}#2"
    assert str(gray_model) in every.description
    image = np.random.default_rng(3).random((12, 14))
    named = effects.apply(image, f"learned:{gray_model}#2")
    np.testing.assert_array_equal(effects.apply(image, "learned:#2"), named)


def test_render_file_writes_the_montage(tmp_path, gray_model):
    source = tmp_path / "in.png"
    imageio.write_image(source, np.random.default_rng(0).integers(0, 256, (20, 30, 4), dtype=np.uint8)[:, :, :3])
    out = convfx.render_file(source, tmp_path / "out.png", f"learned:{gray_model}")
    assert imageio.read_image(out).pixels.shape[:2] == (2 * 20 + 2, 3 * 30 + 4)


def test_the_prefix_is_registered_without_importing_the_network():
    """The first lookup of a step registers learned: (batch workers resolve it); the network loads only when a model is named."""
    code = (
        "import sys, convfx\n"
        "print('convfx.nn.lenet' in sys.modules, 'convfx.nn.weights' in sys.modules)\n"
        "step = convfx.effects.parse_effect('learned:digits#1').steps[0]\n"
        "print(step.name, 'convfx.nn.lenet' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:2] == ["False False", "learned:digits#1 True"]


def test_a_learned_steps_fingerprint_follows_the_weights_that_make_its_maps(tmp_path):
    """What a batch manifest holds: the same for the same model, another for any change to its first layer."""

    def fingerprint(model: LeNet, name: str) -> str:
        path = model.save(tmp_path / name)
        step = effects.parse_effect(f"learned:{path}#0").steps[0]
        assert step.fingerprint == learned.weights_fingerprint(load_weights(path))
        return step.fingerprint

    reference = fingerprint(LeNet(1, 10, seed=0), "a.npz")
    assert reference.startswith("sha256:") and fingerprint(LeNet(1, 10, seed=0), "same.npz") == reference
    assert effects.parse_effect(f"learned:{tmp_path / 'a.npz'}#0:activation=true").steps[0].fingerprint == reference
    changed = []
    for edit in ("conv1.weight", "conv1.bias", "input_mean", "fc1.weight"):
        model = LeNet(1, 10, seed=0)
        if edit == "input_mean":
            model = LeNet(1, 10, seed=0, input_mean=[0.25])
        else:
            layer, key = edit.split(".")
            model.layers[layer].params[key][...] += 0.5
        changed.append(fingerprint(model, f"{edit}.npz"))
    assert len({reference, *changed[:3]}) == 4  # the first layer and its input: new maps
    assert changed[3] == reference  # a later layer changes no learned map
    prelu = LeNet(1, 10, seed=0, activation="prelu")
    before = fingerprint(prelu, "prelu.npz")
    prelu.layers["act1"].params["weight"][...] = 0.5
    assert fingerprint(prelu, "prelu2.npz") != before
    assert effects.parse_effect("canny").steps[0].fingerprint == ""


# --------------------------------------------------------------------------- files named in the effect


def test_a_bad_model_in_the_effect_is_a_usage_error_naming_effect_and_file(tmp_path):
    """The model is part of EFFECT: exit 2, like a kernel file; still a FileError for library callers."""
    (tmp_path / "photo.png").write_bytes(b"\x89PNG not really")
    import os

    os.mkfifo(tmp_path / "pipe.npz")
    cases = {
        "missing.npz": r"missing\.npz: no such file",
        "photo.png": r"photo\.png: unsupported weights file type '\.png'",
        "pipe.npz": r"pipe\.npz: not a regular file \(a FIFO\)",
    }
    for name, words in cases.items():
        spec = f"learned:{tmp_path / name}"
        with pytest.raises(learned.ModelFileError, match=rf"^effect '{spec}': .*{words}") as info:
            effects.parse_effect(spec)
        assert info.value.exit_code == 2
        assert isinstance(info.value, FileError) and isinstance(info.value, ParameterError)


def test_a_model_with_too_many_kernels_is_refused_from_its_shape(tmp_path):
    from convfx.limits import MAX_LEARNED_MAPS

    np.savez(tmp_path / "wide.npz", **{"conv1.weight": np.ones((MAX_LEARNED_MAPS + 1, 1, 1, 1), np.float32)})
    with pytest.raises(
        learned.ModelFileError,
        match=rf"'conv1.weight' has {MAX_LEARNED_MAPS + 1} kernels; a learned: effect takes at most {MAX_LEARNED_MAPS}",
    ):
        effects.parse_effect(f"learned:{tmp_path / 'wide.npz'}")
    np.savez(tmp_path / "most.npz", **{"conv1.weight": np.ones((MAX_LEARNED_MAPS, 1, 1, 1), np.float32)})
    assert effects.parse_effect(f"learned:{tmp_path / 'most.npz'}#255")


def test_feature_maps_over_the_limit_are_refused_before_correlating(monkeypatch, gray_model):
    weights = load_weights(gray_model)  # 6 maps
    monkeypatch.setattr(learned, "MAX_FEATURE_MAP_VALUES", 6 * 20 * 30 - 1)
    with pytest.raises(ParameterError, match=r"^image: 30x20 pixels x 6 feature maps = 3,600 values, over the limit of 3,599"):
        learned.learned_responses(np.zeros((20, 30), np.uint8), weights)
    monkeypatch.setattr(learned, "MAX_FEATURE_MAP_VALUES", 6 * 20 * 30)
    assert learned.learned_responses(np.zeros((20, 30), np.uint8), weights).shape == (20, 30, 6)
