"""Command-line arguments at the edges: names the system refuses, empty names, misplaced outputs.

Each test drives one command through typer's runner and holds the promise every
command makes: one ``convfx: error: ...`` line on stderr naming the file or the
option as typed, exit code 2 for a usage error and 1 for a file that failed, and
never a traceback.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import SAMPLES
from typer.testing import CliRunner

from convfx.cli import app

runner = CliRunner()

#: A file name longer than any file system allows (255 bytes): stat and open fail with ENAMETOOLONG.
LONG = "b" * 300


def run(*args: str):
    return runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "200"})


def assert_one_line_error(result, code: int, *words: str) -> None:
    assert result.exit_code == code, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("convfx: error: ")
    for word in words:
        assert word in lines[0], lines[0]
    assert "Traceback" not in result.output


@pytest.fixture
def photo(tmp_path) -> Path:
    return Path(shutil.copy(SAMPLES / "camera.png", tmp_path / "camera.png"))


# --------------------------------------------------------------------------- names too long


def test_apply_an_image_with_a_name_too_long_is_one_line(tmp_path):
    result = run("apply", "sobel", tmp_path / f"{LONG}.jpg", "-o", tmp_path / "z.png")
    assert_one_line_error(result, 1, LONG, "File name too long")


def test_apply_a_kernel_file_with_a_name_too_long_is_one_line(tmp_path, photo):
    result = run("apply", tmp_path / f"{LONG}.toml", photo)
    assert_one_line_error(result, 2, f"{LONG}.toml")


def test_show_a_kernel_file_with_a_name_too_long_is_one_line(tmp_path):
    assert_one_line_error(run("show", tmp_path / f"{LONG}.toml"), 2, f"{LONG}.toml")


def test_summary_of_a_model_with_a_name_too_long_is_one_line(tmp_path):
    assert_one_line_error(run("summary", tmp_path / f"{LONG}.npz"), 1, f"{LONG}.npz", "File name too long")


def test_train_on_a_dataset_with_a_name_too_long_is_one_line(tmp_path):
    result = run("train", "--dataset", tmp_path / LONG, "-o", tmp_path / "m.npz")
    assert_one_line_error(result, 1, LONG, "File name too long")
    assert not (tmp_path / "m.npz").exists()


# --------------------------------------------------------------------------- numbers


@pytest.mark.parametrize("value", ["1e999", "inf", "-inf", "nan"])
def test_studio_refuses_an_upload_limit_that_is_not_finite(value):
    result = run("studio", "--no-browser", "--max-upload-mb", value)
    assert_one_line_error(result, 2, "--max-upload-mb: expected a finite number", f"found {value}")


def test_a_float_option_given_inf_says_finite(photo):
    assert_one_line_error(run("explain", "canny", photo, "--low", "nan"), 2, "--low: expected a finite number")


# --------------------------------------------------------------------------- standard output


def _convfx(args: list[str], stdout) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "convfx", *args], stdout=stdout, stderr=subprocess.PIPE, text=True, timeout=60, check=False
    )


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize("args", [["--version"], ["filters"]])
def test_a_full_standard_output_is_one_line_and_exit_code_1(args):
    with open("/dev/full", "w") as full:
        done = _convfx(args, full)
    assert done.returncode == 1, done.stderr
    assert done.stderr == "convfx: error: cannot write to standard output: No space left on device\n"


def test_a_pipe_closed_by_its_reader_ends_quietly():
    read, write = os.pipe()
    os.close(read)  # every write now fails with EPIPE
    try:
        done = _convfx(["filters"], write)
    finally:
        os.close(write)
    assert done.returncode == 1
    assert done.stderr == ""


# --------------------------------------------------------------------------- figure outputs


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["tour", "digits", "-o", "t.txt"], ["--output: t.txt: unsupported file type '.txt'"]),
        (["compare", "digits", "-o", "c.txt"], ["--output: c.txt: unsupported file type '.txt'"]),
        (["compare", "digits", "--evolution", "-o", "e.txt"], ["--output: e.txt", "expected one of .png, .svg, .pdf, .gif"]),
        (["tour", "digits", "-o", "{folder}"], ["--output: ", "is a folder; expected the name of a figure file"]),
    ],
)
def test_a_figure_output_is_named_as_the_option(tmp_path, args, words):
    args = [arg.replace("{folder}", str(tmp_path)) for arg in args]
    result = run(*args)
    assert_one_line_error(result, 2, *words)
    assert "plot" not in result.stderr


@pytest.mark.parametrize(
    "args",
    [["show", "sobel"], ["summary", "digits"], ["evaluate", "digits"]],
)
def test_a_plot_given_a_folder_says_it_is_a_folder(tmp_path, args):
    result = run(*args, "--plot", str(tmp_path))
    assert_one_line_error(result, 2, f"--plot: {tmp_path} is a folder; expected the name of a figure file (.png")


# --------------------------------------------------------------------------- the pixel limit


def test_apply_over_the_pixel_limit_names_the_option_only(photo):
    result = run("apply", "sobel", photo, "--max-pixels", "10")
    assert_one_line_error(result, 1, "raise it with --max-pixels)")
    assert "max_pixels" not in result.stderr


def test_batch_over_the_pixel_limit_names_the_option_only(tmp_path, photo):
    result = run("batch", "sobel", tmp_path, "-o", tmp_path.parent / f"{tmp_path.name}_out", "--max-pixels", "10")
    assert result.exit_code == 1, result.output
    assert "raise it with --max-pixels)" in result.stderr
    assert "max_pixels" not in result.stderr


# --------------------------------------------------------------------------- empty names


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["apply", "sobel", ""], ["INPUT: expected a file name, found ''"]),
        (["apply", "sobel", "{photo}", "-o", ""], ["--output: expected a file name, found ''"]),
        (["summary", ""], ["MODEL: expected", "found ''"]),
        (["evaluate", ""], ["MODEL: expected", "found ''"]),
        (["export-bank", ""], ["MODEL: expected", "found ''"]),
        (["train", "--dataset", "", "-o", "m.npz"], ["--dataset: expected", "found ''"]),
    ],
)
def test_an_empty_name_is_a_usage_error_not_the_current_folder(photo, args, words):
    result = run(*[arg.replace("{photo}", str(photo)) for arg in args])
    assert_one_line_error(result, 2, *words)
    assert not Path("m.npz").exists()


# --------------------------------------------------------------------------- outputs of the wrong kind


def test_apply_to_an_existing_folder_says_it_is_a_folder(tmp_path, photo):
    folder = tmp_path / "dir"
    folder.mkdir()
    assert_one_line_error(
        run("apply", "sobel", photo, "-o", folder), 2, f"--output: {folder} is a folder; expected an image file name"
    )


def test_batch_into_an_existing_file_says_it_is_a_file(tmp_path, photo):
    inputs = tmp_path / "in"
    inputs.mkdir()
    shutil.copy(photo, inputs / "camera.png")
    before = photo.read_bytes()
    assert_one_line_error(run("batch", "sobel", inputs, "-o", photo), 2, f"--output: {photo} is a file; expected a folder")
    assert photo.read_bytes() == before


@pytest.mark.parametrize("name", ["x.txt", "model"])
def test_train_refuses_a_model_name_that_is_not_npz(tmp_path, name):
    result = run("train", "--epochs", "1", "-o", tmp_path / name)
    assert_one_line_error(result, 2, f"--output: {tmp_path / name}: unsupported file type", "'.npz'")
    assert not (tmp_path / name).exists()


def test_train_writes_nothing_to_a_stderr_that_is_not_a_terminal(tmp_path):
    result = run("train", "--epochs", "1", "-o", tmp_path / "m.npz")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert (tmp_path / "m.npz").is_file()


# --------------------------------------------------------------------------- --key


def test_compare_with_an_unknown_key_names_the_option_and_the_model_as_typed():
    result = run("compare", "digits", "--key", "nope")
    assert_one_line_error(result, 2, "--key: no array 'nope' in digits;", "conv1.weight")


def test_studio_does_not_suggest_a_key_option_it_lacks(tmp_path):
    pytest.importorskip("starlette")
    pytest.importorskip("uvicorn")
    np.savez(tmp_path / "kz.npz", a=np.ones((2, 1, 3, 3), np.float32), b=np.ones((2, 1, 3, 3), np.float32))
    result = run("studio", "--no-browser", "--model", tmp_path / "kz.npz")
    assert_one_line_error(result, 1, "kz.npz: which weight?", "conv1.weight")
    assert "pass --key" not in result.stderr


# --------------------------------------------------------------------------- effect parameters


@pytest.mark.parametrize(
    ("effect", "line"),
    [
        ("gaussian_blur:sigma=-1", "effect 'gaussian_blur': parameter sigma: expected a finite number > 0, found -1"),
        ("gaussian_blur:sigma=x", "effect 'gaussian_blur': parameter sigma: expected a number, found 'x'"),
        ("canny:low=5", "effect 'canny': parameter low: expected at most high (0.2), found 5"),
    ],
)
def test_a_bad_effect_parameter_names_the_effect(photo, effect, line):
    assert_one_line_error(run("apply", effect, photo), 2, f"convfx: error: {line}")


def test_explain_canny_names_the_high_option(photo):
    assert_one_line_error(run("explain", "canny", photo, "--low", "2"), 2, "--low: expected at most --high (0.2), found 2")


# --------------------------------------------------------------------------- nothing given


@pytest.mark.parametrize("args", [[], ["explain"]])
def test_nothing_given_prints_the_help_and_exits_0(args):
    result = run(*args)
    assert result.exit_code == 0, result.output
    assert "Usage: convfx" in result.stdout
    assert result.stderr == ""


# --------------------------------------------------------------------------- names that are not UTF-8

#: Linux file names are bytes: b"\xe9" alone is Latin-1 'é', not valid UTF-8.
NOT_UTF8 = b"bad\xe9"
needs_bytes_names = pytest.mark.skipif(
    sys.platform != "linux" or sys.getfilesystemencoding() != "utf-8", reason="needs byte file names (Linux, UTF-8 locale)"
)


@needs_bytes_names
def test_a_name_that_is_not_utf8_is_shown_with_its_bytes_escaped(tmp_path, photo):
    source = tmp_path / os.fsdecode(NOT_UTF8 + b".png")
    shutil.copy(photo, source)
    written = run("apply", "sobel", source)
    assert written.exit_code == 0, written.output
    assert written.stdout == f"wrote {tmp_path}/bad\\xe9_sobel.png\n"
    assert os.path.exists(os.path.join(os.fsencode(tmp_path), NOT_UTF8 + b"_sobel.png"))
    again = run("apply", "sobel", source)  # the output exists now
    assert_one_line_error(again, 1, "bad\\xe9_sobel.png: already exists; pass --force")
    missing = run("apply", "sobel", tmp_path / os.fsdecode(b"nope\xe9.png"))
    assert_one_line_error(missing, 2, "nope\\xe9.png: no such file")
    for result in (written, again, missing):
        assert "\\udc" not in result.output and "\ufffd" not in result.output
        assert all(not 0xD800 <= ord(character) <= 0xDFFF for character in result.output)


@needs_bytes_names
def test_a_batch_failure_and_a_usage_error_show_a_name_that_is_not_utf8_escaped(tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / os.fsdecode(NOT_UTF8 + b".png")).write_bytes(b"not an image")
    failed = run("batch", "sobel", inputs, "-o", tmp_path / "out", "--workers", "1", "--quiet")
    assert failed.exit_code == 1, failed.output
    assert (
        failed.stderr
        == f"convfx: failed: {inputs}/bad\\xe9.png: not a recognised image (expected JPEG, PNG, TIFF, BMP or WebP)\n"
    )
    extra = run("apply", "sobel", "a.png", os.fsdecode(NOT_UTF8))  # refused by the parser
    assert_one_line_error(extra, 2, "(bad\\xe9)")
    number = run("apply", "sobel", "a.png", "--max-pixels", os.fsdecode(NOT_UTF8))
    assert_one_line_error(number, 2, "--max-pixels: expected an int >= 1, found 'bad\\xe9'")


@pytest.mark.slow
@needs_bytes_names
def test_a_name_that_is_not_utf8_reaches_a_real_terminal_escaped(tmp_path):
    """In a process of its own, where Python's stdout would refuse the surrogate a bytes name decodes to."""
    done = subprocess.run(
        [sys.executable, "-m", "convfx", "apply", "sobel", os.fsdecode(b"nope\xe9.png")],
        capture_output=True,
        cwd=tmp_path,
        timeout=60,
        check=False,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
    )
    assert done.returncode == 2
    assert done.stderr == b"convfx: error: nope\\xe9.png: no such file\n"


