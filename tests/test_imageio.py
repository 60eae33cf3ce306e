"""Tests of convfx.imageio: formats, modes, 16 bits, EXIF, bomb guard, atomic writes."""

from __future__ import annotations

import io
import os
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import BAD_IMAGES, png_header_only
from PIL import Image, ImageOps

from convfx import imageio
from convfx.errors import FileError, ParameterError
from convfx.imageio import OutputExistsError, Picture, read_image, write_image

# --------------------------------------------------------------------------- reading


@pytest.mark.parametrize("suffix, options", [(".png", {}), (".bmp", {}), (".tif", {}), (".webp", {"lossless": True})])
def test_lossless_formats_read_back_exactly(tmp_path, photo, suffix, options):
    path = tmp_path / f"photo{suffix}"
    Image.fromarray(photo).save(path, **options)
    picture = read_image(path)
    assert picture.pixels.dtype == np.uint8 and picture.alpha is None
    np.testing.assert_array_equal(picture.pixels, photo)


def test_jpeg_reads_as_rgb_close_to_the_original(photo_jpg, photo):
    picture = read_image(photo_jpg)
    assert picture.pixels.shape == photo.shape
    # The fixture's noise costs JPEG some accuracy; a channel mix-up would cost ~60.
    assert np.abs(picture.pixels.astype(int) - photo).mean() < 10


def test_gray_stays_two_dimensional(tmp_path, photo):
    gray = photo[..., 0]
    Image.fromarray(gray).save(tmp_path / "g.png")
    picture = read_image(tmp_path / "g.png")
    assert picture.pixels.shape == gray.shape
    np.testing.assert_array_equal(picture.pixels, gray)


def test_rgba_keeps_alpha_apart(tmp_path, photo, rng):
    alpha = rng.integers(0, 256, photo.shape[:2], dtype=np.uint8)
    Image.fromarray(np.dstack([photo, alpha])).save(tmp_path / "a.png")
    picture = read_image(tmp_path / "a.png")
    np.testing.assert_array_equal(picture.pixels, photo)
    np.testing.assert_array_equal(picture.alpha, alpha)


def test_gray_with_alpha(tmp_path, photo):
    Image.fromarray(np.dstack([photo[..., 0], photo[..., 1]])).save(tmp_path / "la.png")
    picture = read_image(tmp_path / "la.png")
    np.testing.assert_array_equal(picture.pixels, photo[..., 0])
    np.testing.assert_array_equal(picture.alpha, photo[..., 1])


def test_palette_becomes_rgb(tmp_path, photo):
    palette_image = Image.fromarray(photo).quantize(colors=16)
    palette_image.save(tmp_path / "p.png")
    picture = read_image(tmp_path / "p.png")
    np.testing.assert_array_equal(picture.pixels, np.asarray(palette_image.convert("RGB")))
    assert picture.alpha is None


def test_palette_with_transparency_gets_alpha(tmp_path, photo):
    palette_image = Image.fromarray(photo).quantize(colors=16)
    palette_image.info["transparency"] = 0
    palette_image.save(tmp_path / "pt.png", transparency=0)
    picture = read_image(tmp_path / "pt.png")
    assert picture.alpha is not None
    assert set(np.unique(picture.alpha)) <= {0, 255} and (picture.alpha == 0).any()


def test_one_bit_and_cmyk(tmp_path, photo):
    Image.fromarray(photo[..., 0] > 128).save(tmp_path / "b.png")
    assert set(np.unique(read_image(tmp_path / "b.png").pixels)) == {0, 255}
    Image.fromarray(photo).convert("CMYK").save(tmp_path / "c.jpg")
    assert read_image(tmp_path / "c.jpg").pixels.shape == photo.shape


