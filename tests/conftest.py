"""Shared fixtures: small seeded images and a random generator per test."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture
def rng() -> np.random.Generator:
    """A generator seeded the same way in every test, so failures reproduce."""
    return np.random.default_rng(20261125)


@pytest.fixture
def gray_image(rng) -> np.ndarray:
    """A (24, 31) float64 image in [0, 1)."""
    return rng.random((24, 31))


@pytest.fixture
def rgb_image(rng) -> np.ndarray:
    """A (20, 17, 3) uint8 image."""
    return rng.integers(0, 256, size=(20, 17, 3), dtype=np.uint8)


@pytest.fixture
def step_edge() -> np.ndarray:
    """A (32, 32) float64 image: 0 left of column 16, 1 from column 16 on."""
    _, cols = np.mgrid[0:32, 0:32]
    return (cols >= 16).astype(np.float64)


# --------------------------------------------------------------------------- models
# (compare / learned / nn.weights tests)


@pytest.fixture(scope="session")
def gray_model(tmp_path_factory):
    """A small untrained gray LeNet with a non-trivial input normalisation, saved as .npz."""
    from convfx.nn import LeNet

    model = LeNet(1, 10, seed=3, input_mean=[0.3], input_std=[0.4])
    model.layers["conv1"].params["bias"][...] = np.linspace(-0.5, 0.5, 6)
    return model.save(tmp_path_factory.mktemp("models") / "gray.npz")


@pytest.fixture(scope="session")
def rgb_model(tmp_path_factory):
    """A small untrained RGB LeNet (4 classes) with a per-channel normalisation, saved as .npz."""
    from convfx.nn import LeNet

    model = LeNet(3, 4, seed=5, input_mean=[0.5, 0.4, 0.3], input_std=[0.2, 0.25, 0.3])
    model.layers["conv1"].params["bias"][...] = np.arange(6) / 10
    return model.save(tmp_path_factory.mktemp("models") / "rgb.npz")


# --------------------------------------------------------------------------- image files
# (banks / effects / imageio / CLI tests)

SAMPLES = __import__("pathlib").Path(__file__).resolve().parent.parent / "samples"


@pytest.fixture
def photo(rng) -> np.ndarray:
    """A (48, 64, 3) uint8 RGB image with smooth structure plus noise, like a small photo."""
    rows, cols = np.mgrid[0:48, 0:64]
    base = np.stack([rows * 4, cols * 3, (rows + cols) * 2], axis=-1).astype(np.float64)
    return np.clip(base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8)


@pytest.fixture
def photo_png(tmp_path, photo):
    """``photo`` written as tmp_path/photo.png."""
    from PIL import Image

    path = tmp_path / "photo.png"
    Image.fromarray(photo).save(path)
    return path


@pytest.fixture
def photo_jpg(tmp_path, photo):
    """``photo`` written as tmp_path/photo.jpg (quality 95)."""
    from PIL import Image

    path = tmp_path / "photo.jpg"
    Image.fromarray(photo).save(path, quality=95)
    return path


def png_header_only(width: int, height: int) -> bytes:
    """A valid PNG header claiming ``width`` x ``height`` RGB pixels, with almost no data.

    What a decompression bomb looks like from the outside: a few hundred bytes
    whose header asks for gigabytes.
    """
    import struct
    import zlib

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


#: Bad inputs every reader and the CLI must refuse in one line: kind -> word in the message.
BAD_IMAGES = {
    "nonexistent": "no such file",
    "folder": "folder",
    "zero_byte": "empty",
    "random_bytes_jpg": "not a recognised image",
    "text_named_png": "not a recognised image",
    "truncated_jpeg": "truncated",
    "truncated_png": "truncated",
    "bomb_png": "pixels is over the limit",
}


@pytest.fixture
def bad_image(tmp_path, photo):
    """``bad_image(kind)`` makes one of :data:`BAD_IMAGES` in tmp_path/bad and returns its path."""
    from PIL import Image

    folder = tmp_path / "bad"
    folder.mkdir(exist_ok=True)

    def make(kind: str):
        big = np.tile(photo, (4, 4, 1))  # enough data that cutting it in half loses rows
        if kind == "nonexistent":
            return folder / "missing.jpg"
        if kind == "folder":
            path = folder / "album.jpg"
            path.mkdir()
            return path
        path = (
            folder
            / {
                "zero_byte": "empty.jpg",
                "random_bytes_jpg": "noise.jpg",
                "text_named_png": "notes.png",
                "truncated_jpeg": "cut.jpg",
                "truncated_png": "cut.png",
                "bomb_png": "bomb.png",
            }[kind]
        )
        if kind == "zero_byte":
            path.write_bytes(b"")
        elif kind == "random_bytes_jpg":
            path.write_bytes(np.random.default_rng(1).integers(0, 256, 5000, dtype=np.uint8).tobytes())
        elif kind == "text_named_png":
            path.write_text("this is not an image\n")
        elif kind in ("truncated_jpeg", "truncated_png"):
            full = folder / ("full.jpg" if kind == "truncated_jpeg" else "full.png")
            Image.fromarray(big).save(full, quality=95) if kind == "truncated_jpeg" else Image.fromarray(big).save(full)
            data = full.read_bytes()
            full.unlink()
            path.write_bytes(data[: len(data) // 2])
        elif kind == "bomb_png":
            path.write_bytes(png_header_only(100_000, 100_000))
        return path

    return make
