"""Tests of the image commands: ``convfx apply``, ``convfx filters``, ``convfx show``.

Every bad input must give one line on stderr naming the file and the reason, the
right exit code (2 usage, 1 failed file), no traceback, nothing written and the
input untouched.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import BAD_IMAGES, SAMPLES
from typer.testing import CliRunner

from convfx import effects, imageio, ranges
from convfx.cli import app

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "200"})


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file below ``folder`` with its bytes and mtime, to prove nothing changed."""
    return {str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(folder.rglob("*")) if p.is_file()}


def assert_one_line_error(result, code: int, *words: str) -> None:
    assert result.exit_code == code, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("convfx: error: ")
    for word in words:
        assert word in lines[0]
    assert "Traceback" not in result.output and result.stdout == ""


# --------------------------------------------------------------------------- apply


def test_apply_writes_the_default_output_next_to_the_input(tmp_path):
    source = tmp_path / "chelsea.jpg"
    shutil.copyfile(SAMPLES / "chelsea.jpg", source)
    before = snapshot(tmp_path)
    result = run("apply", "sobel", source)
    assert result.exit_code == 0, result.output
    output = tmp_path / "chelsea_sobel.png"
    assert result.stdout.strip() == f"wrote {output}"
    picture = imageio.read_image(output)
    assert picture.pixels.shape == (300, 451, 3) and picture.pixels.max() == 255
    assert snapshot(tmp_path)["chelsea.jpg"] == before["chelsea.jpg"]


def test_apply_options(tmp_path, photo_png, photo):
    result = run("apply", "gaussian_blur,sobel_x", photo_png, "-o", tmp_path / "e.tif", "--range", "signed",
                 "--gray", "--boundary", "edge")  # fmt: skip
    assert result.exit_code == 0, result.output
    expected = ranges.map_range(effects.apply(photo, "gaussian_blur,sobel_x", gray=True, boundary="edge"), "signed")
    np.testing.assert_array_equal(imageio.read_image(tmp_path / "e.tif").pixels, expected)


def test_apply_with_parameters_and_imagemagick(tmp_path, photo_png):
    assert run("apply", "gaussian_blur:sigma=2,size=9", photo_png).exit_code == 0
    assert (tmp_path / "photo_gaussian_blur_sigma2_size9.png").exists()
    assert run("apply", "3x3: 0,-1,0 -1,5,-1 0,-1,0", photo_png).exit_code == 0
    assert (tmp_path / "photo_kernel.png").exists()


def test_dropping_alpha_is_a_warning_that_quiet_silences(tmp_path, photo, rng):
    source = tmp_path / "rgba.png"
    imageio.write_image(source, photo, alpha=rng.integers(0, 256, photo.shape[:2], dtype=np.uint8))
    result = run("apply", "sobel", source, "-o", tmp_path / "out.jpg")
    assert result.exit_code == 0, result.output
    assert (
        result.stderr
        == f"convfx: warning: {tmp_path / 'out.jpg'}: JPEG has no alpha channel; the input's transparency was dropped\n"
    )
    assert result.stdout.strip() == f"wrote {tmp_path / 'out.jpg'}"
    quiet = run("apply", "sobel", source, "-o", tmp_path / "out.jpg", "--force", "--quiet")
    assert quiet.exit_code == 0 and quiet.stderr == "" and quiet.stdout == ""
    assert run("apply", "sobel", source, "-o", tmp_path / "out.png").stderr == ""  # PNG keeps it


def test_existing_output_needs_force(tmp_path, photo_png):
    assert run("apply", "sobel", photo_png).exit_code == 0
    output = tmp_path / "photo_sobel.png"
    before = snapshot(tmp_path)
    assert_one_line_error(run("apply", "sobel", photo_png), 1, str(output), "already exists", "--force")
    assert snapshot(tmp_path) == before
    assert run("apply", "sobel", photo_png, "--force").exit_code == 0


