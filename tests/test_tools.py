"""Tests of the developer tools in ``tools/`` (not part of the package): README figures, shipped models.

The tools are scripts, not an installed package, so they are loaded from their files.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shlex
import sys
from pathlib import Path
from types import ModuleType

import pytest
from conftest import SAMPLES

from convfx.errors import ParameterError

REPO = Path(__file__).resolve().parent.parent


def load_tool(name: str) -> ModuleType:
    """Import ``tools/<name>.py`` as a module."""
    spec = importlib.util.spec_from_file_location(f"convfx_tools_{name}", REPO / "tools" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # as an import would: dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_make_figures_writes_the_filter_figures(tmp_path, capsys):
    make_figures = load_tool("make_figures")
    make_figures.main(["--samples", str(SAMPLES), "--out", str(tmp_path), "--groups", "filters"])
    assert sorted(os.listdir(tmp_path)) == ["canny_stages.png", "gallery.png", "kernels.png"]  # no temporary files left
    printed = capsys.readouterr().out.splitlines()
    assert [line.split(" (")[0] for line in printed] == [
        f"wrote {tmp_path / name}" for name in ("gallery.png", "kernels.png", "canny_stages.png")
    ]
    for name in ("gallery.png", "kernels.png", "canny_stages.png"):
        assert (tmp_path / name).stat().st_size < 1024 * 1024  # full-colour PNGs, still small enough to commit


@pytest.mark.slow
def test_make_figures_draws_the_network_pictures_in_2d_and_3d(tmp_path):
    from PIL import Image

    make_figures = load_tool("make_figures")
    written = make_figures.write_network_figures(tmp_path)
    names = sorted(path.name for path in written)
    assert names == ["explain_conv.gif", "explain_conv_3d.gif", "network_digits.png", "network_shapes.png", "tour.png"]
    with Image.open(tmp_path / "explain_conv_3d.gif") as gif:
        assert gif.n_frames == 18  # 3x3 output cells in each of 2 maps
    for path in written:
        assert path.stat().st_size < 1600 * 1024


def test_make_figures_refuses_an_unknown_group(tmp_path):
    make_figures = load_tool("make_figures")
    with pytest.raises(ParameterError, match="groups: unknown"):
        make_figures.write_readme_figures(SAMPLES, out=tmp_path, groups=["filters", "everything"])


def test_the_shipped_records_name_the_options_ship_models_trains_with():
    ship_models = load_tool("ship_models")
    for name, options in ship_models.MODELS.items():
        path = ship_models.MODELS_DIRECTORY / f"lenet_{name}.npz"
        record = json.loads(path.with_suffix(".json").read_text())
        assert shlex.split(record["command"]) == ["convfx", "train", *options, "-o", f"convfx/models/lenet_{name}.npz", "--force"]
        assert record["dataset"] == name and len(record["first_losses"]) == ship_models.RECORDED_STEPS


@pytest.mark.slow
def test_the_study_tool_writes_its_table(tmp_path, capsys):
    """A tiny run: two seeds on CIFAR-10 files of 40 and 20 random images in the binary layout."""
    import numpy as np

    study = load_tool("study")
    rng = np.random.default_rng(0)
    folder = tmp_path / "cifar-10-batches-bin"
    folder.mkdir()
    for name, count in (("data_batch_1.bin", 40), ("test_batch.bin", 20)):
        labels = np.arange(count, dtype=np.uint8)[:, None] % 10
        records = np.concatenate([labels, rng.integers(0, 256, (count, 3072), dtype=np.uint8)], axis=1)
        (folder / name).write_bytes(records.tobytes())
    out = tmp_path / "study.md"
    text = study.main(["--rows", "", "--cifar", str(tmp_path), "--seeds", "0,1", "--draws", "20", "--out", str(out)])
    assert out.read_text(encoding="utf-8") == text
    assert text.startswith(f"Command: `python tools/study.py --cifar {tmp_path} --seeds 0,1 --rows ` (")
    lines = text.splitlines()
    row = next(line for line in lines if line.startswith("| CIFAR-10 | 40 / 20 | 10 (10.0%) |"))
    assert "12 epochs; first 10,000 training images" in row
    assert sum(line.startswith("| CIFAR-10 | ") for line in lines) == 3  # the summary and one line per seed
    with pytest.raises(SystemExit, match="unknown row"):
        study.main(["--rows", "mnist", "--out", str(out)])
