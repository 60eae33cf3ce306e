"""Data sets: the fixed digits split, deterministic shapes, image folders, IDX files."""

from __future__ import annotations

import gzip
import zlib

import numpy as np
import pytest
from PIL import Image

from convfx import FileError, ParameterError
from convfx.nn import load_dataset, load_digits, load_folder, load_idx_folder, load_shapes, make_shapes, read_idx
from convfx.nn.data import FASHION_CLASSES, SHAPE_CLASSES, stratified_split


@pytest.fixture(scope="module")
def digits():
    return load_digits()


def test_digits_are_32x32_in_unit_range(digits):
    assert digits.train_images.shape == (1438, 1, 32, 32)
    assert digits.test_images.shape == (359, 1, 32, 32)
    assert digits.train_images.dtype == np.float32
    assert digits.train_images.min() == 0.0 and digits.train_images.max() == 1.0
    assert digits.class_names == tuple("0123456789")
    # The 28x28 digit sits in a 2-pixel empty frame.
    assert not digits.train_images[:, :, :2].any() and not digits.train_images[:, :, :, -2:].any()


def test_digits_split_is_fixed_stratified_and_disjoint(digits):
    from sklearn.datasets import load_digits as sklearn_digits

    labels = sklearn_digits().target
    train, test = stratified_split(labels, seed=0)
    # The documented split, pinned: changing it would silently change every result.
    assert (len(train), len(test)) == (1438, 359)
    assert test[:8].tolist() == [5, 9, 12, 14, 16, 17, 19, 23]
    assert int(test.sum()) == 324981
    assert not set(train) & set(test)
    np.testing.assert_array_equal(np.bincount(labels[test]), [36, 36, 35, 37, 36, 36, 36, 36, 35, 36])
    np.testing.assert_array_equal(digits.test_labels, labels[test])
    again = load_digits()
    np.testing.assert_array_equal(again.test_images, digits.test_images)


def test_shapes_are_deterministic_by_seed():
    a_images, a_labels = make_shapes(40, seed=7)
    b_images, b_labels = make_shapes(40, seed=7)
    c_images, _ = make_shapes(40, seed=8)
    np.testing.assert_array_equal(a_images, b_images)
    np.testing.assert_array_equal(a_labels, b_labels)
    assert not np.array_equal(a_images, c_images)
    assert a_images.shape == (40, 3, 32, 32) and a_images.dtype == np.float32
    assert a_images.min() >= 0.0 and a_images.max() <= 1.0
    np.testing.assert_array_equal(np.bincount(a_labels), [5] * len(SHAPE_CLASSES))


def test_shapes_dataset_has_separate_train_and_test_streams():
    data = load_shapes(train_per_class=3, test_per_class=2, seed=1)
    assert data.channels == 3 and data.class_names == SHAPE_CLASSES
    assert (len(data.train_labels), len(data.test_labels)) == (24, 16)
    assert not any(np.array_equal(t, s) for t in data.test_images for s in data.train_images)
    np.testing.assert_array_equal(load_shapes(train_per_class=3, test_per_class=2, seed=1).train_images, data.train_images)


def test_shapes_stand_out_and_bars_keep_their_orientation():
    images, labels = make_shapes(160, seed=0)
    for name, wide in (("horizontal-bar", True), ("vertical-bar", False)):
        for image in images[labels == SHAPE_CLASSES.index(name)]:
            background = np.median(image.reshape(3, -1), axis=1)[:, None, None]
            shape = np.linalg.norm(image - background, axis=0) > 0.3  # the colours differ by >= 0.5
            rows, columns = shape.any(axis=1).sum(), shape.any(axis=0).sum()
            assert rows > 0
            assert (columns > rows) == wide, name


