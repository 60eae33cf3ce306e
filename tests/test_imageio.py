"""Tests of convfx.imageio: formats, modes, 16 bits, EXIF, bomb guard, atomic writes."""

from __future__ import annotations

import io
import os
import struct
import subprocess
import sys
import tracemalloc
import zlib
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


def transparent_where(pixels: np.ndarray, colour) -> np.ndarray:
    matches = pixels == np.asarray(colour)
    matches = matches.all(axis=2) if pixels.ndim == 3 else matches
    return np.where(matches, 0, np.iinfo(pixels.dtype).max).astype(pixels.dtype)


@pytest.mark.parametrize(
    "dtype, shape, colour", [(np.uint8, (12, 20), 7), (np.uint8, (12, 20, 3), (7, 8, 9)), (np.uint16, (12, 20), 7000)]
)
def test_png_transparent_colour_becomes_alpha(tmp_path, rng, dtype, shape, colour):
    # Gray or RGB PNGs mark one colour transparent with a tRNS chunk, like palette
    # PNGs mark palette entries: all give an alpha channel.
    pixels = rng.integers(0, np.iinfo(dtype).max + 1, shape, dtype=dtype)
    pixels[::3, ::4] = colour
    Image.fromarray(pixels).save(tmp_path / "t.png", transparency=colour)
    picture = read_image(tmp_path / "t.png")
    np.testing.assert_array_equal(picture.pixels, pixels)
    assert picture.alpha is not None and picture.alpha.dtype == dtype
    np.testing.assert_array_equal(picture.alpha, transparent_where(pixels, colour))


def png_with_transparent_colour(samples: np.ndarray, depth: int, colour) -> bytes:
    """A gray (2-D ``samples``) or RGB PNG of ``depth`` bits per sample whose tRNS chunk names ``colour``."""
    height, width = samples.shape[:2]
    colour_type = 0 if samples.ndim == 2 else 2
    if depth < 8:  # pack the row's samples into bytes, most significant bits first
        bits = np.unpackbits(samples.astype(np.uint8)[..., None], axis=-1)[..., 8 - depth :]
        rows = np.packbits(bits.reshape(height, -1), axis=1)
    else:
        rows = samples.astype(">u2" if depth == 16 else np.uint8).reshape(height, -1).view(np.uint8)
    data = b"".join(b"\0" + row.tobytes() for row in rows)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, depth, colour_type, 0, 0, 0))
        + png_chunk(b"tRNS", struct.pack(f">{len(np.atleast_1d(colour))}H", *np.atleast_1d(colour)))
        + png_chunk(b"IDAT", zlib.compress(data))
        + png_chunk(b"IEND", b"")
    )


@pytest.mark.parametrize("depth", [1, 2, 4, 16])
def test_png_transparent_colour_at_other_bit_depths(tmp_path, depth):
    # Pillow widens 1-, 2- and 4-bit gray to 0..255: the transparent level must follow.
    levels = np.arange(2 * 16).reshape(2, 16) % 2**depth
    (tmp_path / "t.png").write_bytes(png_with_transparent_colour(levels, depth, 1))
    picture = read_image(tmp_path / "t.png")
    assert picture.alpha is not None
    np.testing.assert_array_equal(picture.alpha == 0, levels == 1)


def test_sixteen_bit_rgb_transparent_colour(tmp_path, rng):
    rgb = rng.integers(0, 65536, (6, 10, 3), dtype=np.uint16)
    rgb[1, 2] = (300, 400, 500)
    (tmp_path / "t.png").write_bytes(png_with_transparent_colour(rgb, 16, (300, 400, 500)))
    picture = read_image(tmp_path / "t.png")
    np.testing.assert_array_equal(picture.pixels, rgb)
    np.testing.assert_array_equal(picture.alpha, transparent_where(rgb, (300, 400, 500)))


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


def exif_orientation(orientation: int) -> Image.Exif:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif


def as_exif_transpose_turns(stored: np.ndarray, orientation: int) -> np.ndarray:
    """``stored`` turned the way ImageOps.exif_transpose turns an image tagged ``orientation``.

    Channel by channel, so that 16-bit colour (which Pillow cannot hold) works too.
    """
    channels = stored[..., None] if stored.ndim == 2 else stored
    upright = []
    for index in range(channels.shape[2]):
        image = Image.fromarray(np.ascontiguousarray(channels[..., index]))
        image.getexif()[0x0112] = orientation
        upright.append(np.asarray(ImageOps.exif_transpose(image)))
    return upright[0] if stored.ndim == 2 else np.dstack(upright)


def png_chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))


def with_png_exif(png: bytes, exif: Image.Exif) -> bytes:
    """A PNG file with an eXIf chunk added before its image data (as cameras and phones write it)."""
    payload = exif.tobytes().removeprefix(b"Exif\0\0")
    at = png.index(b"IDAT") - 4
    return png[:at] + png_chunk(b"eXIf", payload) + png[at:]


def write_tagged(path: Path, stored: np.ndarray, alpha: np.ndarray | None, orientation: int) -> np.ndarray:
    """Write ``stored`` (+ ``alpha``) to ``path`` tagged with an EXIF orientation; return the stored pixels
    as a decoder that ignores the tag sees them."""
    exif = exif_orientation(orientation)
    suffix = path.suffix
    if stored.dtype == np.uint16:  # Pillow has no 16-bit colour: OpenCV's PNG, tifffile's TIFF
        if suffix == ".png":
            bgr = stored[..., ::-1] if alpha is None else np.dstack([stored[..., ::-1], alpha])
            path.write_bytes(with_png_exif(cv2.imencode(".png", np.ascontiguousarray(bgr))[1].tobytes(), exif))
        else:
            tifffile = pytest.importorskip("tifffile")
            data = stored if alpha is None else np.dstack([stored, alpha])
            tifffile.imwrite(path, data, photometric="rgb", extratags=[(0x0112, "H", 1, orientation, True)])
        return stored
    image = Image.fromarray(stored if alpha is None else np.dstack([stored, alpha]))
    if suffix == ".jpg":
        # Same pixels without the tag, to know what the lossy file stores.
        image.save(path.with_suffix(".plain.jpg"), quality=90)
        image.save(path, quality=90, exif=exif)
        with Image.open(path.with_suffix(".plain.jpg")) as plain:
            return np.asarray(plain)
    if suffix == ".webp":
        image.save(path, lossless=True, exact=True, exif=exif)
        return stored if stored.ndim == 3 else np.dstack([stored] * 3)  # WebP has no gray
    image.save(path, exif=exif)  # PNG; uncompressed TIFF, which Pillow memory-maps
    return stored


ORIENTATION_CASES = [
    (".jpg", "gray8"),
    (".jpg", "rgb8"),
    (".png", "gray8"),
    (".png", "rgb8"),
    (".png", "rgb16"),
    (".png", "rgba16"),
    (".tif", "gray8"),
    (".tif", "rgb8"),
    (".tif", "rgba8"),
    (".tif", "rgb16"),
    (".tif", "rgba16"),
    (".webp", "gray8"),
    (".webp", "rgb8"),
]


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("suffix, kind", ORIENTATION_CASES)
def test_exif_orientation_is_applied_exactly_once(tmp_path, rng, suffix, kind, orientation):
    # Pillow's TIFF loader and OpenCV's TIFF decoder turn the pixels themselves,
    # the other decoders leave them as stored: every path must end up turned once.
    dtype = np.uint16 if kind.endswith("16") else np.uint8
    full = np.iinfo(dtype).max + 1
    shape = (12, 20) if kind.startswith("gray") else (12, 20, 3)  # not square: 5-8 swap the sides
    stored = rng.integers(0, full, shape, dtype=dtype)
    alpha = rng.integers(1, full, shape[:2], dtype=dtype) if kind.startswith("rgba") else None
    path = tmp_path / f"tagged{suffix}"
    stored = write_tagged(path, stored, alpha, orientation)
    picture = read_image(path)
    expected = as_exif_transpose_turns(stored, orientation)
    assert picture.pixels.dtype == dtype and picture.pixels.shape == expected.shape
    np.testing.assert_array_equal(picture.pixels, expected)
    if alpha is not None:
        np.testing.assert_array_equal(picture.alpha, as_exif_transpose_turns(alpha, orientation))


