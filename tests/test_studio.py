"""Tests of ``convfx studio``: its HTTP API, its command, and the page in a real browser.

The API tests drive the Starlette application with its TestClient.  Every result
is checked against convfx computed here, independently of the studio's own path
(``convfx.convolve`` of the typed grid, ``convfx.apply`` of the named filter), and
every download against the file ``convfx apply`` writes when run with the command
the page shows.  Every malformed request must get a 4xx with one line and leave
nothing in the log.

The browser test starts the real command in a subprocess on a free port of
127.0.0.1 and drives Debian's headless Chromium with Selenium (never a downloaded
browser or driver).  With ``CONVFX_STUDIO_SCREENSHOT=path`` it also redraws the
README's screenshot there.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import BAD_IMAGES
from PIL import Image
from typer.testing import CliRunner

with warnings.catch_warnings():  # recent Starlette asks for httpx2, which is not on every index yet
    warnings.filterwarnings("ignore", message=".*httpx2")
    from starlette.testclient import TestClient

import convfx
from convfx import color, compare, effects, imageio, learned, models
from convfx.cli import app as cli_app
from convfx.nn.weights import load_weights
from convfx.studio import photos as studio_photos
from convfx.studio.app import LOOPBACK_HOSTS, STATIC, create_app
from convfx.studio.arithmetic import window_at
from convfx.studio.server import exposure_warning, is_loopback, page_url
from convfx.studio.settings import MAX_JSON_BYTES, format_number
from convfx.studio.workbench import Workbench

runner = CliRunner()
EMBOSS = [[-2, -1, 0], [-1, 1, 1], [0, 1, 2]]


# --------------------------------------------------------------------------- fixtures and helpers


@pytest.fixture
def workbench(photo_png):
    with Workbench(photo_png) as bench:
        yield bench


@pytest.fixture
def client(workbench):
    return TestClient(create_app(workbench, allowed_hosts=[*LOOPBACK_HOSTS, "testserver"]))


def settings(kernel: dict, photo: str = "image", **options) -> dict:
    return {"photo": photo, "kernel": kernel, **options}


def grid(rows, operation="convolve", scale="1") -> dict:
    return {"source": "grid", "rows": rows, "scale": scale, "operation": operation}


def named(name: str, **parameters) -> dict:
    return {"source": "filter", "name": name, "parameters": parameters}


def decode(png: bytes) -> np.ndarray:
    """A PNG's pixels in RGB(A) order, 16 bits kept (Pillow would narrow 16-bit colour)."""
    array = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_UNCHANGED)
    if array.ndim == 3:
        array = cv2.cvtColor(array, cv2.COLOR_BGRA2RGBA if array.shape[2] == 4 else cv2.COLOR_BGR2RGB)
    return array


def expected_pixels(picture: imageio.Picture, effect, output_range: str, *, boundary="reflect", gray=None) -> np.ndarray:
    response = convfx.apply(picture.pixels, effect, boundary=boundary, gray=gray)
    return convfx.map_range(response, output_range, source_max=picture.max_value)


def cli_file(command: str, photo_path: Path, output: Path) -> bytes:
    """Run the command the page shows (with our photo path and output file) and return the file's bytes."""
    words = shlex.split(command)
    assert words[:2] == ["convfx", "apply"], command
    arguments = words[2:]
    arguments[1] = str(photo_path)
    arguments[arguments.index("-o") + 1] = str(output)
    result = runner.invoke(cli_app, ["apply", *arguments])
    assert result.exit_code == 0, result.output
    return output.read_bytes()


def assert_one_line_error(response, status: int, *words: str) -> None:
    assert response.status_code == status, (response.status_code, response.text)
    message = response.json()["error"]
    assert "\n" not in message and "Traceback" not in message and message
    for word in words:
        assert word in message, message


# --------------------------------------------------------------------------- the page and its files


def test_page_and_its_files_are_served_and_load_nothing_from_elsewhere(client):
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<script src="/static/studio.js"' in page.text and 'href="/static/studio.css"' in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    for name in ("studio.js", "studio.css"):
        served = client.get(f"/static/{name}")
        assert served.status_code == 200 and served.content == (STATIC / name).read_bytes()
    for path in STATIC.iterdir():  # works offline: no CDN, no web font, no remote script
        assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}/", path.read_text()), path.name


def test_static_files_are_declared_as_package_data():
    text = (Path(__file__).resolve().parent.parent / "pyproject.toml").read_text()
    assert '"convfx.studio"' in text and "static/*.js" in text and "static/*.css" in text and "static/*.html" in text
    assert {path.suffix for path in STATIC.iterdir()} == {".html", ".js", ".css"}


def test_choices_list_the_image_the_samples_and_the_models(client):
    choices = client.get("/api/choices").json()
    ids = [photo["id"] for photo in choices["photos"]]
    assert ids[0] == "image" and choices["default_photo"] == "image"
    assert {f"sample:{name}" for name in studio_photos.sample_files()} <= set(ids)
    assert [model["key"] for model in choices["models"]] == ["photos", "digits", "shapes"]
    assert choices["boundaries"] == list(convfx.conv.BOUNDARIES)
    assert choices["ranges"] == list(convfx.ranges.OUTPUT_RANGES) and choices["grid_sides"] == [3, 5, 7]


def test_samples_ship_with_scikit_image():
    found = studio_photos.sample_files()
    assert set(found) == set(studio_photos.SAMPLE_NAMES)
    for path in found.values():
        assert "skimage" in path.parts and path.is_file()