def test_sixteen_bit_gray_png_round_trip(tmp_path, rng):
    gray = rng.integers(0, 65536, (20, 30), dtype=np.uint16)
    Image.fromarray(gray).save(tmp_path / "g16.png")
    picture = read_image(tmp_path / "g16.png")
    assert picture.pixels.dtype == np.uint16 and picture.max_value == 65535
    np.testing.assert_array_equal(picture.pixels, gray)
    write_image(tmp_path / "out.png", picture.pixels)
    np.testing.assert_array_equal(read_image(tmp_path / "out.png").pixels, gray)


@pytest.mark.parametrize("suffix", [".png", ".tif"])
@pytest.mark.parametrize("with_alpha", [False, True])
def test_sixteen_bit_colour_round_trip_keeps_rgb_order(tmp_path, rng, suffix, with_alpha):
    rgb = rng.integers(0, 65536, (20, 30, 3), dtype=np.uint16)
    rgb[..., 0] = 65000  # a red image: a BGR mix-up would make it blue
    alpha = rng.integers(0, 65536, (20, 30), dtype=np.uint16) if with_alpha else None
    path = write_image(tmp_path / f"c16{suffix}", rgb, alpha=alpha)
    # Independent check of the file: OpenCV reads BGR(A).
    raw = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert raw.dtype == np.uint16 and (raw[..., 2] == 65000).all()
    picture = read_image(path)
    np.testing.assert_array_equal(picture.pixels, rgb)
    if with_alpha:
        np.testing.assert_array_equal(picture.alpha, alpha)


def test_sixteen_bit_to_jpeg_is_scaled_to_eight_bits(tmp_path):
    gray = np.full((8, 8), 65535, dtype=np.uint16)
    write_image(tmp_path / "x.jpg", gray)
    assert read_image(tmp_path / "x.jpg").pixels.min() >= 254


def test_alpha_dropped_for_jpeg_kept_for_webp(tmp_path, photo):
    alpha = np.full(photo.shape[:2], 100, dtype=np.uint8)
    write_image(tmp_path / "a.jpg", photo, alpha=alpha)
    assert read_image(tmp_path / "a.jpg").alpha is None
    write_image(tmp_path / "a.webp", photo, alpha=alpha)
    assert read_image(tmp_path / "a.webp").alpha is not None


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_matches_pillow(tmp_path, photo, orientation):
    image = Image.fromarray(photo[:, :40])  # not square, so rotations change the shape
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / "o.png"
    image.save(path, exif=exif)
    expected = np.asarray(ImageOps.exif_transpose(Image.open(path)))
    np.testing.assert_array_equal(read_image(path).pixels, expected)


def test_exif_orientation_in_a_jpeg(tmp_path, photo):
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 clockwise to view": how phones store portrait shots
    path = tmp_path / "portrait.jpg"
    Image.fromarray(photo).save(path, exif=exif, quality=95)
    picture = read_image(path)
    assert picture.pixels.shape == (photo.shape[1], photo.shape[0], 3)
    error = {k: np.abs(picture.pixels.astype(int) - np.rot90(photo, k)).mean() for k in (-1, 1)}
    assert error[-1] < 10 and error[-1] < error[1] / 3  # clockwise, not counter-clockwise


def test_icc_profile_is_carried_over(tmp_path, photo):
    from PIL import ImageCms

    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    Image.fromarray(photo).save(tmp_path / "icc.png", icc_profile=profile)
    picture = read_image(tmp_path / "icc.png")
    assert picture.icc_profile == profile
    write_image(tmp_path / "out.png", picture.pixels, icc_profile=picture.icc_profile)
    assert Image.open(tmp_path / "out.png").info.get("icc_profile") == profile


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("kind", sorted(BAD_IMAGES))
def test_bad_files_raise_one_line_file_errors(bad_image, kind):
    path = bad_image(kind)
    with pytest.raises(FileError) as info:
        read_image(path)
    message = str(info.value)
    assert "\n" not in message
    assert path.name in message and BAD_IMAGES[kind] in message
    assert info.value.exit_code == 1