@pytest.mark.parametrize("mode", ["L", "LA", "RGBA", "P"])
@pytest.mark.parametrize("compression", [None, "tiff_deflate"])
def test_tiff_orientation_in_every_mode(tmp_path, rng, mode, compression):
    # Orientation 6 swaps the sides; uncompressed L, RGBA and P TIFFs are the ones
    # Pillow memory-maps (and scrambles when given a path: Pillow 11-13).
    image = Image.fromarray(rng.integers(0, 256, (12, 20, 4), dtype=np.uint8)).convert(mode)
    options = {"compression": compression} if compression else {}
    image.save(tmp_path / "o.tif", exif=exif_orientation(6), **options)
    picture = read_image(tmp_path / "o.tif")
    expected = np.asarray(image.convert("L" if mode in ("L", "LA") else "RGB"))
    np.testing.assert_array_equal(picture.pixels, np.rot90(expected, -1))  # clockwise
    if "A" in mode:
        np.testing.assert_array_equal(picture.alpha, np.rot90(np.asarray(image.getchannel("A")), -1))
    else:
        assert picture.alpha is None


def icc_profile(colour_space: bytes) -> bytes:
    """A profile whose header names ``colour_space`` (b"RGB ", b"GRAY", b"CMYK"); convfx reads only the header."""
    from PIL import ImageCms

    profile = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    profile[16:20] = colour_space
    return bytes(profile)


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".tif"])
@pytest.mark.parametrize(
    "colour_space, gray, kept",
    [(b"RGB ", False, True), (b"RGB ", True, False), (b"GRAY", True, True), (b"GRAY", False, False), (b"CMYK", False, False)],
)
def test_icc_profile_is_written_only_where_it_describes_the_pixels(tmp_path, photo, suffix, colour_space, gray, kept):
    # An sRGB profile in a gray PNG (an edge map of a photo) is an error for
    # libpng: "iCCP: RGB color space not permitted on grayscale PNG".
    profile = icc_profile(colour_space)
    pixels = photo[..., 0] if gray else photo
    path = write_image(tmp_path / f"out{suffix}", pixels, icc_profile=profile)
    with Image.open(path) as image:
        assert image.info.get("icc_profile") == (profile if kept else None)


def test_cmyk_profile_is_not_copied_to_rgb_output(tmp_path, photo):
    profile = icc_profile(b"CMYK")
    Image.fromarray(photo).convert("CMYK").save(tmp_path / "cmyk.jpg", icc_profile=profile)
    picture = read_image(tmp_path / "cmyk.jpg")
    assert picture.pixels.shape == photo.shape and picture.icc_profile == profile  # the file's, as read
    for name in ("out.jpg", "out.png"):
        write_image(tmp_path / name, picture.pixels, icc_profile=picture.icc_profile)
        with Image.open(tmp_path / name) as image:
            assert image.info.get("icc_profile") is None


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
    assert saved == Image.MAX_IMAGE_PIXELS  # restored


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
        return Path("/proc/self")
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


def test_write_image_leaves_the_pixels_alone_unless_they_are_given_up(tmp_path, photo):
    kept = photo.copy()
    first = imageio.write_image(tmp_path / "kept.png", kept)
    np.testing.assert_array_equal(kept, photo)  # the default: the caller's array is not touched
    given_up = photo.copy()
    second = imageio.write_image(tmp_path / "given_up.png", given_up, reuse_pixels=True)
    assert second.read_bytes() == first.read_bytes()
    np.testing.assert_array_equal(imageio.read_image(second).pixels, photo)
    read_only = photo.copy()
    read_only.flags.writeable = False  # cannot be reused: copied instead
    third = imageio.write_image(tmp_path / "read_only.png", read_only, reuse_pixels=True)
    assert third.read_bytes() == first.read_bytes()


def test_picture_max_value():
    assert Picture(np.zeros((2, 2), np.uint8)).max_value == 255
    assert Picture(np.zeros((2, 2), np.uint16)).max_value == 65535


def test_jpeg_fast_path_decodes_the_same_pixels_as_pillow(tmp_path):
    """Complete gray/RGB JPEGs are decoded by OpenCV; the pixels must be Pillow's."""
    from convfx.imageio.read import _decode_jpeg_with_opencv

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