def test_filters_list_every_bank_filter_and_detector_with_parameters(client):
    listed = {item["name"]: item for item in client.get("/api/filters").json()}
    assert {f.name for f in convfx.list_filters()} | {"canny", "marr_hildreth"} == set(listed)
    assert [p["name"] for p in listed["gaussian_blur"]["parameters"]] == ["sigma", "size"]
    assert listed["sobel"]["grid"] is None  # two kernels: does not fit the grid
    assert listed["emboss"]["grid"] == {"rows": EMBOSS, "scale": "1", "operation": "correlate"}
    assert listed["box_blur"]["grid"]["scale"] == "1/9"
    kinds = {p["name"]: p["kind"] for p in listed["canny"]["parameters"]}
    assert kinds == {"sigma": "number", "low": "number", "high": "number", "quantile": "bool", "mode": "choice"}


def test_photo_is_served_as_the_pixels_convfx_reads(client, photo_png):
    response = client.get("/api/photo", params={"id": "image"})
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    assert np.array_equal(decode(response.content), imageio.read_image(photo_png).pixels)
    assert_one_line_error(client.get("/api/photo", params={"id": "../../etc/passwd"}), 404, "unknown photo")
    assert_one_line_error(client.get("/api/photo"), 404, "photo")


# --------------------------------------------------------------------------- results


def test_grid_result_is_convfx_convolve_or_correlate_of_the_numbers(client, photo):
    rows = np.array([[1, 2, 0], [-1, 3, 1], [0, -2, 4]], dtype=float)
    for operation, engine in (("convolve", convfx.convolve), ("correlate", convfx.correlate)):
        response = client.post("/api/render", json=settings(grid(rows.tolist(), operation, "1/4")))
        assert response.status_code == 200 and response.headers["content-type"] == "image/png"
        expected = convfx.map_range(engine(photo, rows * 0.25, boundary="reflect"), "clip")
        assert np.array_equal(decode(response.content), expected), operation
        assert "filter;dur=" in response.headers["server-timing"]


@pytest.mark.parametrize(
    "kernel, options, effect, output_range",
    [
        (named("sobel"), {}, "sobel", "abs"),
        (named("gaussian_blur", sigma=2), {}, "gaussian_blur:sigma=2", "clip"),
        (named("box_blur", size=5), {"boundary": "wrap"}, "box_blur:size=5", "clip"),
        (named("emboss"), {"range": "normalize", "gray": True}, "emboss", "normalize"),
        (named("relief"), {"gray": False}, "relief", "signed"),
        (
            named("canny", sigma=2, mode="per_channel", quantile=True),
            {},
            "canny:sigma=2,mode=per_channel,quantile=true",
            "binary",
        ),
        ({"source": "learned", "model": "digits", "index": 3}, {}, "learned:digits#3", "normalize"),
        ({"source": "learned", "model": "shapes", "index": 0}, {"boundary": "constant"}, "learned:shapes#0", "normalize"),
    ],
)
def test_result_is_apply_then_map_range_byte_for_byte(client, workbench, kernel, options, effect, output_range):
    response = client.post("/api/render", json=settings(kernel, **options))
    assert response.status_code == 200, response.text
    picture = workbench.photos.get("image").picture
    expected = expected_pixels(
        picture,
        effect,
        options.get("range") or output_range,
        boundary=options.get("boundary", "reflect"),
        gray=options.get("gray"),
    )
    assert np.array_equal(decode(response.content), expected)


def test_download_is_the_file_convfx_apply_writes(client, tmp_path, photo_png):
    cases = [
        settings(grid(EMBOSS, "convolve")),
        settings(grid([[0.1, -0.2, 0.3], [1e-7, 2.5, 1 / 3], [-3, 0, 7]], "correlate", "1/9"), range="signed"),
        settings(named("gaussian_blur", sigma=1.5, size=7), boundary="edge", gray=True),
        settings(named("farid")),
        settings(named("canny", sigma=1.5)),
        settings({"source": "learned", "model": "shapes", "index": 2}),
    ]
    for number, chosen in enumerate(cases):
        view = client.post("/api/kernel", json=chosen).json()
        result = client.post("/api/render", json=chosen)
        assert view["download"].startswith("photo_") and view["download"].endswith(".png")
        written = cli_file(view["command"], photo_png, tmp_path / f"cli_{number}.png")
        assert result.content == written, view["command"]


def test_sixteen_bit_photo_with_alpha_matches_convfx_apply(tmp_path, rng):
    pixels = rng.integers(0, 65536, size=(20, 24, 3), dtype=np.uint16)
    alpha = rng.integers(0, 65536, size=(20, 24), dtype=np.uint16)
    path = tmp_path / "deep.png"
    imageio.write_image(path, pixels, alpha=alpha)
    with Workbench(path) as bench:
        client = TestClient(create_app(bench, allowed_hosts=None))
        chosen = settings(named("sharpen"))
        png = client.post("/api/render", json=chosen).content
        shown = decode(png)
        assert shown.dtype == np.uint16 and shown.shape == (20, 24, 4)
        assert png == cli_file(client.post("/api/kernel", json=chosen).json()["command"], path, tmp_path / "out.png")


def test_sample_photo_matches_convfx_apply_on_the_installed_file(client, tmp_path):
    chosen = settings(named("laplacian"), photo="sample:chelsea")
    view = client.post("/api/kernel", json=chosen).json()
    sample = studio_photos.sample_files()["chelsea"]
    assert shlex.split(view["command"])[3] == str(sample) and view["download"] == "chelsea_laplacian.png"
    assert client.post("/api/render", json=chosen).content == cli_file(view["command"], sample, tmp_path / "c.png")


def test_gray_sample_photo(client):
    picture = imageio.read_image(studio_photos.sample_files()["camera"])
    assert picture.pixels.ndim == 2
    chosen = settings(named("sobel"), photo="sample:camera")
    assert np.array_equal(decode(client.post("/api/render", json=chosen).content), expected_pixels(picture, "sobel", "abs"))
    answer = client.post("/api/pixel", json={"settings": chosen, "x": 511, "y": 0}).json()
    assert [output["name"] for output in answer["outputs"]] == ["gray"] and answer["agrees"] is True