def _write_png(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


def test_folder_of_class_subfolders(tmp_path, rng):
    for name in ("cat", "dog", "eel"):
        for i in range(5):
            _write_png(tmp_path / name / f"{i}.png", rng.integers(0, 256, (40, 50), dtype=np.uint8))
    (tmp_path / "notes.txt").write_text("ignored")
    (tmp_path / "dog" / "readme.md").write_text("ignored")
    data = load_folder(tmp_path)
    assert data.class_names == ("cat", "dog", "eel")
    assert data.channels == 1
    assert (len(data.train_labels), len(data.test_labels)) == (12, 3)
    np.testing.assert_array_equal(np.bincount(data.test_labels), [1, 1, 1])
    assert data.train_images.shape[1:] == (1, 32, 32)
    assert load_dataset(tmp_path).class_names == data.class_names


def test_folder_with_train_and_test_and_colour(tmp_path, rng):
    for split, count in (("train", 3), ("test", 2)):
        for name in ("a", "b"):
            for i in range(count):
                _write_png(tmp_path / split / name / f"{i}.jpg", rng.integers(0, 256, (20, 20, 3), dtype=np.uint8))
    # One gray image among colour ones: the data set is RGB and it is expanded.
    _write_png(tmp_path / "train" / "a" / "gray.png", np.full((33, 17), 200, np.uint8))
    data = load_folder(tmp_path)
    assert data.channels == 3
    assert (len(data.train_labels), len(data.test_labels)) == (7, 4)
    gray = data.train_images[data.train_labels == 0][-1]
    np.testing.assert_allclose(gray, 200 / 255, atol=1e-3)


def test_folder_errors_name_the_problem(tmp_path):
    with pytest.raises(FileError, match="class sub-folders"):
        load_folder(tmp_path)
    (tmp_path / "only").mkdir()
    _write_png(tmp_path / "only" / "x.png", np.zeros((4, 4), np.uint8))
    with pytest.raises(FileError, match="at least 2 class"):
        load_folder(tmp_path)
    _write_png(tmp_path / "only" / "y.png", np.zeros((4, 4), np.uint8))
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "bad.png").write_bytes(b"not a png at all")
    _write_png(tmp_path / "broken" / "good.png", np.zeros((4, 4), np.uint8))
    with pytest.raises(FileError, match="bad.png"):
        load_folder(tmp_path)
    with pytest.raises(ParameterError, match="^dataset: no such data set .*missing"):
        load_dataset(tmp_path / "missing")


def _idx_bytes(array: np.ndarray) -> bytes:
    code = {np.dtype(np.uint8): 0x08, np.dtype(">i4"): 0x0C}[array.dtype]
    header = bytes([0, 0, code, array.ndim]) + np.array(array.shape, dtype=">u4").tobytes()
    return header + array.tobytes()


def _write_idx(folder, name, array, *, compress=False):
    folder.mkdir(parents=True, exist_ok=True)
    data = _idx_bytes(array)
    if compress:
        (folder / (name + ".gz")).write_bytes(gzip.compress(data))
    else:
        (folder / name).write_bytes(data)


@pytest.mark.parametrize("compress", [False, True])
def test_idx_folder_like_mnist(tmp_path, rng, compress):
    folder = tmp_path / "fashion-mnist"
    train_images = rng.integers(0, 256, (6, 28, 28), dtype=np.uint8)
    _write_idx(folder, "train-images-idx3-ubyte", train_images, compress=compress)
    _write_idx(folder, "train-labels-idx1-ubyte", np.arange(6, dtype=np.uint8), compress=compress)
    _write_idx(folder, "t10k-images-idx3-ubyte", rng.integers(0, 256, (4, 28, 28), dtype=np.uint8), compress=compress)
    _write_idx(folder, "t10k-labels-idx1-ubyte", np.array([9, 0, 1, 2], np.uint8), compress=compress)
    data = load_dataset(folder)
    assert data.train_images.shape == (6, 1, 32, 32) and data.test_images.shape == (4, 1, 32, 32)
    np.testing.assert_allclose(data.train_images[:, 0, 2:30, 2:30], train_images / 255.0, atol=1e-7)
    assert not data.train_images[:, :, :2].any()
    np.testing.assert_array_equal(data.test_labels, [9, 0, 1, 2])
    assert data.class_names == FASHION_CLASSES  # 10 classes in a folder named "fashion..."