def jpeg_claiming(path: Path, pixels: np.ndarray, width: int, height: int) -> Path:
    """A small JPEG whose frame header (SOF0) claims ``width`` x ``height``: a decompression bomb."""
    Image.fromarray(pixels).save(path, quality=90)
    data = bytearray(path.read_bytes())
    sof = data.index(b"\xff\xc0")  # marker, length (2), precision (1), height (2), width (2)
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    path.write_bytes(bytes(data))
    return path


def test_jpeg_over_opencvs_pixel_limit_is_left_to_pillow(tmp_path, photo):
    # 3.6 gigapixels: OpenCV refuses anything over 2**30 pixels with a cv2.error,
    # even when --max-pixels allows it.  (Decoding it would take 14 GB: not here.)
    path = jpeg_claiming(tmp_path / "bomb.jpg", photo, 60_000, 60_000)
    with imageio.read._open_header(path) as image:
        assert image.size == (60_000, 60_000)
        assert imageio.read._decode_jpeg_with_opencv(image, path) is None


def run_python(tmp_path, *args, **environment):
    """Run a fresh Python (OpenCV reads its limits once per process) with extra environment variables."""
    env = {**os.environ, **environment}
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120)


@pytest.mark.slow
def test_opencvs_pixel_limit_never_ends_in_a_traceback(tmp_path, photo):
    # OPENCV_IO_MAX_IMAGE_PIXELS lowers OpenCV's limit to below these small files.
    jpeg = tmp_path / "photo.jpg"
    Image.fromarray(photo).save(jpeg, quality=90)
    read = "import sys, numpy; from convfx.imageio import read_image; numpy.save(sys.argv[2], read_image(sys.argv[1]).pixels)"
    done = run_python(tmp_path, "-c", read, str(jpeg), "pixels.npy", OPENCV_IO_MAX_IMAGE_PIXELS="100")
    assert done.returncode == 0, done.stderr
    np.testing.assert_array_equal(np.load(tmp_path / "pixels.npy"), read_image(jpeg).pixels)  # Pillow's = OpenCV's

    # 16-bit colour has no fallback (Pillow would narrow it): one line, the file and the reason.
    colour16 = write_image(tmp_path / "c16.png", np.full((8, 8, 3), 40000, np.uint16))
    done = run_python(tmp_path, "-m", "convfx", "apply", "sobel", str(colour16), "-o", "out.png", OPENCV_IO_MAX_IMAGE_PIXELS="32")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1 and str(colour16) in done.stderr
    assert "OPENCV_IO_MAX_IMAGE_PIXELS" in done.stderr
    assert not (tmp_path / "out.png").exists()


@pytest.mark.parametrize("suffix, side", [(".jpg", "65,500"), (".webp", "16,383")])
def test_image_too_large_for_the_format_is_a_file_error(tmp_path, suffix, side):
    path = tmp_path / f"panorama{suffix}"
    with pytest.raises(FileError) as info:
        write_image(path, np.zeros((2, 70_000), np.uint8))
    message = str(info.value)
    assert message.startswith(f"{path}: ") and side in message and "\n" not in message
    assert os.listdir(tmp_path) == []


def test_encoder_failure_is_a_file_error_naming_the_file(tmp_path, photo, monkeypatch):
    def broken(*args, **kwargs):
        raise cv2.error("OpenCV(5.0.0) loadsave.cpp:1: error: (-2:Unspecified error)\nmore lines")

    monkeypatch.setattr(imageio.write.cv2, "imencode", broken)
    with pytest.raises(FileError) as info:
        write_image(tmp_path / "out.png", photo)
    assert str(info.value).startswith(f"{tmp_path / 'out.png'}: cannot encode") and "\n" not in str(info.value)
    assert os.listdir(tmp_path) == []


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