def test_results_are_repeatable_and_cached(client, workbench):
    chosen = settings(named("sobel"))
    first = client.post("/api/render", json=chosen).content
    assert client.post("/api/render", json=chosen).content == first
    with Workbench(workbench.photos.image.command_path) as fresh:
        again = TestClient(create_app(fresh, allowed_hosts=None)).post("/api/render", json=chosen).content
    assert again == first


def test_kept_results_are_bounded(workbench, monkeypatch):
    from convfx.studio import workbench as module

    for boundary in ("reflect", "edge", "wrap", "constant"):
        workbench.render(workbench.settings(settings(named("sobel"), boundary=boundary)))
    assert len(workbench._results) == module.KEPT_RESULTS
    monkeypatch.setattr(module, "KEPT_RESULT_BYTES", 1)
    workbench.render(workbench.settings(settings(named("laplacian"))))
    assert [key[1] for key in workbench._results] == ["laplacian"]  # the newest stays, whatever its size


# --------------------------------------------------------------------------- the kernel as written and as applied


def test_kernel_view_flips_for_convolution_only(client):
    rows = [[1, 2, 3], [4, 5, 6], [7, 8, 9]]
    convolved = client.post("/api/kernel", json=settings(grid(rows, "convolve", "1/2"))).json()
    correlated = client.post("/api/kernel", json=settings(grid(rows, "correlate", "1/2"))).json()
    for view in (convolved, correlated):
        assert view["kind"] == "grid" and view["kernels"][0]["written"] == rows and view["kernels"][0]["scale"] == "1/2"
    assert np.array_equal(convolved["kernels"][0]["applied"], np.rot90(np.array(rows) / 2, 2))
    assert np.array_equal(correlated["kernels"][0]["applied"], np.array(rows) / 2)
    assert "--range" not in convolved["command"] and "--boundary reflect" in convolved["command"]


def test_kernel_view_of_named_filters(client):
    farid = client.post("/api/kernel", json=settings(named("farid_x"))).json()
    kernel = convfx.get_filter("farid_x").kernels[0]
    assert farid["kernels"][0]["operation"] == "convolve"
    assert np.array_equal(farid["kernels"][0]["applied"], np.rot90(kernel.values * kernel.scale, 2))
    sobel = client.post("/api/kernel", json=settings(named("sobel"), range="clip", gray=True)).json()
    assert [k["name"] for k in sobel["kernels"]] == ["sobel_x", "sobel_y"] and sobel["combine"] == "magnitude"
    assert sobel["range"] == "clip" and sobel["default_range"] == "abs" and sobel["gray"] is True
    assert sobel["command"].endswith("--range clip --gray")
    wide = client.post("/api/kernel", json=settings(named("gaussian_blur", sigma=4))).json()
    assert wide["kernels"][0]["written"] is None and wide["kernels"][0]["shape"] == [25, 25]
    canny = client.post("/api/kernel", json=settings(named("canny", low=0.05))).json()
    assert canny["kind"] == "detector" and canny["parameters"]["low"] == 0.05
    learned = client.post("/api/kernel", json=settings({"source": "learned", "model": "shapes", "index": 1})).json()
    weights = load_weights("shapes")
    assert learned["kind"] == "learned" and learned["bias"] == pytest.approx(float(weights.bias[1]))
    assert np.allclose([k["applied"] for k in learned["kernels"]], weights.weight[1])


def test_numbers_are_written_so_that_they_read_back_exactly(client, photo):
    rows = [[0.1, 1 / 3, -2e-9], [7, 0.30000000000000004, 1.5e30], [0, -0.0, 5]]
    view = client.post("/api/kernel", json=settings(grid(rows, "correlate"))).json()
    parsed = effects.parse_effect(shlex.split(view["command"])[2])
    assert np.array_equal(parsed.steps[0].kernels[0].weights, np.array(rows))
    assert format_number(2.0) == "2" and float(format_number(0.1 + 0.2)) == 0.1 + 0.2


# --------------------------------------------------------------------------- the arithmetic of one pixel


@pytest.mark.parametrize("boundary", convfx.conv.BOUNDARIES)
def test_window_at_is_numpy_pad_cut_at_the_window(rng, boundary):
    image = rng.random((7, 5))
    for shape in ((3, 3), (5, 5), (2, 2), (1, 9), (7, 7)):
        top, bottom, left, right = convfx.conv.padding_amounts(shape)
        padded = np.pad(image, ((top, bottom), (left, right)), mode=boundary)
        for y, x in ((0, 0), (6, 4), (3, 2), (0, 4)):
            window, corner_top, corner_left = window_at(image, y, x, shape, boundary)
            assert np.array_equal(window, padded[y : y + shape[0], x : x + shape[1]]), (shape, y, x)
            assert (corner_top, corner_left) == (y - top, x - left)


@pytest.mark.parametrize("boundary", ["reflect", "constant", "wrap"])
def test_pixel_arithmetic_is_the_window_times_the_kernel_and_equals_apply(client, photo, boundary):
    rows = np.array([[1, -2, 0.5], [0, 3, -1], [2, 0, -4]])
    chosen = settings(grid(rows.tolist(), "convolve"), boundary=boundary)
    response = convfx.apply(photo, np.rot90(rows, 2), boundary=boundary)
    pixels = convfx.map_range(response, "clip")
    padded = np.pad(photo.astype(np.float64), ((1, 1), (1, 1), (0, 0)), mode=boundary)
    for x, y in ((0, 0), (63, 47), (10, 20), (63, 0)):
        answer = client.post("/api/pixel", json={"settings": chosen, "x": x, "y": y}).json()
        assert answer["kind"] == "linear" and answer["agrees"] is True and (answer["top"], answer["left"]) == (y - 1, x - 1)
        assert [output["name"] for output in answer["outputs"]] == ["R", "G", "B"]
        for c, output in enumerate(answer["outputs"]):
            (term,) = output["terms"]
            window = padded[y : y + 3, x : x + 3, c]
            assert np.array_equal(term["window"], window) and np.array_equal(term["weights"], np.rot90(rows, 2))
            assert np.array_equal(term["products"], window * np.rot90(rows, 2))
            assert term["sum"] == pytest.approx(float(np.sum(window * np.rot90(rows, 2))))
            assert output["library"] == float(response[y, x, c])  # the library's own number, as computed
            assert output["value"] == pytest.approx(output["library"], rel=1e-6, abs=1e-4)
            assert output["pixel"] == pixels[y, x, c]


