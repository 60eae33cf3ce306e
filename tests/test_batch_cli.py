"""Tests of ``convfx batch``: options reach :func:`convfx.batch.run_batch`, exit codes, reporting.

The library's behaviour (walking, resume, interruption, Dask, tiling) is tested
in test_batch.py; here only what the command adds: parsing, the progress and
summary lines, and the exit code (0 all done, 1 some failed, 2 usage, 130 interrupted).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from test_batch import make_image, make_tree, outputs
from typer.testing import CliRunner

from convfx import batch
from convfx.cli import app

runner = CliRunner()


def run(*args, env: dict[str, str] | None = None):
    return runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "200", **(env or {})})


def test_help_shows_an_example():
    result = run("batch", "--help")
    assert result.exit_code == 0
    assert "convfx batch sobel photos/ -o edges/" in result.stdout
    for option in (
        "--include",
        "--exclude",
        "--workers",
        "--force",
        "--quiet",
        "--scheduler",
        "--memory-budget",
        "--range",
        "--gray",
        "--boundary",
        "--max-pixels",
    ):
        assert option in result.stdout
    # The defaults shown are the library's own.
    assert "[default: 512MB]" in result.stdout and batch.parse_byte_size("512MB") == batch.DEFAULT_MEMORY_BUDGET
    assert "[default: reflect]" in result.stdout


def test_a_clean_run_exits_0_with_a_summary_and_a_rerun_skips(tmp_path):
    photos = make_tree(tmp_path)
    result = run("batch", "sobel", photos, "-o", tmp_path / "out", "--workers", "2")
    assert result.exit_code == 0, result.output
    assert "5 done, 0 skipped, 0 failed" in result.stdout
    assert len(outputs(tmp_path / "out")) == 5
    again = run("batch", "sobel", photos, "-o", tmp_path / "out")
    assert again.exit_code == 0
    assert "0 done, 5 skipped, 0 failed" in again.stdout
    assert "skipping 5 file(s)" in again.stderr


def test_a_corrupt_file_gives_exit_1_its_reason_and_the_good_files(tmp_path):
    photos = make_tree(tmp_path)
    (photos / "broken.jpg").write_bytes(b"\xff\xd8\xff garbage")
    result = run("batch", "sobel", photos, "-o", tmp_path / "out", "--workers", "2")
    assert result.exit_code == 1
    assert "5 done, 0 skipped, 1 failed" in result.stdout
    failures = [line for line in result.stderr.splitlines() if line.startswith("convfx: failed:")]
    assert len(failures) == 1 and "broken.jpg" in failures[0]
    assert "Traceback" not in result.output
    assert len(outputs(tmp_path / "out")) == 5


def test_effect_options_are_passed_through(tmp_path):
    photos = tmp_path / "photos"
    make_image(photos / "a.png", 1)
    result = run(
        "batch",
        "gaussian_blur:sigma=2,sobel",
        photos,
        "-o",
        tmp_path / "out",
        "--range",
        "normalize",
        "--gray",
        "--boundary",
        "wrap",
        "-q",
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == ""  # --quiet: nothing on stdout
    import json

    manifest = json.loads((tmp_path / "out" / batch.MANIFEST_NAME).read_text())
    assert manifest["parameters"]["output_range"] == "normalize"
    assert manifest["parameters"]["gray"] is True
    assert manifest["parameters"]["boundary"] == "wrap"


@pytest.mark.parametrize(
    ("arguments", "words"),
    [
        (["sobel", "{photos}", "-o", "{photos}/edges"], ["inside the input folder"]),
        (["sobel", "{photos}", "-o", "{photos}"], ["is the input folder"]),
        (["sobel", "{tmp}/missing", "-o", "{tmp}/out"], ["no such file or folder"]),
        (["sobel", "{photos}", "-o", "{tmp}/out", "--memory-budget", "lots"], ["--memory-budget: ", "'lots'"]),
        (["no_such_filter", "{photos}", "-o", "{tmp}/out"], ["no_such_filter"]),
        (["sobel", "{photos}", "-o", ""], ["--output: expected a folder name, found ''"]),
        (["sobel", "{photos}", "-o", "{tmp}/out", "--scheduler", "nonsense"], ["not a Dask scheduler address"]),
        # Nothing to do is said, not reported as "0 done": no images there, or none that the patterns keep.
        (["sobel", "{photos}/.thumbnails/..", "-o", "{tmp}/out", "--include", "*.gif"], ["found no images", "--include"]),
        (["sobel", "{tmp}/empty", "-o", "{tmp}/out"], ["INPUTS: found no images in", "empty", "nothing to do"]),
    ],
)
def test_usage_errors_exit_2_with_one_line(tmp_path, arguments, words):
    photos = make_tree(tmp_path)
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    (tmp_path / "empty" / "notes.txt").write_text("no images here\n")
    result = run("batch", *[a.format(photos=photos, tmp=tmp_path) for a in arguments])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("convfx: error: ")
    assert all(word in lines[0] for word in words)
    assert not (tmp_path / "out").exists() and not (photos / "edges").exists()


def test_the_scheduler_comes_from_the_environment_and_options_reach_the_library(tmp_path, monkeypatch):
    seen = {}

    def fake_run_batch(effect, inputs, outdir, **options):
        seen.update(options, effect=effect, inputs=inputs, outdir=outdir)
        return batch.BatchSummary(outdir=Path(outdir), manifest=Path(outdir) / batch.MANIFEST_NAME)

    monkeypatch.setattr(batch, "run_batch", fake_run_batch)
    result = run(
        "batch", "sobel", tmp_path, "-o", tmp_path / "out",
        "--include", "*.jpg", "--include", "*.png", "--exclude", "raw",
        "--workers", "3", "--force", "--memory-budget", "1GiB", "--max-pixels", "1000",
        env={batch.SCHEDULER_ENVIRONMENT_VARIABLE: "tcp://head:8786"},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert seen["scheduler"] == "tcp://head:8786"
    assert seen["include"] == ["*.jpg", "*.png"] and seen["exclude"] == ["raw"]
    assert (seen["workers"], seen["force"], seen["memory_budget"], seen["max_pixels"]) == (3, True, "1GiB", 1000)


def test_an_interrupted_run_prints_its_summary_and_exits_130(tmp_path, monkeypatch):
    def interrupted(effect, inputs, outdir, **options):
        summary = batch.BatchSummary(outdir=Path(outdir), manifest=Path(outdir) / batch.MANIFEST_NAME, interrupted=True)
        raise batch.BatchInterrupted(summary)

    monkeypatch.setattr(batch, "run_batch", interrupted)
    result = run("batch", "sobel", tmp_path, "-o", tmp_path / "out")
    assert result.exit_code == 130
    assert "interrupted: 0 done" in result.stdout
    assert "rerun the same command" in result.stderr