def test_names_up_to_the_filesystem_limit_are_written_and_cleaned_up(tmp_path):
    """The temporary name adds a prefix and a suffix: near 255 bytes it must be shortened."""
    name = "x" * 250 + ".png"  # 254 bytes, a legal name
    pixels = np.zeros((4, 5), np.uint8)
    written = imageio.write_image(tmp_path / name, pixels)
    assert written.name == name and np.array_equal(imageio.read_image(written).pixels, pixels)
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]
    # A temporary file left by a killed writer is found and removed by the same rule.
    leftover = tmp_path / f".{imageio.files._temporary_stem(name)}.abc123.part"
    leftover.write_bytes(b"half")
    assert len(leftover.name.encode()) <= 255
    assert imageio.remove_partial_writes([tmp_path / name]) == [leftover] and not leftover.exists()


def test_read_arrays_refuses_a_compressed_bomb_before_inflating_it(tmp_path):
    """A few kB of .npz can hold gigabytes of zeros: the member's header is checked first."""
    np.savez_compressed(tmp_path / "bomb.npz", k=np.zeros((4000, 4000), np.uint8), small=np.ones(3))
    assert (tmp_path / "bomb.npz").stat().st_size < 100_000
    tracemalloc.start()
    try:
        with pytest.raises(FileError, match=r"array 'k' has shape \(4000, 4000\), more than 1,000,000 values"):
            imageio.read_arrays(tmp_path / "bomb.npz", max_values=1_000_000)
        assert tracemalloc.get_traced_memory()[1] < 2_000_000  # the 16 MB array was never built
    finally:
        tracemalloc.stop()
    arrays = imageio.read_arrays(tmp_path / "bomb.npz", max_values=16_000_000)
    assert arrays["k"].shape == (4000, 4000)


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_gray_with_alpha_stays_gray_with_alpha(tmp_path, suffix):
    rng = np.random.default_rng(4)
    gray, alpha = rng.integers(0, 256, (2, 7, 9), dtype=np.uint8)
    written = write_image(tmp_path / f"la{suffix}", gray, alpha=alpha)
    with Image.open(written) as image:
        assert image.mode == "LA"
    picture = read_image(written)
    np.testing.assert_array_equal(picture.pixels, gray)
    np.testing.assert_array_equal(picture.alpha, alpha)


@pytest.mark.parametrize("colour_space, kept", [(b"GRAY", False), (b"RGB ", True)])
def test_webp_gray_is_an_rgb_file_and_takes_rgb_profiles(tmp_path, photo, colour_space, kept):
    profile = icc_profile(colour_space)
    path = write_image(tmp_path / "gray.webp", photo[..., 0], icc_profile=profile)
    with Image.open(path) as image:
        assert image.mode == "RGB" and image.info.get("icc_profile") == (profile if kept else None)


def test_read_arrays_checks_npy_headers_and_every_header_version(tmp_path):
    # A .npy whose header claims 8 TiB: numpy would try to allocate it.
    header = b"{'descr': '<f8', 'fortran_order': False, 'shape': (1048576, 1048576), }"
    header += b" " * (118 - len(header)) + b"\n"
    (tmp_path / "claim.npy").write_bytes(b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header + bytes(64))
    with pytest.raises(FileError, match=r"claim.npy: array 'claim' has shape \(1048576, 1048576\)"):
        imageio.read_arrays(tmp_path / "claim.npy")
    # Format 3.0 headers are checked as well as 1.0 and 2.0.
    import zipfile

    for version in [(1, 0), (2, 0), (3, 0)]:
        with zipfile.ZipFile(tmp_path / "v.npz", "w", compression=zipfile.ZIP_DEFLATED) as archive:
            with archive.open("w.npy", "w") as member:
                np.lib.format.write_array(member, np.zeros((300, 300), np.float32), version=version)
        with pytest.raises(FileError, match=r"'w' has shape \(300, 300\), more than 65,025 values"):
            imageio.read_arrays(tmp_path / "v.npz", max_values=255 * 255)
        assert imageio.read_arrays(tmp_path / "v.npz")["w"].shape == (300, 300)


# --------------------------------------------------------------------------- hostile files: types, sizes, damage