# --------------------------------------------------------------------------- which exit code: usage (2) or a file that failed (1)

#: A path named on the command line that is missing or not a file of the kind read is a mistake
#: in the command (2); a file that is there and cannot be read or decoded failed (1).
INPUT_CASES = {
    "missing": (2, "no such file"),
    "fifo": (2, "not a regular file (a FIFO)"),
    "unreadable": (1, "Permission denied"),
    "corrupt": (1, "not a recognised image"),
}


def _bad_input(tmp_path: Path, kind: str) -> Path:
    path = tmp_path / f"{kind}.png"
    if kind == "fifo":
        if not hasattr(os, "mkfifo"):
            pytest.skip("no FIFOs here")
        os.mkfifo(path)
    elif kind == "unreadable":
        if os.geteuid() == 0:
            pytest.skip("root reads files whatever their mode")
        shutil.copy(SAMPLES / "camera.png", path)
        path.chmod(0)
    elif kind == "corrupt":
        path.write_bytes(b"not an image at all")
    return path


@pytest.mark.parametrize("kind", sorted(INPUT_CASES))
def test_apply_exit_code_says_usage_or_failed_file(tmp_path, kind):
    code, words = INPUT_CASES[kind]
    source = _bad_input(tmp_path, kind)
    result = run("apply", "sobel", source, "-o", tmp_path / "out.png")
    assert_one_line_error(result, code, f"{source}: {words}")
    assert not (tmp_path / "out.png").exists()