def test_idx_reader_checks_header_and_size(tmp_path):
    (tmp_path / "x-idx1").write_bytes(_idx_bytes(np.array([1, 2, 3], dtype=">i4")))
    np.testing.assert_array_equal(read_idx(tmp_path / "x-idx1"), [1, 2, 3])
    assert read_idx(tmp_path / "x-idx1").dtype.isnative
    (tmp_path / "bad").write_bytes(b"\x01\x02\x08\x01" + bytes(8))
    with pytest.raises(FileError, match="bad: not an IDX file"):
        read_idx(tmp_path / "bad")
    (tmp_path / "short").write_bytes(_idx_bytes(np.zeros((2, 3), np.uint8))[:-1])
    with pytest.raises(FileError, match=r"short: IDX header says shape \(2, 3\)"):
        read_idx(tmp_path / "short")


def test_idx_folder_missing_file(tmp_path):
    _write_idx(tmp_path, "train-images-idx3-ubyte", np.zeros((2, 28, 28), np.uint8))
    _write_idx(tmp_path, "train-labels-idx1-ubyte", np.zeros(2, np.uint8))
    with pytest.raises(FileError, match="missing t10k-images-idx3-ubyte"):
        load_idx_folder(tmp_path)


def test_idx_reader_reports_a_corrupt_gzip_stream_in_one_line(tmp_path):
    folder = tmp_path / "mnist"
    sparse = np.zeros((20, 28, 28), np.uint8)  # compressible, so the bytes below land in deflate codes
    sparse[:, 10:18, 12:16] = 200
    for split, count in (("train", 20), ("t10k", 10)):
        _write_idx(folder, f"{split}-images-idx3-ubyte", sparse[:count], compress=True)
        _write_idx(folder, f"{split}-labels-idx1-ubyte", np.arange(count, dtype=np.uint8) % 10, compress=True)
    images = folder / "train-images-idx3-ubyte.gz"
    corrupt = bytearray(images.read_bytes())
    corrupt[30:60] = b"\xff" * 30
    images.write_bytes(bytes(corrupt))
    with pytest.raises(zlib.error):  # the case that escaped: neither OSError nor EOFError
        gzip.decompress(bytes(corrupt))
    for read in (lambda: read_idx(images), lambda: load_dataset(folder)):
        with pytest.raises(FileError) as info:
            read()
        message = str(info.value)
        assert message.startswith(f"{images}: cannot read") and "\n" not in message


def test_folder_without_a_split_needs_two_images_per_class(tmp_path, rng):
    for name, count in (("cat", 1), ("dog", 1)):
        for i in range(count):
            _write_png(tmp_path / "one" / name / f"{i}.png", rng.integers(0, 256, (8, 8), dtype=np.uint8))
    with pytest.raises(FileError) as info:
        load_dataset(tmp_path / "one")  # stratified_split would hold out nothing: "0/0" accuracy
    message = str(info.value)
    assert message.startswith(f"{tmp_path / 'one'}: expected at least 2 images per class")
    assert "classes 'cat', 'dog' have 1" in message and "\n" not in message
    # One class short is enough to refuse: it would be trained on and never measured.
    for i in range(1, 3):
        _write_png(tmp_path / "one" / "dog" / f"{i}.png", rng.integers(0, 256, (8, 8), dtype=np.uint8))
    with pytest.raises(FileError, match="class 'cat' has 1"):
        load_folder(tmp_path / "one")
    _write_png(tmp_path / "one" / "cat" / "1.png", rng.integers(0, 256, (8, 8), dtype=np.uint8))
    data = load_folder(tmp_path / "one")
    assert (len(data.train_labels), len(data.test_labels)) == (3, 2)
    # With train/ and test/ the user chose the split: one image per class is enough.
    for split in ("train", "test"):
        for name in ("cat", "dog"):
            _write_png(tmp_path / "split" / split / name / "0.png", rng.integers(0, 256, (8, 8), dtype=np.uint8))
    data = load_folder(tmp_path / "split")
    assert (len(data.train_labels), len(data.test_labels)) == (2, 2)