def test_check_regular_file_refuses_fifos_devices_folders_and_oversize(tmp_path):
    os.mkfifo(tmp_path / "pipe.png")
    with pytest.raises(FileError, match=r"pipe\.png: not a regular file \(a FIFO\), expected an image file$"):
        imageio.check_regular_file(tmp_path / "pipe.png", what="an image file")
    with pytest.raises(FileError, match=r"null: not a regular file \(a character device\), expected a thing"):
        imageio.check_regular_file("/dev/null", what="a thing")
    (tmp_path / "zero.png").symlink_to("/dev/zero")  # a link is judged by what it points to
    with pytest.raises(FileError, match="a character device"):
        imageio.read_image(tmp_path / "zero.png")
    with pytest.raises(FileError, match="is a folder, expected a thing"):
        imageio.check_regular_file(tmp_path, what="a thing")
    with pytest.raises(ParameterError, match="missing: no such file"):
        imageio.check_regular_file(tmp_path / "missing", what="a thing", error=ParameterError)
    (tmp_path / "ten").write_bytes(bytes(10))
    assert imageio.check_regular_file(tmp_path / "ten", what="a thing", max_bytes=10) == 10
    with pytest.raises(FileError, match="ten: 10 bytes is over the limit of 9 bytes for a thing"):
        imageio.check_regular_file(tmp_path / "ten", what="a thing", max_bytes=9)


def test_read_arrays_refuses_a_fifo_without_opening_it(tmp_path):
    os.mkfifo(tmp_path / "m.npz")  # opening it would wait for a writer forever
    with pytest.raises(FileError, match=r"m\.npz: not a regular file \(a FIFO\)"):
        imageio.read_arrays(tmp_path / "m.npz")


def _npz_member(path: Path, name: str, header: bytes, data: bytes = b"") -> Path:
    import zipfile

    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, header + data)
    return path


@pytest.mark.parametrize("version", [2, 3])
def test_read_arrays_refuses_a_long_npy_header_before_reading_it(tmp_path, version):
    """Formats 2.0 and 3.0 give the header a 4-byte length: 4 GiB of dict literal, read before numpy checks it."""
    text = b"{'descr': '<f8', 'fortran_order': False, 'shape': (3, 3), }" + b" " * 20_000 + b"\n"
    header = b"\x93NUMPY" + bytes([version, 0]) + struct.pack("<I", len(text)) + text
    path = _npz_member(tmp_path / "long.npz", "k.npy", header, np.ones((3, 3)).tobytes())
    with pytest.raises(
        FileError, match=rf"long\.npz: array 'k': a \.npy header of {len(text):,} bytes is over the limit of 10,000"
    ):
        imageio.read_arrays(path)
    # The same .npy on its own, not in an archive.
    (tmp_path / "long.npy").write_bytes(header + np.ones((3, 3)).tobytes())
    with pytest.raises(FileError, match=rf"long\.npy: a \.npy header of {len(text):,} bytes"):
        imageio.read_arrays(tmp_path / "long.npy")


def test_read_arrays_counts_bytes_not_only_values(tmp_path):
    """Wide items (2 kB records) pass a count of values; the file's total bytes are bounded too."""
    np.savez_compressed(tmp_path / "v.npz", k=np.zeros((100, 100), dtype="V2000"), other=np.zeros(3))
    tracemalloc.start()
    try:
        with pytest.raises(
            FileError, match=r"array 'k' of shape \(100, 100\) and dtype \|V2000 takes the file's arrays past 1,000,000 bytes"
        ):
            imageio.read_arrays(tmp_path / "v.npz", max_bytes=1_000_000)
        assert tracemalloc.get_traced_memory()[1] < 2_000_000  # the 20 MB were never decompressed
    finally:
        tracemalloc.stop()
    assert imageio.read_arrays(tmp_path / "v.npz", max_bytes=20_000_024)["k"].shape == (100, 100)
    # Several arrays add up.
    np.savez(tmp_path / "two.npz", a=np.zeros(100), b=np.zeros(100))  # 800 bytes each
    with pytest.raises(FileError, match=r"array 'b' .* past 1,000 bytes"):
        imageio.read_arrays(tmp_path / "two.npz", max_bytes=1_000)
    with pytest.raises(FileError, match="holds 2 arrays, more than 1"):
        imageio.read_arrays(tmp_path / "two.npz", max_arrays=1)