def test_bomb_guard_uses_the_header_not_the_pixels(tmp_path, photo):
    # A real, small image is refused below its size, and accepted at its size.
    path = tmp_path / "p.png"
    Image.fromarray(photo).save(path)
    pixels = photo.shape[0] * photo.shape[1]
    with pytest.raises(FileError, match="over the limit"):
        read_image(path, max_pixels=pixels - 1)
    assert read_image(path, max_pixels=pixels).pixels.shape == photo.shape


def test_raised_limit_goes_past_pillows_own_guard(tmp_path):
    # 200 megapixels is over twice Pillow's MAX_IMAGE_PIXELS: with the limit raised,
    # the header is accepted and the (absent) pixel data is what fails.
    path = tmp_path / "big.png"
    path.write_bytes(png_header_only(20_000, 10_000))
    saved = Image.MAX_IMAGE_PIXELS
    with pytest.raises(FileError, match="truncated or corrupt"):
        read_image(path, max_pixels=300_000_000)
    assert Image.MAX_IMAGE_PIXELS == saved  # restored


@pytest.mark.parametrize("value", [0, -5, 1.5, "100", True])
def test_max_pixels_must_be_a_positive_int(photo_png, value):
    with pytest.raises(ParameterError, match="max_pixels"):
        read_image(photo_png, max_pixels=value)


def test_unsupported_formats_are_refused(tmp_path, photo):
    Image.fromarray(photo).save(tmp_path / "anim.gif")
    with pytest.raises(FileError, match="not a recognised image"):
        read_image(tmp_path / "anim.gif")
    Image.fromarray(np.zeros((4, 4), np.float32)).save(tmp_path / "f.tif")
    with pytest.raises(FileError, match="floating-point"):
        read_image(tmp_path / "f.tif")


# --------------------------------------------------------------------------- writing


def leftovers(folder) -> list[str]:
    return sorted(name for name in os.listdir(folder) if name.endswith(".part"))


def test_write_is_atomic_and_leaves_no_temporary_file(tmp_path, photo):
    path = write_image(tmp_path / "out.png", photo)
    assert path.exists() and leftovers(tmp_path) == []
    assert (path.stat().st_mode & 0o777) == (0o666 & ~_umask())


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_existing_output_is_refused_and_unchanged(tmp_path, photo):
    path = tmp_path / "out.png"
    path.write_bytes(b"precious")
    with pytest.raises(OutputExistsError, match="already exists"):
        write_image(path, photo)
    assert path.read_bytes() == b"precious"
    write_image(path, photo, overwrite=True)
    np.testing.assert_array_equal(read_image(path).pixels, photo)
    assert leftovers(tmp_path) == []


def test_failure_during_rename_leaves_nothing(tmp_path, photo, monkeypatch):
    def broken(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "link", broken)
    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(FileError, match="No space left"):
        write_image(tmp_path / "out.png", photo)
    assert os.listdir(tmp_path) == []


def test_encoding_error_writes_nothing(tmp_path):
    with pytest.raises(ParameterError):
        write_image(tmp_path / "out.png", np.zeros((4, 4, 2), np.uint8))
    assert os.listdir(tmp_path) == []


def test_missing_or_unwritable_folder(tmp_path, photo):
    with pytest.raises(FileError, match="does not exist"):
        write_image(tmp_path / "no" / "out.png", photo)
    target = unwritable_folder(tmp_path)
    with pytest.raises(FileError, match="cannot write"):
        write_image(target / "out.png", photo)


def unwritable_folder(tmp_path):
    """A folder this process cannot create files in (root ignores permissions: use /proc)."""
    if os.geteuid() == 0:
        if not os.path.isdir("/proc/self"):
            pytest.skip("running as root without /proc: no unwritable folder to test with")
        return imageio.Path("/proc/self")
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    return folder