def test_input_is_never_overwritten_even_with_force(tmp_path, photo_png):
    before = snapshot(tmp_path)
    assert_one_line_error(run("apply", "sobel", photo_png, "-o", photo_png, "--force"), 2, "is the input file")
    assert snapshot(tmp_path) == before


def test_apply_takes_one_input_and_says_so(tmp_path, photo_png):
    assert_one_line_error(
        run("apply", "sobel", photo_png, photo_png), 2, "unexpected extra argument", "usage: convfx apply [OPTIONS] EFFECT INPUT"
    )


def test_a_folder_points_to_batch(tmp_path, photo_png):
    before = snapshot(tmp_path)
    assert_one_line_error(
        run("apply", "sobel", tmp_path),
        2,
        "INPUT: ",
        "is a folder, expected an image file",
        f"`convfx batch sobel {tmp_path} -o OUTDIR`",
    )
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("kind", sorted(BAD_IMAGES))
def test_bad_images_fail_in_one_line(tmp_path, bad_image, kind):
    path = bad_image(kind)
    before = snapshot(tmp_path)
    # A missing input or a folder is a usage error (exit 2: `convfx batch` is for folders); any other
    # bad file failed (exit 1).
    code = 2 if kind in ("folder", "nonexistent") else 1
    assert_one_line_error(run("apply", "sobel", path), code, path.name, BAD_IMAGES[kind])
    assert snapshot(tmp_path) == before


BAD_KERNELS = {
    "ragged.toml": ("[k]\nmatrix = [[1, 2, 3], [4, 5]]\n", "ragged rows"),
    "nan.toml": ("[k]\nmatrix = [[1, nan]]\n", "NaN"),
    "empty.toml": ("[k]\nmatrix = []\n", "non-empty"),
    "text.toml": ('[k]\nmatrix = [["a", "b"]]\n', "expected a number"),
    "empty.json": ("", "empty kernel file"),
    "pickled.npz": (None, "pickled Python objects"),
}


@pytest.mark.parametrize("name", sorted(BAD_KERNELS))
def test_bad_kernel_files_are_usage_errors(tmp_path, photo_png, name):
    text, reason = BAD_KERNELS[name]
    kernel = tmp_path / name
    if text is None:
        np.savez(kernel, k=np.array([object()], dtype=object))
    else:
        kernel.write_text(text)
    before = snapshot(tmp_path)
    assert_one_line_error(run("apply", kernel, photo_png), 2, name, reason)
    assert snapshot(tmp_path) == before


def test_unknown_effect_is_a_usage_error(tmp_path, photo_png):
    before = snapshot(tmp_path)
    assert_one_line_error(run("apply", "sobl", photo_png), 2, "unknown filter 'sobl'", "closest: sobel")
    assert_one_line_error(run("apply", "gaussian_blur:radius=3", photo_png), 2, "unknown parameter")
    assert snapshot(tmp_path) == before


def test_binary_range_is_refused_for_an_effect_that_is_not_an_edge_detector(tmp_path, photo_png):
    before = snapshot(tmp_path)
    for effect in ("gaussian_blur", "sobel", "canny,gaussian_blur"):
        assert_one_line_error(
            run("apply", effect, photo_png, "--range", "binary"), 2, "--range: 'binary' is for edge maps", "canny"
        )
    assert snapshot(tmp_path) == before
    for effect in ("canny", "gaussian_blur,marr_hildreth"):
        assert run("apply", effect, photo_png, "--range", "binary", "-o", tmp_path / "edges.png", "-f").exit_code == 0
        assert set(np.unique(imageio.read_image(tmp_path / "edges.png").pixels)) <= {0, 255}


def test_unwritable_or_missing_output_folder(tmp_path, photo_png):
    from test_imageio import unwritable_folder

    before = snapshot(tmp_path)
    assert_one_line_error(run("apply", "sobel", photo_png, "-o", tmp_path / "no" / "x.png"), 1, "does not exist")
    folder = unwritable_folder(tmp_path)
    assert_one_line_error(run("apply", "sobel", photo_png, "-o", folder / "x.png"), 1, "x.png", "cannot write")
    assert snapshot(tmp_path) == before