def test_read_arrays_refuses_object_arrays_from_their_header(tmp_path):
    header = npy_header_bytes("|O", (2,))
    path = _npz_member(tmp_path / "o.npz", "o.npy", header, b"\x80\x04junk")
    with pytest.raises(FileError, match="holds pickled Python objects, which convfx never loads"):
        imageio.read_arrays(path)
    path = _npz_member(tmp_path / "raw.npz", "raw", b"not an array at all")
    with pytest.raises(FileError, match=r"member 'raw' is not a numpy array"):
        imageio.read_arrays(path)


def npy_header_bytes(descr: str, shape: tuple[int, ...]) -> bytes:
    """A format 1.0 ``.npy`` header (magic included)."""
    text = repr({"descr": descr, "fortran_order": False, "shape": shape})
    text += " " * (63 - (10 + len(text)) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text.encode()


def test_jpeg_cut_short_and_given_an_end_marker_is_refused(tmp_path, capfd):
    """libjpeg only warns and fills the rest with grey; Pillow is silent: the warning is caught."""
    rows, cols = np.mgrid[0:192, 0:256]
    pixels = np.clip(np.stack([rows, cols, rows + cols], axis=-1) + np.random.default_rng(1).normal(0, 12, (192, 256, 3)), 0, 255)
    Image.fromarray(pixels.astype(np.uint8)).save(tmp_path / "full.jpg", quality=90)
    data = (tmp_path / "full.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 2] + b"\xff\xd9")
    with pytest.raises(FileError, match=r"cut\.jpg: truncated or corrupt image data \(libjpeg: Corrupt JPEG data: premature end"):
        read_image(tmp_path / "cut.jpg")
    assert read_image(tmp_path / "full.jpg").pixels.shape == (192, 256, 3)
    assert capfd.readouterr().err == ""  # the warning was caught, not printed


def test_libjpeg_warnings_keeps_what_others_print_on_stderr(capfd):
    def decode():
        os.write(2, b"Corrupt JPEG data: 3 extraneous bytes before marker 0xd9\n")  # harmless: dropped
        os.write(2, b"another thread's line\n")
        return 7

    assert imageio.read._libjpeg_warnings(decode) == (7, "")
    assert capfd.readouterr().err == "another thread's line\n"
    corrupt = imageio.read._libjpeg_warnings(lambda: os.write(2, b"Premature end of JPEG file\n"))
    assert corrupt[1] == "Premature end of JPEG file"


def test_a_jpeg_followed_by_a_sparse_gigabyte_is_not_read_whole(tmp_path):
    path = tmp_path / "tiny.jpg"
    Image.fromarray(np.full((8, 8, 3), 100, np.uint8)).save(path)
    with open(path, "r+b") as stream:
        stream.truncate(2**30)  # a hole: no disk used
    tracemalloc.start()
    try:
        pixels = read_image(path).pixels
        assert tracemalloc.get_traced_memory()[1] < 50_000_000
    finally:
        tracemalloc.stop()
    assert pixels.shape == (8, 8, 3) and abs(int(pixels.mean()) - 100) <= 2


def test_a_sixteen_bit_png_padded_with_a_sparse_gigabyte_is_refused(tmp_path):
    path = tmp_path / "deep.png"
    write_image(path, np.full((8, 8, 3), 40_000, np.uint16))
    with open(path, "r+b") as stream:
        stream.truncate(2**30)
    with pytest.raises(FileError, match=r"deep\.png: the file is far larger than its 8x8 pixels need"):
        read_image(path)


@pytest.mark.parametrize("suffix", [".png", ".webp"])
def test_an_exif_block_too_short_to_parse_means_no_orientation(tmp_path, photo, suffix):
    """Pillow's EXIF parser raises struct.error on the 4 bytes "MM\\0*": the pixels read as stored."""
    path = tmp_path / f"exif{suffix}"
    if suffix == ".png":
        Image.fromarray(photo).save(path)
        data = path.read_bytes()
        chunk = struct.pack(">I", 4) + b"eXIf" + b"MM\0*" + struct.pack(">I", zlib.crc32(b"eXIfMM\0*"))
        path.write_bytes(data[:33] + chunk + data[33:])
    else:
        Image.fromarray(photo).save(path, lossless=True, exif=b"MM\0*")
    with Image.open(path) as image, pytest.raises(struct.error):
        image.getexif()  # the parser fails, as on the hostile files
    np.testing.assert_array_equal(read_image(path).pixels, photo)