def test_pixel_arithmetic_of_a_combined_filter_and_of_luminance(client, photo):
    chosen = settings(named("sobel"), gray=True)
    response = convfx.apply(photo, "sobel", gray=True)
    answer = client.post("/api/pixel", json={"settings": chosen, "x": 30, "y": 20}).json()
    (output,) = answer["outputs"]
    assert output["name"] == "luminance" and output["combine"] == "magnitude"
    gx, gy = (term["sum"] for term in output["terms"])
    assert output["value"] == pytest.approx(np.hypot(gx, gy)) and output["value"] == pytest.approx(
        float(response[20, 30]), rel=1e-5
    )
    luminance = color.to_luminance(photo)
    assert np.array_equal(output["terms"][0]["window"], luminance[19:22, 29:32].astype(np.float64))


def test_pixel_arithmetic_of_a_learned_kernel_adds_the_bias(client, photo):
    for model, index in (("digits", 4), ("shapes", 5)):
        chosen = settings({"source": "learned", "model": model, "index": index})
        maps = learned.learned_responses(photo, load_weights(model))
        answer = client.post("/api/pixel", json={"settings": chosen, "x": 5, "y": 9}).json()
        (output,) = answer["outputs"]
        assert answer["kind"] == "learned" and answer["agrees"] is True
        assert output["bias"] == pytest.approx(float(load_weights(model).bias[index]))
        assert output["value"] == pytest.approx(sum(t["sum"] for t in output["terms"]) + output["bias"])
        assert output["library"] == float(maps[9, 5, index])
        assert len(output["terms"]) == (1 if model == "digits" else 3)


def test_pixel_of_a_detector_says_it_is_not_a_weighted_sum(client):
    answer = client.post("/api/pixel", json={"settings": settings(named("canny")), "x": 3, "y": 3}).json()
    assert answer["kind"] == "detector" and answer["agrees"] is None and "non-linear" in answer["note"]
    assert answer["outputs"][0]["pixel"] in (0, 255)


def test_wide_kernels_send_sums_not_cells(client):
    answer = client.post("/api/pixel", json={"settings": settings(named("gaussian_blur", sigma=4)), "x": 3, "y": 3}).json()
    assert answer["drawn"] is False and "window" not in answer["outputs"][0]["terms"][0] and answer["agrees"] is True


# --------------------------------------------------------------------------- learned kernels


def test_learned_kernels_are_the_data_of_convfx_compare(client):
    described = client.get("/api/learned", params={"model": "digits"}).json()
    comparison = compare.compare_model("digits")
    assert described["shape"] == list(comparison.weights.weight.shape) and described["score"] == pytest.approx(comparison.score)
    for kernel, match in zip(described["kernels"], comparison.matches):
        assert kernel["match"]["name"] == match.name and kernel["match"]["similarity"] == pytest.approx(match.similarity)
        assert np.allclose(kernel["match"]["classic"], match.classic)
    assert [kernel["class"] for kernel in described["kernels"]] == [found.kind for found in comparison.classes]
    assert described["baseline"]["mean"] == pytest.approx(comparison.baseline.mean)
    assert_one_line_error(client.get("/api/learned", params={"model": "/etc/passwd"}), 404, "unknown model")


def test_a_model_from_the_command_line_is_offered_and_applied(tmp_path, photo_png):
    model = tmp_path / "my model.npz"
    shutil.copyfile(models.SHIPPED_MODELS["digits"], model)
    with Workbench(photo_png, model=model) as bench:
        client = TestClient(create_app(bench, allowed_hosts=None))
        assert [m["label"] for m in client.get("/api/choices").json()["models"]] == ["photos", "digits", "shapes", "my model.npz"]
        chosen = settings({"source": "learned", "model": "model", "index": 2})
        view = client.post("/api/kernel", json=chosen).json()
        assert f"learned:{model}#2" in shlex.split(view["command"])
        assert client.post("/api/render", json=chosen).content == cli_file(view["command"], photo_png, tmp_path / "m.png")
        assert client.get("/api/learned", params={"model": "model"}).json()["label"] == "my model.npz"


def test_a_bad_model_fails_before_the_server_starts(tmp_path, photo_png):
    with pytest.raises(convfx.FileError, match="no such file"):
        Workbench(photo_png, model=tmp_path / "missing.npz")
    awkward = tmp_path / "lenet,v2.npz"
    shutil.copyfile(models.SHIPPED_MODELS["digits"], awkward)
    with pytest.raises(convfx.ParameterError, match="without ',' or '#'"):
        Workbench(photo_png, model=awkward)


# --------------------------------------------------------------------------- uploads


