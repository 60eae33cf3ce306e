"""convfx.nn.weights: a conv layer's weights from a LeNet, any .npz, or .safetensors (bfloat16 too)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from convfx.compare import match_kernels
from convfx.errors import FileError
from convfx.nn.weights import load_weights


def test_load_weights_from_a_lenet(gray_model):
    weights = load_weights(gray_model)
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
        weights = load_weights(tmp_path / name, key="features.0.weight")
        np.testing.assert_array_equal(weights.weight, arrays["features.0.weight"])
        np.testing.assert_array_equal(weights.bias, arrays["features.0.bias"])
        assert weights.model is None
        assert len(match_kernels(weights.weight)) == 8
        # No bias entry: zeros.
        assert not load_weights(tmp_path / name, key="features.3.weight").bias.any()
        with pytest.raises(FileError, match=r"no array 'conv9.weight'; 4-D arrays in the file: features.0.weight, features.3.weight"):
            load_weights(tmp_path / name, key="conv9.weight")
        with pytest.raises(FileError, match=r"which weight\? pass --key"):
            load_weights(tmp_path / name)
        with pytest.raises(FileError, match=r"'classifier.weight' has shape \(10, 4\); expected a 4-D"):
            load_weights(tmp_path / name, key="classifier.weight")


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
        load_weights(path)
    assert "\n" not in str(error.value)


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
    weights = load_weights(path)
    expected = (halves.astype(np.uint32) << 16).view(np.float32)
    np.testing.assert_array_equal(weights.weight, expected)
    assert np.abs(weights.weight - weight).max() <= np.abs(weight).max() / 128  # bfloat16 keeps 8 bits
    np.testing.assert_array_equal(weights.bias, bias.astype(np.float32))
    header["conv1.bias"] = {"dtype": "F8_E4M3", "shape": [4], "data_offsets": [halves.nbytes, halves.nbytes + 4]}
    text = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(text)) + text + halves.tobytes() + bytes(4))
    with pytest.raises(FileError, match="tensor 'conv1.bias' has dtype F8_E4M3") as error:
        load_weights(path)
    assert "\n" not in str(error.value)