def test_unsupported_output_suffix(tmp_path, photo_png):
    assert_one_line_error(run("apply", "sobel", photo_png, "-o", tmp_path / "x.gif"), 2, "unsupported file type")


def test_ctrl_c_exits_130_and_writes_nothing(tmp_path, photo_png, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(effects, "apply", interrupted)
    before = snapshot(tmp_path)
    result = run("apply", "sobel", photo_png)
    assert result.exit_code == 130 and "interrupted" in result.stderr
    assert snapshot(tmp_path) == before


def test_memory_budget_gives_the_same_file(tmp_path, photo_png):
    assert run("apply", "kirsch", photo_png, "-o", tmp_path / "whole.png").exit_code == 0
    result = run("apply", "kirsch", photo_png, "-o", tmp_path / "strips.png", "--memory-budget", "20kB")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "strips.png").read_bytes() == (tmp_path / "whole.png").read_bytes()


def test_memory_budget_must_be_a_size(tmp_path, photo_png):
    before = snapshot(tmp_path)
    assert_one_line_error(run("apply", "sobel", photo_png, "--memory-budget", "lots"), 2, "error: --memory-budget: ", "'lots'")
    assert_one_line_error(
        run("apply", "sobel", photo_png, "--memory-budget", "0"), 2, "error: --memory-budget: ", "at least 1 byte"
    )
    assert snapshot(tmp_path) == before