def test_upload_then_filter_and_download_like_convfx_apply(client, tmp_path, photo_jpg, workbench):
    data = photo_jpg.read_bytes()
    response = client.post("/api/photos", content=data, headers={"content-type": "image/jpeg", "x-file-name": "My%20cat.jpg"})
    assert response.status_code == 201
    summary = response.json()
    assert summary["label"] == "My cat.jpg" and (summary["width"], summary["height"], summary["channels"]) == (64, 48, 3)
    chosen = settings(named("sharpen"), photo=summary["id"])
    view = client.post("/api/kernel", json=chosen).json()
    assert shlex.split(view["command"])[3] == "My cat.jpg" and view["download"] == "My cat_sharpen.png"
    assert client.post("/api/render", json=chosen).content == cli_file(view["command"], photo_jpg, tmp_path / "u.png")
    assert summary["id"] in [photo["id"] for photo in client.get("/api/choices").json()["photos"]]
    assert workbench.photos.upload_folder is not None and not any(workbench.photos.upload_folder.iterdir())


@pytest.mark.parametrize("kind", [k for k in BAD_IMAGES if k not in ("nonexistent", "folder")])
def test_unreadable_uploads_get_a_clear_message(client, bad_image, kind, caplog):
    path = bad_image(kind)
    with caplog.at_level(logging.DEBUG):
        response = client.post(
            "/api/photos",
            content=path.read_bytes(),
            headers={"content-type": "application/octet-stream", "x-file-name": path.name},
        )
    assert_one_line_error(response, 422, path.name, BAD_IMAGES[kind])
    assert "upload-" not in response.json()["error"]  # the temporary file's name stays inside
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_upload_limits(photo_png, tmp_path):
    with Workbench(max_upload_bytes=1000, max_pixels=100) as bench:
        client = TestClient(create_app(bench, allowed_hosts=None))
        big = photo_png.read_bytes()
        assert len(big) > 1000
        assert_one_line_error(client.post("/api/photos", content=big, headers={"content-type": "image/png"}), 413, "1,000 bytes")
        small = io.BytesIO()
        Image.fromarray(np.zeros((20, 20), np.uint8)).save(small, format="PNG")
        assert_one_line_error(
            client.post("/api/photos", content=small.getvalue(), headers={"content-type": "image/png", "x-file-name": "a.png"}),
            422,
            "a.png",
            "over the limit of 100",
        )
        assert_one_line_error(
            client.post("/api/photos", content=b"GIF89a", headers={"content-type": "text/plain"}), 415, "Content-Type"
        )


def test_only_the_last_uploads_are_kept_and_the_folder_goes_at_close(photo_png):
    bench = Workbench()
    client = TestClient(create_app(bench, allowed_hosts=None))
    ids = [
        client.post("/api/photos", content=photo_png.read_bytes(), headers={"content-type": "image/png"}).json()["id"]
        for _ in range(studio_photos.KEPT_UPLOADS + 1)
    ]
    assert_one_line_error(client.get("/api/photo", params={"id": ids[0]}), 404, "no longer kept")
    assert client.get("/api/photo", params={"id": ids[-1]}).status_code == 200
    folder = bench.photos.upload_folder
    assert folder is not None and folder.is_dir()
    bench.close()
    assert not folder.exists()


# --------------------------------------------------------------------------- malformed requests


MALFORMED = {
    "not json": (b"{photo: 1", 400, "expected JSON"),
    "not utf-8": (b"\xff\xfe{}", 400, "UTF-8"),
    "NaN constant": (
        b'{"photo": "image", "kernel": {"source": "grid", "rows": [[NaN, 0, 0], [0, 1, 0], [0, 0, 0]]}}',
        400,
        "finite",
    ),
    "Infinity": (
        b'{"photo": "image", "kernel": {"source": "grid", "rows": [[1e999, 0, 0], [0, 1, 0], [0, 0, 0]]}}',
        400,
        "finite",
    ),
    "not an object": (b"[1, 2]", 400, "JSON object"),
    "no kernel": (json.dumps({"photo": "image"}).encode(), 400, "'kernel'"),
    "unknown field": (json.dumps(settings(named("sobel"), colour="red")).encode(), 400, "unknown field"),
    "a field of another source": (json.dumps(settings({**named("sobel"), "rows": [[1]]})).encode(), 400, "'rows'"),
    "kernel not an object": (json.dumps(settings("sobel")).encode(), 400, "settings.kernel: expected a JSON object"),
    "8x8 kernel": (json.dumps(settings(grid(np.ones((8, 8)).tolist()))).encode(), 400, "8x8"),
    "2x2 kernel": (json.dumps(settings(grid([[1, 0], [0, 1]]))).encode(), 400, "2x2"),
    "not square": (json.dumps(settings(grid([[1, 0, 0], [0, 1, 0]]))).encode(), 400, "square"),
    "ragged": (json.dumps(settings(grid([[1, 0, 0], [0, 1], [0, 0, 0]]))).encode(), 400, "square"),
    "text in a cell": (json.dumps(settings(grid([[1, 0, 0], [0, "x", 0], [0, 0, 0]]))).encode(), 400, "rows[1][1]"),
    "bool in a cell": (json.dumps(settings(grid([[1, 0, 0], [0, True, 0], [0, 0, 0]]))).encode(), 400, "number"),
    "huge weight": (
        json.dumps(settings(grid([[1e300, 0, 0], [0, 1, 0], [0, 0, 0]]))).encode(),
        400,
        "rows[0][0]: expected a number whose product",
    ),
    "huge weight by the scale": (
        json.dumps(settings(grid([[1, 0, 0], [0, 1e38, 0], [0, 0, 0]], scale=10))).encode(),
        400,
        "rows[1][1]",
    ),
    "zero scale": (json.dumps(settings(grid(EMBOSS, scale=0))).encode(), 400, "non-zero"),
    "scale 1/0": (json.dumps(settings(grid(EMBOSS, scale="1/0"))).encode(), 400, "denominator"),
    "scale text": (json.dumps(settings(grid(EMBOSS, scale="two"))).encode(), 400, "fraction"),
    "bad operation": (json.dumps(settings(grid(EMBOSS, operation="flip"))).encode(), 400, "operation"),
    "unknown filter": (json.dumps(settings(named("sobell"))).encode(), 400, "did you mean sobel"),
    "a path as filter": (json.dumps(settings(named("filters/edges.toml"))).encode(), 400, "unknown filter"),
    "a chain as filter": (json.dumps(settings(named("sobel,gaussian_blur"))).encode(), 400, "unknown filter"),
    "bad boundary": (json.dumps(settings(named("sobel"), boundary="mirror")).encode(), 400, "boundary"),
    "bad range": (json.dumps(settings(named("sobel"), range="log")).encode(), 400, "range"),
    "bad gray": (json.dumps(settings(named("sobel"), gray="yes")).encode(), 400, "gray"),
    "unknown parameter": (json.dumps(settings(named("gaussian_blur", radius=2))).encode(), 400, "unknown parameter"),
    "parameter for a fixed filter": (json.dumps(settings(named("sobel", sigma=2))).encode(), 400, "takes no parameters"),
    "parameter out of range": (json.dumps(settings(named("gaussian_blur", sigma=-1))).encode(), 400, "sigma"),
    "even size": (json.dumps(settings(named("gaussian_blur", size=4))).encode(), 400, "odd"),
    "text parameter": (json.dumps(settings(named("gaussian_blur", sigma="2"))).encode(), 400, "number"),
    "bad detector choice": (json.dumps(settings(named("canny", mode="fast"))).encode(), 400, "mode"),
    "unknown photo": (json.dumps(settings(named("sobel"), photo="/etc/passwd")).encode(), 404, "unknown photo"),
    "unknown model": (
        json.dumps(settings({"source": "learned", "model": "../digits", "index": 0})).encode(),
        404,
        "unknown model",
    ),
    "kernel index too big": (json.dumps(settings({"source": "learned", "model": "digits", "index": 6})).encode(), 400, "0..5"),
    "negative index": (json.dumps(settings({"source": "learned", "model": "digits", "index": -1})).encode(), 400, "index"),
    "unknown source": (json.dumps(settings({"source": "file", "name": "x"})).encode(), 400, "source"),
    "too large": (b" " * (MAX_JSON_BYTES + 1), 413, "bytes"),
}


