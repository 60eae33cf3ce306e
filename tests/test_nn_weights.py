"""convfx.nn.weights: a conv layer's weights from a LeNet, any .npz, or .safetensors (bfloat16 too)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from convfx.compare import match_kernels
from convfx.errors import FileError, ParameterError
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
        with pytest.raises(
            ParameterError,
            match=r"^key: no array 'conv9.weight' in .*; 4-D arrays in the file: features.0.weight, features.3.weight",
        ):
            load_weights(tmp_path / name, key="conv9.weight")
        with pytest.raises(FileError, match=r"which weight\? .*; pass key=$"):
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


def _safetensors(path, tensors: dict, data: bytes = b"", *, data_bytes: int | None = None) -> None:
    """A .safetensors file of ``{name: (dtype, shape, nbytes)}`` laid out in order, then ``data``."""
    import struct

    header, offset = {}, 0
    for name, (dtype, shape, nbytes) in tensors.items():
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
    text = json.dumps(header).encode()
    with open(path, "wb") as stream:
        stream.write(struct.pack("<Q", len(text)) + text + data)
        stream.truncate(8 + len(text) + (offset if data_bytes is None else data_bytes))


def test_safetensors_reads_only_the_tensors_it_needs(tmp_path, rng):
    """A checkpoint of gigabytes (here a sparse file) costs its first layer: the rest is never read."""
    import tracemalloc

    weight = rng.normal(size=(4, 3, 3, 3)).astype("<f4")
    _safetensors(
        tmp_path / "big.safetensors",
        {"conv1.weight": ("F32", weight.shape, weight.nbytes), "embed.weight": ("F32", (32768, 8192), 2**30)},
        weight.tobytes(),
    )
    tracemalloc.start()
    try:
        loaded = load_weights(tmp_path / "big.safetensors")
        assert tracemalloc.get_traced_memory()[1] < 10_000_000
    finally:
        tracemalloc.stop()
    np.testing.assert_array_equal(loaded.weight, weight)
    with pytest.raises(FileError, match=r"'embed.weight' has shape \(32768, 8192\); expected a 4-D conv weight"):
        load_weights(tmp_path / "big.safetensors", key="embed.weight")


@pytest.mark.parametrize(
    ("tensors", "data_bytes", "header_bytes", "words"),
    [
        (
            {"conv1.weight": ("F32", (6, 1, 5, 5), 600)},
            100,
            None,
            r"tensor 'conv1.weight': data_offsets \[0, 600\] run past the 100 bytes of data",
        ),
        (
            {"conv1.weight": ("F32", (6, 1, 5, 5), 100)},
            None,
            None,
            r"tensor 'conv1.weight': 100 bytes of data for shape \(6, 1, 5, 5\) of F32",
        ),
        (
            {"conv1.weight": ("F32", (6, 1, 5, 5), 600)},
            None,
            2**40,
            r"its header claims 1,099,511,627,776 bytes, expected at most 16,777,216",
        ),
    ],
)
def test_safetensors_headers_are_checked_before_any_data_is_read(tmp_path, tensors, data_bytes, header_bytes, words):
    import struct

    path = tmp_path / "m.safetensors"
    _safetensors(path, tensors, data_bytes=data_bytes)
    if header_bytes is not None:
        data = bytearray(path.read_bytes())
        data[:8] = struct.pack("<Q", header_bytes)
        path.write_bytes(bytes(data))
    with pytest.raises(FileError, match=rf"m\.safetensors: not a readable \.safetensors file \({words}"):
        load_weights(path)


def test_a_fifo_is_not_a_weights_file(tmp_path):
    import os

    os.mkfifo(tmp_path / "m.safetensors")
    with pytest.raises(FileError, match=r"m\.safetensors: not a regular file \(a FIFO\), expected a \.npz or \.safetensors file"):
        load_weights(tmp_path / "m.safetensors")
