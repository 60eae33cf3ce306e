"""Tests of :mod:`convfx.nn.cifar` on small files written here in the official binary layout.

Each record is a label byte then the red, green and blue 32x32 planes, rows top
to bottom (https://www.cs.toronto.edu/~kriz/cifar.html, "Binary version").
"""

from __future__ import annotations

import numpy as np
import pytest

from convfx.color import LUMINANCE_WEIGHTS
from convfx.errors import FileError, ParameterError
from convfx.nn import load_dataset
from convfx.nn.cifar import CIFAR10_CLASSES, load_cifar10, read_cifar10_binary


def record(label: int, red: np.ndarray, green: np.ndarray, blue: np.ndarray) -> bytes:
    """One record written byte by byte as the format describes it."""
    out = bytearray([label])
    for plane in (red, green, blue):
        for row in plane:
            out.extend(int(v) for v in row)
    return bytes(out)


def random_records(rng: np.random.Generator, count: int) -> tuple[bytes, np.ndarray, np.ndarray]:
    images = rng.integers(0, 256, (count, 3, 32, 32), dtype=np.uint8)
    labels = rng.integers(0, 10, count)
    data = b"".join(record(int(label), *image) for label, image in zip(labels, images))
    return data, images, labels


@pytest.fixture
def cifar_folder(tmp_path, rng):
    """``tmp_path/cifar-10-batches-bin`` with two small training batches and a test batch."""
    folder = tmp_path / "cifar-10-batches-bin"
    folder.mkdir()
    expected = {}
    for name, count in (("data_batch_1.bin", 5), ("data_batch_2.bin", 4), ("test_batch.bin", 3)):
        data, images, labels = random_records(rng, count)
        (folder / name).write_bytes(data)
        expected[name] = (images, labels)
    return folder, expected


def test_a_record_reads_back_with_red_as_the_first_plane(tmp_path):
    red = np.zeros((32, 32), np.uint8)
    red[0, :] = 255  # a red top row
    green = np.full((32, 32), 7, np.uint8)
    blue = np.zeros((32, 32), np.uint8)
    blue[:, 31] = 200  # a blue right column
    (tmp_path / "one.bin").write_bytes(record(6, red, green, blue))
    images, labels = read_cifar10_binary(tmp_path / "one.bin")
    assert images.shape == (1, 3, 32, 32) and images.dtype == np.uint8 and labels.tolist() == [6]
    assert images[0, 0, 0].tolist() == [255] * 32 and images[0, 0, 1:].max() == 0
    assert np.all(images[0, 1] == 7)
    assert images[0, 2, :, 31].tolist() == [200] * 32 and images[0, 2, :, :31].max() == 0
    assert CIFAR10_CLASSES[labels[0]] == "frog"


def test_the_folder_or_its_parent_loads_every_batch_in_order(cifar_folder):
    folder, expected = cifar_folder
    for root in (folder, folder.parent):
        data = load_cifar10(root)
        assert data.name == f"cifar10:{folder.resolve()}" and data.class_names == CIFAR10_CLASSES
        train = np.concatenate([expected["data_batch_1.bin"][0], expected["data_batch_2.bin"][0]])
        np.testing.assert_array_equal(data.train_images, train.astype(np.float32) / 255)
        np.testing.assert_array_equal(
            data.train_labels, np.concatenate([expected["data_batch_1.bin"][1], expected["data_batch_2.bin"][1]])
        )
        np.testing.assert_array_equal(data.test_images * 255, expected["test_batch.bin"][0].astype(np.float32))
    again = load_dataset(data.name)
    np.testing.assert_array_equal(again.train_images, data.train_images)


def test_the_gray_reading_is_the_luminance_and_max_train_keeps_the_first(cifar_folder):
    folder, expected = cifar_folder
    gray = load_cifar10(folder, color=False, max_train=7)
    assert gray.train_images.shape == (7, 1, 32, 32)
    first = expected["data_batch_1.bin"][0][0].astype(np.float64) / 255
    np.testing.assert_allclose(gray.train_images[0, 0], np.tensordot(LUMINANCE_WEIGHTS, first, axes=1), atol=1e-6)
    np.testing.assert_array_equal(gray.train_labels[5:], expected["data_batch_2.bin"][1][:2])


def test_a_file_of_the_wrong_size_is_one_line(tmp_path):
    path = tmp_path / "data_batch_1.bin"
    path.write_bytes(bytes(3074))
    with pytest.raises(FileError) as error:
        read_cifar10_binary(path)
    assert str(error.value) == (
        f"{path}: expected a CIFAR-10 binary file, a multiple of 3073 bytes (1 label + 3072 pixels per image), found 3074 bytes"
    )
    path.write_bytes(b"")
    with pytest.raises(FileError, match="found 0 bytes"):
        read_cifar10_binary(path)


def test_a_label_above_9_is_one_line(tmp_path):
    zeros = np.zeros((32, 32), np.uint8)
    (tmp_path / "bad.bin").write_bytes(record(3, zeros, zeros, zeros) + record(10, zeros, zeros, zeros))
    with pytest.raises(FileError, match=r"bad.bin: expected labels 0-9, found 10 in record 1$"):
        read_cifar10_binary(tmp_path / "bad.bin")


def test_missing_batches_and_folders_are_one_line(cifar_folder, tmp_path):
    folder, _ = cifar_folder
    (folder / "test_batch.bin").unlink()
    with pytest.raises(
        FileError, match="expected test_batch.bin and data_batch_1.bin ... data_batch_5.bin .*found no test_batch.bin"
    ):
        load_cifar10(folder)
    with pytest.raises(FileError, match="expected a folder of CIFAR-10 binary files, found nothing"):
        load_cifar10(tmp_path / "nowhere")
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "test_batch.bin").write_bytes(bytes(3073))
    with pytest.raises(FileError, match="found no data_batch_1.bin"):
        load_cifar10(empty)
    with pytest.raises(FileError, match="no such file"):
        read_cifar10_binary(tmp_path / "none.bin")
    with pytest.raises(ParameterError, match="max_train"):
        load_cifar10(folder.parent, max_train=0)
