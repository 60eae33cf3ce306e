"""Tests of :mod:`convfx.nn.photos`: the region split, exposure variation, the bundled photos, a folder of photos.

The split is checked on an image whose pixels hold their region's number, so a
patch that crosses a region boundary, or a held-out region that leaks into
training, shows in the values.  Building the full bundled set takes about a
second, so those tests are marked slow; the rest use small photos made here.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from convfx.errors import FileError, ParameterError
from convfx.nn import load_dataset
from convfx.nn import photos as nn_photos
from convfx.nn.photos import (
    MIN_FOLDER_PHOTOS,
    PHOTOS,
    load_photo_folder,
    load_photos,
    photo_patches,
    vary_exposure,
)


def region_ids(height: int, width: int, region: int = 128) -> np.ndarray:
    """``(H, W, 1)`` float32: each pixel holds (its region's number + 1) / 100."""
    rows, columns = np.mgrid[0:height, 0:width]
    ids = (rows // region) * (-(-width // region)) + columns // region
    return ((ids + 1) / 100).astype(np.float32)[:, :, None]


def textured(rng: np.random.Generator, height: int, width: int, channels: int = 3) -> np.ndarray:
    """A uint8 picture with some structure: a gradient plus noise."""
    rows, columns = np.mgrid[0:height, 0:width]
    base = (rows * 0.3 + columns * 0.2)[:, :, None] + rng.normal(0, 20, (height, width, channels))
    return np.clip(base % 256, 0, 255).astype(np.uint8).squeeze()


# --------------------------------------------------------------------------- the split


@pytest.mark.parametrize("scales", [(1,), (2, 4), (1, 2, 4)])
def test_every_patch_lies_in_one_region_and_held_out_regions_never_train(scales):
    pixels = region_ids(512, 640)
    train, test = photo_patches(pixels, "ids", scales=scales)
    assert len(train) > 0 and len(test) > 0
    for patches in (train, test):
        assert np.all(patches == patches[:, :, :1, :1])  # constant: one region each
    train_ids, test_ids = set(np.unique(train[:, 0, 0, 0])), set(np.unique(test[:, 0, 0, 0]))
    assert not train_ids & test_ids
    assert len(test_ids) == round(0.2 * 20)  # 4 x 5 complete regions, a fifth held out


def test_only_complete_regions_are_held_out_and_the_split_is_fixed_by_the_name():
    pixels = region_ids(300, 300)  # 2 x 2 complete regions, a partial row and column
    for name in ("a", "b", "c", "d", "e"):
        _, test = photo_patches(pixels, name, scales=(1,))
        ids = set(np.round(np.unique(test[:, 0, 0, 0]) * 100).astype(int) - 1)
        assert len(ids) == 1 and ids <= {0, 1, 3, 4}  # regions 2, 5, 6, 7, 8 are partial
    first = photo_patches(pixels, "same")
    second = photo_patches(pixels, "same")
    for one, two in zip(first, second):
        np.testing.assert_array_equal(one, two)


def test_a_photo_too_small_to_split_is_refused():
    with pytest.raises(FileError, match=r"small: expected a photo of at least 128x256 pixels to split, found 200x200"):
        photo_patches(np.zeros((200, 200, 1), np.float32), "small")


# --------------------------------------------------------------------------- exposure


def test_exposure_sets_a_new_mean_within_the_levels_and_scales_the_contrast(rng):
    flat = 0.5 + rng.normal(0, 0.02, (200, 1, 32, 32)).astype(np.float32)  # never clipped
    varied = vary_exposure(flat, np.random.default_rng(0))
    assert varied.dtype == np.float32 and varied.shape == flat.shape
    means = varied.mean(axis=(1, 2, 3))
    assert means.min() >= 0.25 - 1e-5 and means.max() <= 0.75 + 1e-5 and means.std() > 0.1
    gains = varied.std(axis=(1, 2, 3)) / flat.std(axis=(1, 2, 3))
    assert gains.min() >= 0.5 - 1e-4 and gains.max() <= 1.5 + 1e-4


def test_exposure_of_colour_patches_casts_each_channel_and_stays_in_range(rng):
    patches = rng.random((300, 3, 32, 32)).astype(np.float32)
    varied = vary_exposure(patches, np.random.default_rng(1))
    assert varied.min() >= 0 and varied.max() <= 1
    channel_means = varied.mean(axis=(2, 3))
    spread = channel_means.max(axis=1) - channel_means.min(axis=1)
    assert spread.max() > 0.2  # the channels get different means (a colour cast)
    flat = np.full((100, 3, 32, 32), 0.5, np.float32)
    cast = vary_exposure(flat, np.random.default_rng(2)).mean(axis=(2, 3))
    assert cast.min() >= 0.0 and cast.max() <= 1.0 and np.all(np.ptp(cast, axis=1) <= 0.5 + 1e-6)


# --------------------------------------------------------------------------- the bundled photos


@pytest.fixture(scope="module")
def bundled():
    return load_photos(), load_photos(exposure=False)


@pytest.mark.slow
def test_the_bundled_set_has_every_photo_in_both_splits(bundled):
    data, _ = bundled
    assert data.name == "photos" and data.channels == 1 and data.class_names == tuple(p.name for p in PHOTOS)
    for split in (data.train_labels, data.test_labels):
        assert set(np.unique(split)) == set(range(len(PHOTOS)))
    assert np.bincount(data.train_labels).max() <= nn_photos.MAX_PATCHES
    assert data.train_images.dtype == np.float32 and data.train_images.min() >= 0 and data.train_images.max() <= 1


@pytest.mark.slow
def test_held_out_patches_are_untouched_and_training_patches_are_varied(bundled):
    varied, plain = bundled
    np.testing.assert_array_equal(varied.test_images, plain.test_images)
    np.testing.assert_array_equal(varied.train_labels, plain.train_labels)
    assert not np.allclose(varied.train_images, plain.train_images)
    # The exposure changes each patch's mean and contrast, not its layout.
    a = varied.train_images[:50].reshape(50, -1)
    b = plain.train_images[:50].reshape(50, -1)
    correlations = [np.corrcoef(x, y)[0, 1] for x, y in zip(a, b) if y.std() > 0.02]
    assert np.median(correlations) > 0.95


@pytest.mark.slow
def test_the_bundled_set_is_the_same_every_time_and_by_name(bundled):
    again = load_dataset("photos")
    for name in ("train_images", "train_labels", "test_images", "test_labels"):
        np.testing.assert_array_equal(getattr(again, name), getattr(bundled[0], name))
    colour = load_dataset("photos-rgb")
    assert colour.name == "photos-rgb" and colour.channels == 3
    np.testing.assert_array_equal(colour.test_labels, bundled[0].test_labels)


def test_a_photo_missing_from_scikit_images_folder_is_one_line(tmp_path, monkeypatch, rng):
    Image.fromarray(textured(rng, 256, 256)).save(tmp_path / "astronaut.png")
    monkeypatch.setattr(nn_photos, "skimage_data_folder", lambda: tmp_path)
    small = load_photos(names=["astronaut"], max_patches=20)
    assert small.class_names == ("astronaut",) and small.channels == 1 and len(small.train_labels) == 20
    with pytest.raises(FileError) as error:
        load_photos(names=["astronaut", "brick"])
    message = str(error.value)
    assert message.startswith(f"{tmp_path / 'brick.png'}: expected scikit-image's bundled photo 'brick'") and "\n" not in message


def test_unknown_photo_names_and_bad_options_are_refused():
    with pytest.raises(ParameterError, match="names: invalid photo 'mona_lisa'"):
        load_photos(names=["mona_lisa"])
    with pytest.raises(ParameterError, match="scales: expected ints >= 1 that divide the region side 128"):
        load_photos(scales=(3,))
    with pytest.raises(ParameterError, match="test_fraction"):
        load_photos(test_fraction=1.0)


# --------------------------------------------------------------------------- a folder of photos


def write_photos(folder, rng, count: int, *, gray: bool = False, size=(300, 400)):
    folder.mkdir(exist_ok=True)
    for i in range(count):
        Image.fromarray(textured(rng, *size, channels=1 if gray else 3)).save(folder / f"photo{i}.png")
    return folder


def test_a_folder_of_photos_is_one_class_per_photo(tmp_path, rng):
    folder = write_photos(tmp_path / "mine", rng, 3)
    (folder / "notes.txt").write_text("not a photo")
    (folder / ".hidden.png").write_bytes(b"")
    data = load_photo_folder(folder)
    assert data.name == f"photos:{folder.resolve()}"
    assert data.class_names == ("photo0.png", "photo1.png", "photo2.png")
    assert data.channels == 3 and set(np.unique(data.test_labels)) == {0, 1, 2}
    again = load_dataset(f"photos:{folder}")
    np.testing.assert_array_equal(again.test_images, data.test_images)
    assert np.bincount(load_photo_folder(folder, max_patches=40).train_labels).max() == 40


def test_a_folder_of_gray_photos_makes_gray_patches_and_large_photos_are_reduced(tmp_path, rng):
    folder = write_photos(tmp_path / "gray", rng, 2, gray=True, size=(700, 600))
    reduced = load_photo_folder(folder, max_patches=None)
    assert reduced.channels == 1
    full = load_photo_folder(folder, max_patches=None, working_side=700)
    assert len(full.train_labels) > len(reduced.train_labels)  # 700 px on the shorter side: more regions


@pytest.mark.parametrize("count", range(MIN_FOLDER_PHOTOS))
def test_a_folder_with_too_few_photos_is_one_line(tmp_path, rng, count):
    folder = write_photos(tmp_path / "few", rng, count)
    with pytest.raises(FileError) as error:
        load_photo_folder(folder)
    assert str(error.value).startswith(f"photos:{folder}: expected at least {MIN_FOLDER_PHOTOS} photos")
    assert str(error.value).endswith(f"found {count}")


def test_folder_problems_name_the_folder_or_the_file(tmp_path, rng):
    with pytest.raises(FileError, match="expected a folder of photos, found nothing"):
        load_photo_folder(tmp_path / "missing")
    folder = write_photos(tmp_path / "broken", rng, 2)
    (folder / "zz_broken.jpg").write_bytes(b"not a jpeg at all")
    with pytest.raises(FileError) as error:
        load_photo_folder(folder)
    assert str(error.value).startswith(str(folder / "zz_broken.jpg")) and "\n" not in str(error.value)
    (folder / "zz_broken.jpg").unlink()
    Image.fromarray(textured(rng, 100, 400)).save(folder / "zz_strip.png")
    with pytest.raises(FileError, match=r"zz_strip.png: expected a photo of at least 128x256 pixels, found 400x100"):
        load_photo_folder(folder)


# --------------------------------------------------------------------------- names of data sets


def test_unknown_prefixes_are_usage_errors_and_drive_letters_are_paths(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ParameterError) as error:
        load_dataset("nosuch:x")
    assert str(error.value) == (
        "dataset: invalid value 'nosuch:x'; expected one of "
        "['digits', 'shapes', 'photos', 'photos-rgb', 'photos:DIR', 'cifar10:PATH'] or a folder"
    )
    with pytest.raises(ParameterError, match="expected photos:DIR with a folder, found 'photos:'"):
        load_dataset("photos:")
    with pytest.raises(ParameterError, match="no such data set 'C:/data'"):
        load_dataset("C:/data")  # a one-letter prefix is a Windows drive, so a path
    (tmp_path / "odd:name").mkdir()  # an existing path wins over an unknown prefix
    with pytest.raises(FileError, match="expected class sub-folders"):
        load_dataset("odd:name")