def test_out_of_memory_is_one_line_and_exit_1(tmp_path, photo_png, monkeypatch):
    def too_big(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(effects, "apply", too_big)
    before = snapshot(tmp_path)
    assert_one_line_error(run("apply", "sobel", photo_png), 1, str(photo_png), "not enough memory", "--memory-budget")
    assert snapshot(tmp_path) == before


def test_main_turns_any_memory_error_into_one_line(monkeypatch, capsys):
    import convfx.cli

    def exhausted(**kwargs):
        raise MemoryError  # outside every command's own reporting

    monkeypatch.setattr(convfx.cli, "app", exhausted)
    with pytest.raises(SystemExit) as info:
        convfx.cli.main(["filters"])
    assert info.value.code == 1
    assert capsys.readouterr().err == f"convfx: error: {convfx.cli.OUT_OF_MEMORY}\n"


@pytest.mark.slow
@pytest.mark.parametrize("where", ["main", "startup"])
def test_an_interrupt_inside_exec_still_exits_130(tmp_path, where):
    """CPython ends a ``python -m`` run by SIGINT after a KeyboardInterrupt escaped an exec'd
    string (as when a dataclass is made while a module imports), even one that was caught;
    convfx exits 130 all the same."""
    if where == "main":
        code = (
            "import convfx.cli\n"
            "def app(**kwargs):\n    exec('raise KeyboardInterrupt')\n"
            "convfx.cli.app = app\nconvfx.cli.main(['filters'])\n"
        )
    else:  # during the imports that convfx.__main__ guards
        code = (
            "import sys, types\n"
            "module = types.ModuleType('convfx.cli')\n"
            "module.__getattr__ = lambda name: exec('raise KeyboardInterrupt')\n"
            "sys.modules['convfx.cli'] = module\n"
            "from convfx.__main__ import main\nmain()\n"
        )
    (tmp_path / "interrupted_run.py").write_text(code)
    done = subprocess.run([sys.executable, "-m", "interrupted_run"], capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert done.returncode == 130, done
    assert done.stderr == "convfx: interrupted\n"


@pytest.mark.slow
def test_console_script_end_to_end(tmp_path, photo_png):
    """The real entry point in a fresh process: exit codes and stderr as a user sees them."""
    command = [sys.executable, "-m", "convfx", "apply", "laplacian", str(photo_png)]
    done = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "photo_laplacian.png").exists()
    done = subprocess.run(command[:5] + ["nope.jpg"], capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert done.returncode == 2 and done.stderr == "convfx: error: nope.jpg: no such file\n"  # a usage error
    # A usage error found by the argument parser: exit 2, no traceback.
    done = subprocess.run(command[:4], capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert (
        done.returncode == 2
        and "Traceback" not in done.stderr
        and done.stderr == "convfx: error: EFFECT: missing; usage: convfx apply [OPTIONS] EFFECT INPUT\n"
    )


# --------------------------------------------------------------------------- filters and show


def test_filters_lists_every_bank_filter():
    result = run("filters")
    assert result.exit_code == 0
    for item in effects.banks.list_filters():
        assert item.name in result.stdout
    assert "3x3" in result.stdout and "Sobel gradient magnitude" in result.stdout
    edges = run("filters", "--family", "edges")
    assert "sobel_x" in edges.stdout and "gaussian_blur " not in edges.stdout
    assert_one_line_error(run("filters", "--family", "nope"), 2, "family")


def test_show_prints_the_kernel_as_applied():
    result = run("show", "sobel_x")
    assert result.exit_code == 0
    assert "-1  0  1\n  -2  0  2\n  -1  0  1" in result.stdout
    flipped = run("show", "farid_x").stdout
    assert "rotated 180 degrees" in flipped
    assert "sigma=2" in run("show", "gaussian_blur:sigma=2").stdout
    assert_one_line_error(run("show", "sobl"), 2, "unknown filter")


@pytest.mark.slow
def test_show_plot(tmp_path):
    target = tmp_path / "k.png"
    result = run("show", "sobel", "--plot", target)
    assert result.exit_code == 0 and f"wrote {target}" in result.stdout
    assert imageio.read_image(target).pixels.ndim == 3
    assert_one_line_error(run("show", "sobel", "--plot", target), 1, "already exists")
    assert run("show", "sobel", "--plot", target, "--force").exit_code == 0
    assert_one_line_error(run("show", "sobel", "--plot", tmp_path / "k.bmp"), 2, "unsupported file type")


@pytest.mark.slow
def test_show_plot_scale(tmp_path):
    target = tmp_path / "chain.svg"
    result = run("show", "gaussian_blur,sobel", "--plot", target, "--scale", "per-kernel")
    assert result.exit_code == 0, result.output
    svg = target.read_text()
    assert "each kernel on its own colour scale" in svg and "red positive, blue negative, white 0" in svg
    shared = run("show", "gaussian_blur,sobel", "--plot", target, "--force")
    assert shared.exit_code == 0 and "one colour scale for every kernel" in target.read_text()
    assert_one_line_error(run("show", "sobel", "--plot", tmp_path / "k.png", "--scale", "own"), 2, "scale: invalid value 'own'")
    assert not (tmp_path / "k.png").exists()


@pytest.mark.parametrize("command", ["apply", "filters", "show"])
def test_help_has_an_example(command):
    result = run(command, "--help")
    assert result.exit_code == 0 and "Example" in result.stdout and f"convfx {command}" in result.stdout


@pytest.mark.parametrize("name", ["output", "boundary", "effect"])
def test_a_file_named_like_an_option_keeps_its_name_in_the_error(tmp_path, monkeypatch, name):
    monkeypatch.chdir(tmp_path)
    Path(name).write_bytes(b"not an image")
    result = run("apply", "sobel", name)
    assert_one_line_error(result, 1, f"error: {name}: not a recognised image")
    assert f"--{name}" not in result.stderr and name.upper() not in result.stderr


def test_an_output_named_like_an_option_is_still_named_by_its_option(tmp_path, photo_png, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run("apply", "sobel", photo_png, "-o", "output")
    assert_one_line_error(result, 2, "error: --output: output: unsupported file type")