def test_unsupported_output_suffix_is_a_usage_error(tmp_path, photo):
    with pytest.raises(ParameterError, match="unsupported file type"):
        write_image(tmp_path / "out.xyz", photo)


def test_convert_depth_round_trip():
    eight = np.arange(256, dtype=np.uint8)
    sixteen = imageio.convert_depth(eight, np.uint16)
    assert sixteen[-1] == 65535 and sixteen[1] == 257
    np.testing.assert_array_equal(imageio.convert_depth(sixteen, np.uint8), eight)


def test_encode_image_gives_readable_bytes(photo):
    data = imageio.encode_image(photo, "PNG")
    np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(data))), photo)


def test_picture_max_value():
    assert Picture(np.zeros((2, 2), np.uint8)).max_value == 255
    assert Picture(np.zeros((2, 2), np.uint16)).max_value == 65535


def test_jpeg_fast_path_decodes_the_same_pixels_as_pillow(tmp_path):
    """Complete gray/RGB JPEGs are decoded by OpenCV; the pixels must be Pillow's."""
    from convfx.imageio import _decode_jpeg_with_opencv

    rng = np.random.default_rng(3)
    rgb = rng.integers(0, 256, (37, 53, 3), dtype=np.uint8)
    gray = rng.integers(0, 256, (41, 29), dtype=np.uint8)
    cases = [Path(p) for p in sorted((Path(__file__).resolve().parent.parent / "samples").glob("*.jpg"))]
    for name, array, options in [("rgb.jpg", rgb, {}), ("gray.jpg", gray, {}), ("prog.jpg", rgb, {"progressive": True})]:
        Image.fromarray(array).save(tmp_path / name, quality=80, **options)
        cases.append(tmp_path / name)
    for path in cases:
        with Image.open(path) as image:
            expected = np.asarray(image)
            fast = _decode_jpeg_with_opencv(image, path)
        assert fast is not None, path
        np.testing.assert_array_equal(fast, expected, err_msg=str(path))
        np.testing.assert_array_equal(imageio.read_image(path).pixels, expected)
    # A truncated JPEG does not end with the end-of-image marker: Pillow handles it.
    data = (tmp_path / "rgb.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 2])
    with Image.open(tmp_path / "cut.jpg") as image:
        assert _decode_jpeg_with_opencv(image, tmp_path / "cut.jpg") is None


def test_read_arrays_reads_npy_and_npz_and_never_unpickles(tmp_path):
    kernel = np.arange(6.0).reshape(2, 3)
    np.save(tmp_path / "one.npy", kernel)
    np.savez(tmp_path / "two.npz", b=kernel, a=kernel.T)
    arrays = imageio.read_arrays(tmp_path / "one.npy")
    assert list(arrays) == ["one"] and np.array_equal(arrays["one"], kernel)
    arrays = imageio.read_arrays(tmp_path / "two.npz")
    assert list(arrays) == ["b", "a"] and np.array_equal(arrays["a"], kernel.T)

    class Marker(ParameterError):
        pass

    np.save(tmp_path / "objects.npy", np.array([{"x": 1}], dtype=object))
    np.savez(tmp_path / "objects.npz", k=np.array([None], dtype=object))
    (tmp_path / "junk.npz").write_bytes(b"not numpy at all")
    zipped = (tmp_path / "two.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(zipped[: len(zipped) // 2])
    (tmp_path / "folder.npz").mkdir()
    for name, words in [
        ("objects.npy", "pickled Python objects"),
        ("objects.npz", "pickled Python objects"),
        ("junk.npz", "not a readable kernel file"),
        ("cut.npz", "not a readable kernel file"),
        ("folder.npz", "is a folder, expected a kernel file"),
        ("missing.npz", "no such file"),
    ]:
        with pytest.raises(Marker, match=words) as error:
            imageio.read_arrays(tmp_path / name, what="kernel file", error=Marker)
        assert str(error.value).startswith(f"{tmp_path / name}: ") and "\n" not in str(error.value)