@pytest.mark.parametrize("endpoint", ["/api/render", "/api/kernel"])
@pytest.mark.parametrize("case", MALFORMED)
def test_malformed_settings_get_a_4xx_and_one_line(client, endpoint, case, caplog):
    body, status, word = MALFORMED[case]
    with caplog.at_level(logging.DEBUG):
        response = client.post(endpoint, content=body, headers={"content-type": "application/json"})
    assert_one_line_error(response, status, word)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


@pytest.mark.parametrize(
    "body, word",
    [
        ({"settings": settings(named("sobel")), "x": 64, "y": 0}, "x: expected an int in 0..63"),
        ({"settings": settings(named("sobel")), "x": 0, "y": -1}, "y: expected"),
        ({"settings": settings(named("sobel")), "x": 1.5, "y": 0}, "x: expected an int"),
        ({"settings": settings(named("sobel")), "x": True, "y": 0}, "x: expected an int"),
        ({"settings": settings(named("sobel")), "x": 1}, "fields settings, x and y"),
        ({"settings": settings(grid(np.ones((9, 9)).tolist())), "x": 1, "y": 1}, "9x9"),
    ],
)
def test_malformed_pixel_requests(client, body, word):
    assert_one_line_error(client.post("/api/pixel", json=body), 400, word)


def test_wrong_content_type_method_and_host(client):
    assert_one_line_error(
        client.post("/api/render", content=b"{}", headers={"content-type": "text/plain"}), 415, "application/json"
    )
    assert client.get("/api/render").status_code == 405
    foreign = client.get("/api/choices", headers={"host": "attacker.example"})
    assert_one_line_error(foreign, 400, "host")
    assert client.get("/api/choices", headers={"host": "127.0.0.1:8765"}).status_code == 200
    assert client.get("/api/choices", headers={"host": "[::1]:8765"}).status_code == 200
    assert client.get("/static/../../pyproject.toml").status_code == 404


def test_no_route_takes_a_path():
    source = (STATIC.parent / "app.py").read_text()
    routes = re.findall(r'Route\("([^"]+)"', source)
    assert routes and not [route for route in routes if "{" in route]  # no path parameters at all


# --------------------------------------------------------------------------- the command


def run_without_studio_extra(*arguments: str) -> subprocess.CompletedProcess:
    code = "import sys; sys.modules['starlette'] = None; from convfx.cli import main; main(sys.argv[1:])"
    return subprocess.run([sys.executable, "-c", code, *arguments], capture_output=True, text=True, timeout=120)


def test_studio_without_the_extra_says_what_to_install():
    done = run_without_studio_extra("studio", "--no-browser")
    assert done.returncode == 2
    assert done.stderr == "convfx: error: convfx studio needs the [studio] extra: pip install 'convfx[studio]'\n"
    assert run_without_studio_extra("filters").returncode == 0  # the rest of the command line does not need it


@pytest.mark.parametrize("kind", ["nonexistent", "bomb_png", "text_named_png"])
def test_a_bad_image_fails_before_the_server_starts(bad_image, kind):
    result = runner.invoke(cli_app, ["studio", str(bad_image(kind)), "--no-browser", "--port", "0"])
    assert result.exit_code == (2 if kind == "nonexistent" else 1), result.output  # a missing IMAGE is a usage error
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("convfx: error: ") and BAD_IMAGES[kind] in lines[0]