def test_folder_data_sets_are_named_by_absolute_path(tmp_path, monkeypatch, rng):
    for name in ("a", "b"):
        for i in range(2):
            _write_png(tmp_path / "data" / name / f"{i}.png", rng.integers(0, 256, (8, 8), dtype=np.uint8))
    _write_idx(tmp_path / "idx", "train-images-idx3-ubyte", np.zeros((2, 28, 28), np.uint8))
    _write_idx(tmp_path / "idx", "train-labels-idx1-ubyte", np.array([0, 1], np.uint8))
    _write_idx(tmp_path / "idx", "t10k-images-idx3-ubyte", np.zeros((1, 28, 28), np.uint8))
    _write_idx(tmp_path / "idx", "t10k-labels-idx1-ubyte", np.array([1], np.uint8))
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path)
    folder, idx = load_dataset("data"), load_dataset("idx")
    assert folder.name == str(tmp_path.resolve() / "data") and idx.name == str(tmp_path.resolve() / "idx")
    # The name (recorded in a trained model) loads the same data from another directory.
    monkeypatch.chdir(tmp_path / "elsewhere")
    np.testing.assert_array_equal(load_dataset(folder.name).train_images, folder.train_images)
    np.testing.assert_array_equal(load_dataset(idx.name).test_labels, idx.test_labels)


# --------------------------------------------------------------------------- hostile data sets


def test_idx_header_is_checked_before_the_data_is_inflated(tmp_path, monkeypatch):
    """A gzipped IDX file announcing more values than the limit is refused from its 16-byte header."""
    import tracemalloc

    from convfx.nn import idx

    monkeypatch.setattr(idx, "MAX_IDX_VALUES", 1_000_000)
    header = bytes([0, 0, 8, 3]) + np.array([2000, 28, 28], dtype=">u4").tobytes()  # 1,568,000 values
    (tmp_path / "big-idx3.gz").write_bytes(gzip.compress(header + bytes(2000 * 28 * 28)))
    tracemalloc.start()
    try:
        with pytest.raises(
            FileError, match=r"big-idx3\.gz: IDX header says shape \(2000, 28, 28\), 1,568,000 values, more than 1,000,000"
        ):
            read_idx(tmp_path / "big-idx3.gz")
        assert tracemalloc.get_traced_memory()[1] < 500_000  # nothing was inflated
    finally:
        tracemalloc.stop()


def test_idx_dimensions_whose_product_wraps_in_int64_are_refused(tmp_path):
    (tmp_path / "wrap").write_bytes(bytes([0, 0, 8, 4]) + np.array([65536] * 4, dtype=">u4").tobytes())
    with pytest.raises(
        FileError, match=r"wrap: IDX header says shape \(65536, 65536, 65536, 65536\), 18,446,744,073,709,551,616 values"
    ):
        read_idx(tmp_path / "wrap")


def test_idx_data_beyond_the_header_is_refused(tmp_path):
    (tmp_path / "long").write_bytes(_idx_bytes(np.zeros((2, 3), np.uint8)) + b"\0")
    with pytest.raises(FileError, match=r"long: IDX header says shape \(2, 3\) \(6 bytes\), found more than 6 bytes of data"):
        read_idx(tmp_path / "long")
    import os

    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(FileError, match=r"pipe: not a regular file \(a FIFO\), expected an IDX file"):
        read_idx(tmp_path / "pipe")


def test_idx_images_become_float32_without_a_float64_copy(tmp_path, rng):
    images = rng.integers(0, 256, (4, 28, 28), dtype=np.uint8)
    for split in ("train", "t10k"):
        _write_idx(tmp_path, f"{split}-images-idx3-ubyte", images)
        _write_idx(tmp_path, f"{split}-labels-idx1-ubyte", np.arange(4, dtype=np.uint8))
    data = load_idx_folder(tmp_path)
    # Exactly what dividing in float64 and rounding to float32 gives.
    np.testing.assert_array_equal(data.train_images[:, 0, 2:30, 2:30], (images / 255.0).astype(np.float32))


def test_an_unreadable_class_folder_is_named_in_one_line(tmp_path, rng, monkeypatch):
    for label in ("a", "b", "c"):
        (tmp_path / label).mkdir()
        for i in range(2):
            Image.fromarray(rng.integers(0, 256, (8, 8), dtype=np.uint8)).save(tmp_path / label / f"{i}.png")
    real = type(tmp_path).iterdir

    def iterdir(self):
        if self.name == "c":  # as a folder of mode 000 does for anyone but root
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(type(tmp_path), "iterdir", iterdir)
    with pytest.raises(FileError, match=rf"^{tmp_path / 'c'}: cannot read: Permission denied$"):
        load_folder(tmp_path)