@pytest.mark.parametrize("kind", sorted(INPUT_CASES))
def test_batch_exit_code_says_usage_or_failed_file(tmp_path, kind):
    code, words = INPUT_CASES[kind]
    source = _bad_input(tmp_path, kind)
    result = run("batch", "sobel", source, "-o", tmp_path / "out", "--workers", "1", "--quiet")
    assert result.exit_code == code, result.output
    if code == 2:  # refused before the run: nothing made
        assert_one_line_error(result, 2, f"INPUTS: {source}: {words}")
        assert not (tmp_path / "out").exists()
    else:  # the run went on and reported the file
        assert result.stderr.startswith(f"convfx: failed: {source}: {words}"), result.stderr


def test_apply_of_a_folder_is_a_usage_error_and_batch_takes_it(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    shutil.copy(SAMPLES / "camera.png", folder / "camera.png")
    assert_one_line_error(run("apply", "sobel", folder), 2, "is a folder, expected an image file", "convfx batch")
    done = run("batch", "sobel", folder, "-o", tmp_path / "out", "--workers", "1", "--quiet")
    assert done.exit_code == 0, done.output
    assert (tmp_path / "out" / "camera_sobel.png").exists()


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (["explain", "canny", "{missing}"], 2, "no such file"),
        (["explain", "canny", "{fifo}"], 2, "not a regular file (a FIFO)"),
        (["summary", "{missing}"], 2, "no such file"),
        (["summary", "{fifo}"], 2, "not a regular file (a FIFO)"),
        (["export-bank", "{missing}", "-o", "{out}"], 2, "no such file"),
        (["compare", "digits", "--image", "{missing}", "-o", "{figure}"], 2, "no such file"),
    ],
)
def test_every_command_says_a_missing_or_special_input_is_a_usage_error(tmp_path, args, code, words):
    paths = {"missing": tmp_path / "none.png", "fifo": tmp_path / "fifo.png", "out": tmp_path / "out.toml"}
    paths["figure"] = tmp_path / "figure.png"
    if any("{fifo}" in arg for arg in args):
        _bad_input(tmp_path, "fifo")
    args = [arg.format(**paths) for arg in args]
    result = run(*args)
    assert_one_line_error(result, code, words)
    assert not (tmp_path / "out.toml").exists() and not (tmp_path / "figure.png").exists()


def test_exit_code_130_survives_an_interrupt_that_escaped_exec(tmp_path):
    """A batch interrupted while a module was importing ends with 130, not by SIGINT.

    CPython remembers a KeyboardInterrupt that escaped code run by exec() and ends a
    ``python -m`` run by SIGINT whatever its exit code; here batch's own 130 (which
    click returns rather than raises) comes after such an interrupt.
    """
    (tmp_path / "interrupted_run.py").write_text(
        "import convfx.cli as cli\n"
        "try:\n"
        "    exec('raise KeyboardInterrupt')  # as if Ctrl-C came while a dataclass was made\n"
        "except KeyboardInterrupt:\n"
        "    pass\n"
        "cli._app_for = lambda argv: (lambda *args, **kwargs: 130)\n"
        "cli._run([])\n"
    )
    done = subprocess.run([sys.executable, "-m", "interrupted_run"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 130, done.stderr