def test_studio_help_names_the_extra():
    result = runner.invoke(cli_app, ["studio", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0 and "[studio]" in result.output and "--no-browser" in result.output


def test_addresses():
    assert is_loopback("127.0.0.1") and is_loopback("127.0.0.2") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.4") and not is_loopback("example.org")
    assert exposure_warning("127.0.0.1", 8765) is None
    warning = exposure_warning("0.0.0.0", 8765)
    assert warning.startswith("convfx: warning: listening on 0.0.0.0 port 8765") and "\n" not in warning
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        assert page_url(listener) == f"http://127.0.0.1:{listener.getsockname()[1]}/"


class Studio:
    """``convfx studio`` in a subprocess on a free port of 127.0.0.1, with its own TMPDIR."""

    def __init__(self, tmp_path: Path, *arguments: str, cwd: Path | None = None) -> None:
        self.temporary = tmp_path / "tmp"
        self.temporary.mkdir()
        environment = dict(os.environ, TMPDIR=str(self.temporary), COLUMNS="200")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "convfx", "studio", "--no-browser", "--port", "0", *arguments],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=environment,
            cwd=cwd,
        )
        lines: list[str] = []
        reader = threading.Thread(target=lambda: lines.append(self.process.stdout.readline()), daemon=True)
        reader.start()
        reader.join(60)
        if not lines or not lines[0]:
            self.process.kill()
            raise AssertionError(f"the studio did not start: {self.process.stderr.read()}")
        self.announcement = lines[0]
        self.url = re.search(r"http://127\.0\.0\.1:\d+/", lines[0]).group(0)

    def stop(self, signal_number: int = signal.SIGINT) -> tuple[int, str, str]:
        self.process.send_signal(signal_number)
        try:
            out, err = self.process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise
        return self.process.returncode, out, err


@pytest.mark.slow
@pytest.mark.parametrize("stop_with", [signal.SIGINT, signal.SIGTERM])
def test_server_starts_serves_and_stops_cleanly(tmp_path, photo_png, stop_with):
    import httpx

    studio = Studio(tmp_path, str(photo_png))
    try:
        assert studio.announcement.startswith("convfx studio: http://127.0.0.1:")
        assert httpx.get(studio.url + "api/choices", timeout=30).json()["default_photo"] == "image"
        uploaded = httpx.post(
            studio.url + "api/photos", content=photo_png.read_bytes(), headers={"content-type": "image/png"}, timeout=30
        )
        assert uploaded.status_code == 201
        assert any(studio.temporary.iterdir())  # the uploads' folder
        bad = httpx.post(
            studio.url + "api/render", content=b"{nonsense", headers={"content-type": "application/json"}, timeout=30
        )
        assert bad.status_code == 400
    finally:
        code, out, err = studio.stop(stop_with)
    assert code == 130, err
    assert err == "convfx: interrupted\n"  # no access log, no traceback, nothing about the bad request
    assert not any(studio.temporary.iterdir())  # removed at exit


@pytest.mark.slow
def test_port_in_use_is_one_line_and_exit_2(photo_png):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "convfx", "studio", str(photo_png), "--no-browser", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 2
    assert (
        done.stderr
        == f"convfx: error: --port: {port} on 127.0.0.1 is in use by another program; choose another with --port (0 picks a free one)\n"
    )


# --------------------------------------------------------------------------- in a real browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")


@pytest.fixture
def browser(tmp_path, monkeypatch):
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        reason = "needs Debian's chromium and chromium-driver (/usr/bin/chromium, /usr/bin/chromedriver): apt-get install chromium chromium-driver"
        if os.environ.get("CI") == "true":  # .ci/run installs them: a skip there would hide a broken install
            pytest.fail(reason)
        pytest.skip(reason)
    monkeypatch.setenv("SE_OFFLINE", "true")  # Selenium Manager must not look for a browser or driver to download
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={tmp_path / 'chromium'}",
        "--window-size=1400,1250",
        "--force-device-scale-factor=1",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def wait_for_result(driver, after: int, timeout: float = 30) -> int:
    """Wait until the page shows a result newer than generation ``after``; its generation."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    def ready(driver):
        image = driver.find_element(By.ID, "result-image")
        state, generation = image.get_attribute("data-state"), int(image.get_attribute("data-generation"))
        if state == "error":
            raise AssertionError(driver.find_element(By.ID, "status").text)
        return generation if state == "ready" and generation > after else False

    return WebDriverWait(driver, timeout).until(ready)


def shown_result(driver) -> np.ndarray:
    """The bytes of the result the page displays, decoded."""
    script = """
        const done = arguments[arguments.length - 1];
        fetch(document.getElementById("result-image").src).then((r) => r.arrayBuffer()).then((buffer) => {
            let text = ""; const bytes = new Uint8Array(buffer);
            for (let i = 0; i < bytes.length; i++) text += String.fromCharCode(bytes[i]);
            done(btoa(text));
        }).catch((error) => done("error: " + error));
    """
    encoded = driver.execute_async_script(script)
    assert not encoded.startswith("error"), encoded
    return decode(base64.b64decode(encoded))


@pytest.mark.slow
@pytest.mark.browser
def test_the_page_in_headless_chromium(tmp_path, browser, rng):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    rows, columns = np.mgrid[0:120, 0:160]
    pixels = np.clip(np.stack([rows * 2, columns * 1.5, (rows + columns)], axis=-1) + rng.normal(0, 20, (120, 160, 3)), 0, 255)
    pixels = pixels.astype(np.uint8)
    path = tmp_path / "gradient.png"
    Image.fromarray(pixels).save(path)
    driver = browser
    studio = Studio(tmp_path, str(path))
    try:
        driver.set_script_timeout(30)
        driver.get(studio.url)
        first = wait_for_result(driver, 0)
        # The page opens on the grid with emboss applied by convolution.
        assert np.array_equal(
            shown_result(driver), convfx.map_range(convfx.convolve(pixels, np.array(EMBOSS, float), boundary="reflect"), "clip")
        )

        # Change a kernel cell: the new result is convfx.apply's.
        cell = driver.find_element(By.CSS_SELECTOR, '#grid input[data-row="0"][data-column="0"]')
        cell.clear()
        cell.send_keys("3")
        second = wait_for_result(driver, first)
        typed = np.array(EMBOSS, float)
        typed[0, 0] = 3
        kernel = np.rot90(typed, 2)  # convolution: the correlation kernel is the grid rotated
        response = convfx.apply(pixels, kernel, boundary="reflect")
        assert np.array_equal(shown_result(driver), convfx.map_range(response, "clip"))
        assert driver.find_element(By.ID, "command").text.startswith(
            "convfx apply '3x3: 3,-1,0 -1,1,1 0,1,2'"
        )  # ImageMagick kernels are convolutions

        # Point at a pixel of the result: the page shows the sum the library computed there.
        image = driver.find_element(By.ID, "result-image")
        ActionChains(driver).move_to_element_with_offset(
            image, -image.size["width"] // 4, image.size["height"] // 5
        ).click().perform()
        body = WebDriverWait(driver, 20).until(
            lambda d: d.find_element(By.ID, "pixel-sum") and d.find_element(By.ID, "arithmetic-body")
        )
        x, y, channel = (int(body.get_attribute(name)) for name in ("data-x", "data-y", "data-channel"))
        assert 0 < x < 80 and 60 < y < 120
        shown_sum = float(driver.find_element(By.ID, "pixel-sum").get_attribute("data-value"))
        shown_library = float(driver.find_element(By.ID, "pixel-library").get_attribute("data-value"))
        assert shown_library == float(response[y, x, channel])
        assert shown_sum == pytest.approx(float(response[y, x, channel]), rel=1e-6, abs=1e-4)
        window = np.pad(pixels.astype(float), ((1, 1), (1, 1), (0, 0)), mode="reflect")[y : y + 3, x : x + 3, channel]
        assert shown_sum == pytest.approx(float(np.sum(window * kernel)))
        assert "the same" in driver.find_element(By.CSS_SELECTOR, "#arithmetic-body .check").text

        # The toggle: cross-correlation applies the numbers as typed.
        driver.find_element(By.CSS_SELECTOR, 'input[name="operation"][value="correlate"]').click()
        third = wait_for_result(driver, second)
        assert np.array_equal(shown_result(driver), convfx.map_range(convfx.apply(pixels, typed, boundary="reflect"), "clip"))

        # A named filter with a parameter.
        driver.find_element(By.ID, "tab-filter").click()
        from selenium.webdriver.support.ui import Select

        Select(driver.find_element(By.ID, "filter")).select_by_value("gaussian_blur")
        fourth = wait_for_result(driver, third)
        sigma = driver.find_element(By.ID, "parameter-sigma")
        sigma.send_keys("2")
        wait_for_result(driver, fourth)
        assert np.array_equal(shown_result(driver), convfx.map_range(convfx.apply(pixels, "gaussian_blur:sigma=2"), "clip"))

        # A learned kernel of the first model offered, the default (photos): click its card.
        fifth = int(driver.find_element(By.ID, "result-image").get_attribute("data-generation"))
        WebDriverWait(driver, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, '.kernel-card[data-index="2"]'))
        driver.find_element(By.CSS_SELECTOR, '.kernel-card[data-index="2"]').click()
        wait_for_result(driver, fifth)
        assert driver.find_element(By.ID, "tab-learned").get_attribute("aria-selected") == "true"
        assert np.array_equal(shown_result(driver), convfx.map_range(convfx.apply(pixels, "learned:photos#2"), "normalize"))

        # An unreadable upload: a clear message in the page, and the photo stays.
        bad = tmp_path / "holiday.jpg"
        bad.write_text("not a photo")
        driver.find_element(By.ID, "upload").send_keys(str(bad))
        message = WebDriverWait(driver, 20).until(
            lambda d: (
                d.find_element(By.ID, "upload-message").text
                if "error" in d.find_element(By.ID, "upload-message").get_attribute("class")
                else False
            )
        )
        assert message == "holiday.jpg: not a recognised image (expected JPEG, PNG, TIFF, BMP or WebP)"
        assert driver.find_element(By.ID, "photo").get_attribute("value") == "image"

        screenshot = tmp_path / "studio.png"
        driver.save_screenshot(str(screenshot))
        assert Image.open(screenshot).size[0] >= 1000
        target = os.environ.get("CONVFX_STUDIO_SCREENSHOT")
    finally:
        code, _, err = studio.stop()
    assert code == 130 and "Traceback" not in err
    if target:
        readme_screenshot(driver, tmp_path / "readme", Path(target).resolve())


def readme_screenshot(driver, tmp_path: Path, target: Path) -> None:
    """Redraw the README's picture: `convfx studio samples/chelsea.jpg`, the emboss grid by convolution, one pixel pinned."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    tmp_path.mkdir()
    studio = Studio(tmp_path, "samples/chelsea.jpg", cwd=Path(__file__).resolve().parent.parent)
    try:
        driver.set_window_size(1400, 1480)
        driver.get(studio.url)
        wait_for_result(driver, 0)
        WebDriverWait(driver, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".kernel-card"))
        image = driver.find_element(By.ID, "result-image")
        ActionChains(driver).move_to_element_with_offset(
            image, -int(image.size["width"] * 0.05), -int(image.size["height"] * 0.1)
        ).click().perform()
        WebDriverWait(driver, 20).until(lambda d: d.find_elements(By.ID, "pixel-sum"))
        time.sleep(0.5)
        shot = Image.open(io.BytesIO(driver.get_screenshot_as_png())).convert("RGB")
        # Full colour, as every README figure: a 256-colour palette turned the strongest red cells brown.
        shot.save(target, optimize=True)
    finally:
        studio.stop()
