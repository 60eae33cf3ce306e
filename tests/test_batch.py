"""Tests of :mod:`convfx.batch`: walking, naming, resuming, safety, interruption, Dask, memory budget.

Images are small (64x48) and made in tmp_path.  Every output is checked against
what the single-file pipeline (:func:`convfx.render.render_file`) writes for
the same source, so the batch adds no maths of its own.  Strip-by-strip
rendering itself is tested in ``test_render.py``.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from convfx import batch, effects, render
from convfx.errors import FileError, ParameterError


def make_image(path: Path, seed: int, size: tuple[int, int] = (48, 64), mode: str = "RGB") -> Path:
    """A seeded (H, W) RGB or gray image written to ``path`` (format from the suffix)."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0 : size[0], 0 : size[1]]
    base = np.stack([rows * 3, cols * 2, (rows + cols) * 2], axis=-1).astype(np.float64)
    pixels = np.clip(base + rng.normal(0, 20, base.shape), 0, 255).astype(np.uint8)
    image = Image.fromarray(pixels)
    if mode == "L":
        image = image.convert("L")
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, quality=95) if path.suffix.lower() in (".jpg", ".jpeg") else image.save(path)
    return path


def make_tree(root: Path) -> Path:
    """photos/ with a nested tree, a hidden folder and a file that is not an image."""
    photos = root / "photos"
    make_image(photos / "a.jpg", 1)
    make_image(photos / "b.png", 2)
    make_image(photos / "2024" / "c.jpg", 3)
    make_image(photos / "2024" / "raw" / "d.png", 4, mode="L")
    make_image(photos / "2024" / "raw" / "deep" / "e.TIF", 5)
    make_image(photos / ".thumbnails" / "a.png", 6)
    (photos / "notes.txt").write_text("not an image\n")
    return photos


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file below ``folder`` with its bytes and mtime."""
    return {
        p.relative_to(folder).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(folder.rglob("*")) if p.is_file()
    }


def outputs(folder: Path) -> dict[str, bytes]:
    """Every output image below ``folder`` (not the manifest), relative path -> bytes."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*.png"))}


def expected_bytes(tmp_path: Path, source: Path, effect: str = "sobel", **options) -> bytes:
    """What ``convfx apply`` writes for ``source``."""
    target = tmp_path / "expected" / f"{abs(hash(str(source)))}.png"
    target.parent.mkdir(exist_ok=True)
    render.render_file(source, target, effect, overwrite=True, **options)
    return target.read_bytes()


# --------------------------------------------------------------------------- walking and naming


def test_tree_is_mirrored_recursively_and_outputs_match_the_single_file_pipeline(tmp_path):
    photos = make_tree(tmp_path)
    before = snapshot(photos)
    summary = batch.run_batch("sobel", [photos], tmp_path / "out", workers=2)
    assert summary.ok and len(summary.done) == 5 and not summary.skipped
    written = outputs(tmp_path / "out")
    assert sorted(written) == [
        "2024/c_sobel.png",
        "2024/raw/d_sobel.png",
        "2024/raw/deep/e_sobel.png",
        "a_sobel.png",
        "b_sobel.png",
    ]
    for name, source in [
        ("a_sobel.png", "a.jpg"),
        ("2024/raw/d_sobel.png", "2024/raw/d.png"),
        ("2024/raw/deep/e_sobel.png", "2024/raw/deep/e.TIF"),
    ]:
        assert written[name] == expected_bytes(tmp_path, photos / source)
    assert snapshot(photos) == before  # inputs untouched
    assert not list((tmp_path / "out").rglob("*.part"))


def test_files_and_folders_can_be_mixed_and_a_file_named_twice_is_done_once(tmp_path):
    photos = make_tree(tmp_path)
    single = make_image(tmp_path / "elsewhere" / "z.bmp", 9)
    jobs = batch.plan_batch("sobel", [photos, photos / "a.jpg", single], tmp_path / "out")
    assert [job.output for job in jobs].count("a_sobel.png") == 1
    assert "z_sobel.png" in [job.output for job in jobs]
    assert all(job.destination == tmp_path / "out" / job.output for job in jobs)


@pytest.mark.parametrize(
    ("include", "exclude", "expected"),
    [
        (["*.jpg"], [], ["2024/c_sobel.png", "a_sobel.png"]),
        (["*.JPG", "*.tif"], [], ["2024/c_sobel.png", "2024/raw/deep/e_sobel.png", "a_sobel.png"]),  # any case
        ([], ["raw"], ["2024/c_sobel.png", "a_sobel.png", "b_sobel.png"]),  # a folder prunes its subtree
        ([], ["2024/*"], ["a_sobel.png", "b_sobel.png"]),  # '*' crosses '/'
        (["2024/*"], ["*.png"], ["2024/c_sobel.png", "2024/raw/deep/e_sobel.png"]),
    ],
)
def test_include_and_exclude(tmp_path, include, exclude, expected):
    photos = make_tree(tmp_path)
    jobs = batch.plan_batch("sobel", [photos], tmp_path / "out", include=include, exclude=exclude)
    assert [job.output for job in jobs] == expected


def test_colliding_outputs_are_disambiguated_deterministically(tmp_path):
    photos = tmp_path / "photos"
    # Created in an order that is not the sorted one: the rule must not depend on it.
    for seed, name in enumerate(["a_png.png", "a.png", "a.jpg", "A.bmp", "sub/a.jpg"]):
        make_image(photos / name, seed)
    jobs = batch.plan_batch("sobel", [photos], tmp_path / "out")
    assert {job.source.name if job.source.parent == photos else "sub/" + job.source.name: job.output for job in jobs} == {
        "A.bmp": "A_sobel.png",  # 'A.bmp' sorts first, keeps the name
        "a.jpg": "a_jpg_sobel.png",
        "a.png": "a_png_sobel-2.png",  # 'a_png_sobel.png' is a_png.png's own name
        "a_png.png": "a_png_sobel.png",
        "sub/a.jpg": "sub/a_sobel.png",  # other folder: no collision
    }
    assert batch.plan_batch("sobel", [photos], tmp_path / "out") == jobs
    # Across input folders too, whatever the order they are given in.
    other = tmp_path / "other"
    make_image(other / "a.jpg", 8)
    forward = batch.plan_batch("sobel", [photos, other], tmp_path / "out")
    assert batch.plan_batch("sobel", [other, photos], tmp_path / "out") == forward
    names = {job.source: job.output for job in forward}
    assert names[other / "a.jpg"] == "a_sobel.png"  # '.../other/a.jpg' sorts before '.../photos/A.bmp'
    assert (names[photos / "A.bmp"], names[photos / "a.jpg"]) == ("A_bmp_sobel.png", "a_jpg_sobel.png")
    summary = batch.run_batch("sobel", [photos], tmp_path / "out", workers=1)
    assert len(summary.done) == 5
    assert (tmp_path / "out" / "a_jpg_sobel.png").read_bytes() == expected_bytes(tmp_path, photos / "a.jpg")
    assert (tmp_path / "out" / "a_png_sobel-2.png").read_bytes() == expected_bytes(tmp_path, photos / "a.png")


@pytest.mark.parametrize("inside", [".", "edges", "edges/deeper"])
def test_an_output_folder_in_an_input_folder_is_refused(tmp_path, inside):
    photos = make_tree(tmp_path)
    before = snapshot(photos)
    with pytest.raises(ParameterError, match="input folder"):
        batch.run_batch("sobel", [photos], photos / inside)
    assert snapshot(photos) == before  # nothing created


def test_outputs_that_would_land_in_an_input_folder_inside_the_output_folder_are_refused(tmp_path):
    work = tmp_path / "work"
    make_image(work / "photos" / "a.jpg", 1)
    make_image(work / "photos" / "photos" / "b.jpg", 2)  # mirrored to work/photos/b_sobel.png
    with pytest.raises(ParameterError, match="inside the input folder"):
        batch.plan_batch("sobel", [work / "photos"], work)
    (work / "photos" / "photos" / "b.jpg").unlink()
    assert [job.output for job in batch.plan_batch("sobel", [work / "photos"], work)] == ["a_sobel.png"]


@pytest.mark.parametrize("link", ["same", "symlink", "hardlink"])
@pytest.mark.parametrize("force", [False, True])
def test_an_input_file_that_an_output_would_replace_is_refused(tmp_path, link, force):
    make_image(tmp_path / "in" / "a.jpg", 1)
    out = tmp_path / "out"
    make_image(out / "a_sobel.png", 2)  # the output name of in/a.jpg, given as an input too
    victim = out / "a_sobel.png"
    given = {"same": victim, "symlink": tmp_path / "link.png", "hardlink": tmp_path / "hard.png"}[link]
    if link == "symlink":
        given.symlink_to(victim)
    elif link == "hardlink":
        os.link(victim, given)
    before = snapshot(out)
    with pytest.raises(ParameterError, match=r"^output: .*a_sobel\.png is also an input.*never writes over its inputs"):
        batch.run_batch("sobel", [tmp_path / "in" / "a.jpg", given], out, force=force, workers=1)
    assert snapshot(out) == before  # nothing written, not even a manifest
    # Given alone, a file in OUTDIR is only read: its output has another name.
    summary = batch.run_batch("sobel", [given], out, force=force, workers=1)
    assert [o.destination.name for o in summary.done] == [f"{given.stem}_sobel.png"]
    assert victim.read_bytes() == before["a_sobel.png"][0]


def test_missing_input_and_bad_options_are_usage_errors(tmp_path):
    photos = make_tree(tmp_path)
    with pytest.raises(ParameterError, match="no such file or folder"):
        batch.run_batch("sobel", [tmp_path / "nope"], tmp_path / "out")
    with pytest.raises(ParameterError, match="boundary"):
        batch.run_batch("sobel", [photos], tmp_path / "out", boundary="mirror")
    with pytest.raises(ParameterError, match="workers"):
        batch.run_batch("sobel", [photos], tmp_path / "out", workers=0)
    with pytest.raises(ParameterError, match="memory_budget"):
        batch.run_batch("sobel", [photos], tmp_path / "out", memory_budget="lots")
    with pytest.raises(ParameterError):
        batch.run_batch("no_such_filter", [photos], tmp_path / "out")
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "a.txt").write_text("no images here\n")
    with pytest.raises(ParameterError, match=r"^inputs: found no images in \S*notes \(folders are searched .*nothing to do$"):
        batch.run_batch("sobel", [tmp_path / "notes"], tmp_path / "out")
    with pytest.raises(ParameterError, match="found no images that match --include/--exclude"):
        batch.run_batch("sobel", [photos], tmp_path / "out", include=["*.gif"])
    assert batch.plan_batch("sobel", [photos], tmp_path / "out", include=["*.gif"]) == []  # planning itself says nothing
    with pytest.raises(ParameterError, match="'binary' is for edge maps"):
        batch.run_batch("gaussian_blur", [photos], tmp_path / "out", output_range="binary")
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------------- resume


@pytest.mark.slow
def test_resume_skips_done_files_and_redoes_changed_parameters_or_sources(tmp_path):
    photos = make_tree(tmp_path)
    out = tmp_path / "out"
    first = batch.run_batch("sobel", [photos], out, workers=2)
    assert len(first.done) == 5
    stamps = {name: (out / name).stat().st_mtime_ns for name in outputs(out)}

    again = batch.run_batch("sobel", [photos], out, workers=2)
    assert (len(again.done), len(again.skipped)) == (0, 5)
    assert {name: (out / name).stat().st_mtime_ns for name in outputs(out)} == stamps

    # The same parameters spelled differently are the same run.
    same = batch.run_batch("sobel", [photos], out, output_range="abs", boundary="reflect")
    assert len(same.skipped) == 5

    # A changed source is redone, and only it.
    make_image(photos / "b.png", 42)
    changed = batch.run_batch("sobel", [photos], out)
    assert [o.source.name for o in changed.done] == ["b.png"] and len(changed.skipped) == 4
    assert (out / "b_sobel.png").read_bytes() == expected_bytes(tmp_path, photos / "b.png")

    # Changed parameters redo everything, with the new parameters.
    normalized = batch.run_batch("sobel", [photos], out, output_range="normalize")
    assert len(normalized.done) == 5
    assert (out / "a_sobel.png").read_bytes() == expected_bytes(tmp_path, photos / "a.jpg", output_range="normalize")

    # A deleted output is redone; force redoes all.
    (out / "a_sobel.png").unlink()
    assert [o.source.name for o in batch.run_batch("sobel", [photos], out, output_range="normalize").done] == ["a.jpg"]
    assert len(batch.run_batch("sobel", [photos], out, output_range="normalize", force=True).done) == 5


def test_the_manifest_records_effect_parameters_version_and_every_file(tmp_path):
    photos = make_tree(tmp_path)
    make_image(photos / "zz_bad.jpg", 0).write_bytes(b"\xff\xd8 truncated")
    summary = batch.run_batch("gaussian_blur:sigma=2,sobel", [photos], tmp_path / "out", gray=True, workers=1)
    manifest = json.loads(summary.manifest.read_text())
    assert manifest["convfx_manifest"] == 1 and manifest["convfx_version"]
    assert manifest["effect"] == "gaussian_blur:sigma=2,sobel"
    assert manifest["parameters"]["gray"] is True and manifest["parameters"]["output_range"] == "abs"
    assert [step["name"] for step in manifest["parameters"]["steps"]] == ["gaussian_blur", "sobel"]
    assert manifest["parameters"]["steps"][0]["parameters"] == {"sigma": 2.0}
    files = manifest["files"]
    assert len(files) == 6
    assert files["a_sobel.png".replace("sobel", "gaussian_blur_sigma2-sobel")]["status"] == "done"
    bad = files["zz_bad_gaussian_blur_sigma2-sobel.png"]
    assert bad["status"] == "failed" and "zz_bad.jpg" in bad["reason"]
    entry = files["b_gaussian_blur_sigma2-sobel.png"]
    assert entry["source"] == str(photos / "b.png")
    assert entry["size"] == (photos / "b.png").stat().st_size
    assert entry["mtime_ns"] == (photos / "b.png").stat().st_mtime_ns
    assert entry["fingerprint"] == manifest["fingerprint"]


def test_an_output_the_manifest_does_not_know_is_not_replaced_without_force(tmp_path):
    photos = make_tree(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    (out / "a_sobel.png").write_bytes(b"someone else's file")
    summary = batch.run_batch("sobel", [photos], out)
    assert [o.source.name for o in summary.failed] == ["a.jpg"]
    assert "--force" in summary.failed[0].reason
    assert (out / "a_sobel.png").read_bytes() == b"someone else's file"
    assert len(batch.run_batch("sobel", [photos], out, force=True).done) == 5
    assert (out / "a_sobel.png").read_bytes() == expected_bytes(tmp_path, photos / "a.jpg")


def test_a_foreign_manifest_and_a_concurrent_run_are_refused(tmp_path):
    photos = make_tree(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    (out / batch.MANIFEST_NAME).write_text("{not json")
    with pytest.raises(FileError, match="manifest"):
        batch.run_batch("sobel", [photos], out)
    (out / batch.MANIFEST_NAME).unlink()
    with batch.manifest.locked_folder(out):  # another run holds the folder
        with pytest.raises(FileError, match="another convfx batch run"):
            batch.run_batch("sobel", [photos], out)


def test_leftover_temporary_files_of_a_killed_run_are_removed(tmp_path):
    photos = make_tree(tmp_path)
    out = tmp_path / "out"
    (out / "2024").mkdir(parents=True)
    leftovers = [
        out / ".a_sobel.png.k3j_x9q2.part",
        out / "2024" / ".c_sobel.png.abcdefgh.part",
        out / f".{batch.MANIFEST_NAME}.zzzzzzzz.part",
    ]
    for leftover in leftovers:
        leftover.write_bytes(b"half an image")
    (out / ".unrelated.part").write_bytes(b"not ours")
    batch.run_batch("sobel", [photos], out, workers=1)
    assert not any(leftover.exists() for leftover in leftovers)
    assert (out / ".unrelated.part").exists()


# --------------------------------------------------------------------------- bad files


def test_a_corrupt_file_among_good_ones_fails_alone(tmp_path):
    photos = make_tree(tmp_path)
    (photos / "broken.jpg").write_bytes((photos / "a.jpg").read_bytes()[:300])
    (photos / "2024" / "empty.png").write_bytes(b"")
    summary = batch.run_batch("sobel", [photos], tmp_path / "out", workers=2)
    assert len(summary.done) == 5 and not summary.ok
    reasons = {o.source.name: o.reason for o in summary.failed}
    assert set(reasons) == {"broken.jpg", "empty.png"}
    assert "broken.jpg" in reasons["broken.jpg"] and "empty" in reasons["empty.png"]
    assert len(outputs(tmp_path / "out")) == 5
    assert not (tmp_path / "out" / "broken_sobel.png").exists()


def test_an_unwritable_output_place_fails_those_files_and_the_rest_goes_on(tmp_path):
    # We run as root, where chmod cannot make a folder read-only; a file standing
    # where an output folder must go is unwritable for everyone.
    photos = make_tree(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    (out / "2024").write_text("a file where the folder 2024/ should be")
    summary = batch.run_batch("sobel", [photos], out, workers=2)
    assert sorted(o.source.name for o in summary.done) == ["a.jpg", "b.png"]
    assert sorted(o.source.name for o in summary.failed) == ["c.jpg", "d.png", "e.TIF"]
    assert all("cannot create the output folder" in o.reason for o in summary.failed)
    with pytest.raises(FileError, match="cannot create the output folder"):
        batch.run_batch("sobel", [photos], out / "2024" / "below")


# --------------------------------------------------------------------------- parallel, Dask


def test_process_pool_and_serial_runs_write_the_same_bytes(tmp_path):
    photos = make_tree(tmp_path)
    batch.run_batch("emboss", [photos], tmp_path / "serial", workers=1)
    batch.run_batch("emboss", [photos], tmp_path / "pool", workers=3)
    assert outputs(tmp_path / "serial") == outputs(tmp_path / "pool")


@pytest.mark.slow
def test_workers_start_after_this_process_has_used_opencvs_thread_pool(tmp_path):
    # cv2.setNumThreads in a forked child deadlocks once the parent's OpenCV thread
    # pool has run (a library user filtering before a batch run; large images only).
    effects.apply(np.zeros((1080, 1920, 3), np.uint8), "sobel")
    photos = make_tree(tmp_path)
    result: list = []
    runner = threading.Thread(
        target=lambda: result.append(batch.run_batch("sobel", [photos], tmp_path / "out", workers=2)), daemon=True
    )
    runner.start()
    runner.join(timeout=30)
    assert not runner.is_alive(), "the workers hung"
    assert len(result[0].done) == 5


@pytest.mark.skipif(multiprocessing.get_start_method() != "fork", reason="the patched function reaches the workers by fork")
def test_a_worker_that_dies_fails_only_its_file_and_is_replaced(tmp_path, monkeypatch):
    photos = make_tree(tmp_path)
    render_task = batch.executors.render_task

    def crash_on_b(task):  # a decoder that segfaults on one file, or the out-of-memory killer
        if task.source.name == "b.png":
            os.kill(os.getpid(), signal.SIGKILL)
        return render_task(task)

    monkeypatch.setattr(batch.executors, "render_task", crash_on_b)
    summary = batch.run_batch("sobel", [photos], tmp_path / "out", workers=2)
    assert [o.source.name for o in summary.failed] == ["b.png"]
    assert "killed by SIGKILL" in summary.failed[0].reason and "b.png" in summary.failed[0].reason
    assert len(summary.done) == 4 and len(outputs(tmp_path / "out")) == 4


def open_files(pid: int) -> set[str]:
    """What the descriptors of process ``pid`` refer to (``socket:[123]``, a path), from /proc."""
    found = set()
    for entry in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            found.add(os.readlink(entry))
    return found


@pytest.mark.skipif(
    not Path("/proc/self/fd").is_dir() or multiprocessing.get_start_method() != "fork",
    reason="reads forked workers' descriptors in /proc",
)
def test_workers_hold_neither_the_parents_pipe_ends_nor_the_folder_lock(tmp_path):
    """So that a worker whose parent was killed reads end-of-file and the next run can lock the folder."""
    photos = make_tree(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    tasks = [batch.executors.RenderTask(i, photos / "a.jpg", out / f"{i}.png", False, None) for i in range(3)]
    with batch.manifest.locked_folder(out):
        pool = batch.executors._ProcessPool(tasks, 3)
        try:
            parent_ends = {os.readlink(f"/proc/self/fd/{worker.connection.fileno()}") for worker in pool.pool}
            assert len(parent_ends) == 3 and all(end.startswith("socket:") for end in parent_ends)
            for worker in pool.pool:
                deadline = time.monotonic() + 10  # the worker closes them as it starts
                while (held := open_files(worker.process.pid)) & parent_ends and time.monotonic() < deadline:
                    time.sleep(0.01)
                assert not held & parent_ends, "a worker holds a parent's end of a pipe"
                assert str(out) not in held, "a worker holds the output folder's lock"
                assert any(name.startswith("socket:") for name in held)  # its own end
        finally:
            pool.close()
    with batch.manifest.locked_folder(out):  # released with the parent's descriptor
        pass


@pytest.mark.slow
def test_dask_local_cluster_writes_the_same_bytes_as_a_local_run(tmp_path):
    distributed = pytest.importorskip("dask.distributed")
    photos = make_tree(tmp_path)
    (photos / "broken.png").write_bytes(b"\x89PNG nope")
    local = batch.run_batch("gaussian_blur,sobel", [photos], tmp_path / "local", workers=2)
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, scheduler_kwargs={"dashboard": False}
    ) as cluster:
        remote = batch.run_batch("gaussian_blur,sobel", [photos], tmp_path / "dask", scheduler=cluster.scheduler_address)
    assert len(remote.done) == len(local.done) == 5
    assert [o.source.name for o in remote.failed] == ["broken.png"]
    assert outputs(tmp_path / "dask") == outputs(tmp_path / "local")


@pytest.mark.slow
def test_without_dask_the_scheduler_option_says_what_to_install(tmp_path, monkeypatch):
    photos = make_tree(tmp_path)
    monkeypatch.setitem(sys.modules, "dask.distributed", None)  # makes the import fail
    with pytest.raises(batch.SchedulerError, match=r"pip install 'convfx\[dask\]'"):
        batch.run_batch("sobel", [photos], tmp_path / "out", scheduler="tcp://127.0.0.1:8786")


# --------------------------------------------------------------------------- interruption


def test_a_manifest_write_interrupted_before_its_own_cleanup_leaves_no_temporary_file(tmp_path, monkeypatch):
    """Ctrl-C just after the manifest's temporary file is made, before the code that would remove it."""
    from convfx import imageio

    photos = make_tree(tmp_path)
    write = imageio.write_bytes_atomically
    calls = []

    def interrupted_once(path, data, **options):
        calls.append(path)
        if len(calls) == 1:
            tempfile.mkstemp(dir=Path(path).parent, prefix=f".{Path(path).name}.", suffix=".part")
            raise KeyboardInterrupt
        return write(path, data, **options)

    monkeypatch.setattr(imageio, "write_bytes_atomically", interrupted_once)
    with pytest.raises(batch.BatchInterrupted):
        batch.run_batch("sobel", [photos], tmp_path / "out", workers=1)
    assert not list((tmp_path / "out").glob(".*.part"))
    assert (tmp_path / "out" / batch.MANIFEST_NAME).is_file()  # written whole afterwards


_INTERRUPT_SCRIPT = """
import sys
from convfx.cli import main
main(sys.argv[1:])
"""


@pytest.mark.slow
@pytest.mark.parametrize("how", ["SIGINT to the process group (Ctrl-C)", "SIGTERM to the parent"])
def test_an_interrupted_run_stops_cleanly_and_a_rerun_completes(tmp_path, how):
    photos = tmp_path / "photos"
    for i in range(48):
        make_image(photos / f"img{i:02d}.png", i, size=(120, 160))
    out = tmp_path / "out"
    effect = "gaussian_blur:sigma=6,sobel"
    command = [sys.executable, "-c", _INTERRUPT_SCRIPT, "batch", effect, str(photos), "-o", str(out), "--workers", "2"]
    process = subprocess.Popen(command, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while not list(out.glob("*.png")) and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.01)
    assert process.poll() is None, "the run finished before it could be interrupted"
    if how.startswith("SIGINT"):
        os.killpg(process.pid, signal.SIGINT)
    else:
        process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=20)
    assert process.returncode == 130, stderr
    assert "interrupted" in stdout and "Traceback" not in stderr
    time.sleep(0.1)
    with pytest.raises(ProcessLookupError):  # no worker left running
        os.killpg(process.pid, 0)
    assert not [p for p in out.rglob("*") if p.name.endswith(".part")]
    finished = sorted(out.glob("*.png"))
    assert 0 < len(finished) < 48
    for path in finished:  # complete images under final names only
        with Image.open(path) as image:
            image.load()
    manifest = json.loads((out / batch.MANIFEST_NAME).read_text())
    # Files being rendered stay "pending" (a worker may have finished one the
    # parent had not heard of yet); every "done" one is there.
    assert len(manifest["files"]) == 48
    assert {entry["status"] for entry in manifest["files"].values()} <= {"done", "pending"}
    assert "pending" in {entry["status"] for entry in manifest["files"].values()}
    assert all((out / name).is_file() for name, entry in manifest["files"].items() if entry["status"] == "done")

    rerun = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert rerun.returncode == 0, rerun.stderr
    assert len(list(out.glob("*.png"))) == 48
    manifest = json.loads((out / batch.MANIFEST_NAME).read_text())
    assert {entry["status"] for entry in manifest["files"].values()} == {"done"}
    assert (out / "img07_gaussian_blur_sigma6-sobel.png").read_bytes() == expected_bytes(tmp_path, photos / "img07.png", effect)


# --------------------------------------------------------------------------- fingerprint, memory budget


def test_the_fingerprint_changes_with_everything_that_changes_pixels_and_nothing_else(tmp_path):
    def fingerprint(effect, boundary="reflect", output_range="abs", gray=False):
        return batch.manifest.fingerprint_parameters(effects.parse_effect(effect), boundary, output_range, gray)[1]

    reference = fingerprint("sobel")
    kernel_file = tmp_path / "sobel.npz"
    np.savez(kernel_file, x=effects.parse_effect("sobel_x").steps[0].kernels[0].weights)
    assert fingerprint(str(kernel_file)) == fingerprint("sobel_x")  # the same kernel, written elsewhere
    others = [
        fingerprint("sobel", boundary="wrap"),
        fingerprint("sobel", output_range="normalize"),
        fingerprint("sobel", gray=True),
        fingerprint("prewitt"),
        fingerprint("gaussian_blur:sigma=2,sobel"),
        fingerprint("canny:low=0.1"),
        fingerprint("canny:low=0.2"),  # same kernels, another threshold
    ]
    assert len({reference, *others}) == 1 + len(others)


def test_a_file_forced_to_tile_is_written_byte_identical(tmp_path, monkeypatch):
    photos = tmp_path / "photos"
    make_image(photos / "big.png", 1, size=(96, 80))
    make_image(photos / "gray.png", 2, size=(96, 80), mode="L")
    filtered_rows = []
    apply = effects.apply

    def counting_apply(pixels, *args, **kwargs):
        filtered_rows.append(pixels.shape[0])
        return apply(pixels, *args, **kwargs)

    monkeypatch.setattr(effects, "apply", counting_apply)  # workers=1: this process renders
    batch.run_batch("gaussian_blur,sobel", [photos], tmp_path / "whole", workers=1)
    assert filtered_rows == [96, 96]  # the budget's default: each file in one piece
    filtered_rows.clear()
    batch.run_batch("gaussian_blur,sobel", [photos], tmp_path / "tiled", workers=1, memory_budget="20kB")
    assert len(filtered_rows) > 4 and max(filtered_rows) < 96  # strips
    assert outputs(tmp_path / "tiled") == outputs(tmp_path / "whole")


# --------------------------------------------------------------------------- sizes


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("512MB", 512_000_000),
        ("2GiB", 2 * 1024**3),
        ("64k", 64_000),
        ("1.5 gb", 1_500_000_000),
        ("1000", 1000),
        ("1000b", 1000),
        ("8Ki", 8192),
        ("1tb", 10**12),
        (4096, 4096),
    ],
)
def test_parse_byte_size(text, expected):
    assert batch.parse_byte_size(text) == expected


@pytest.mark.parametrize("text", ["", "lots", "-5MB", "0", "12 parsecs", "5ib", "3 i", True, "1" + " " * 100_000 + "x"])
def test_parse_byte_size_refuses_non_sizes(text):
    with pytest.raises(ParameterError, match="memory_budget") as info:
        batch.parse_byte_size(text)
    assert len(str(info.value)) < 150


def test_parse_byte_size_reads_a_size_within_spaces_and_no_longer_text():
    assert batch.parse_byte_size(" " * 30 + "2 GiB" + " " * 29) == 2 * 1024**3  # 64 characters
    with pytest.raises(ParameterError, match="memory_budget"):
        batch.parse_byte_size(" " * 30 + "2 GiB" + " " * 30)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (512_000_000, "512MB"),
        (64_000, "64kB"),
        (1500, "1500B"),
        (1024, "1024B"),
        (2 * 10**12, "2TB"),
        (3 * 10**9, "3GB"),
        (1, "1B"),
    ],
)
def test_format_byte_size_writes_the_largest_exact_unit_and_reads_back(value, text):
    assert batch.format_byte_size(value) == text
    assert batch.parse_byte_size(text) == value


# --------------------------------------------------------------------------- odd names and paths


def test_names_that_are_not_utf8_are_rendered_and_recorded(tmp_path):
    photos = tmp_path / "photos"
    good = make_image(photos / "ok.png", 1)
    odd = os.fsdecode(b"caf\xe9.png")  # Latin-1 bytes: a lone surrogate once decoded
    shutil.copy(good, photos / odd)
    summary = batch.run_batch("sobel", [photos], tmp_path / "out", workers=1)
    assert len(summary.done) == 2 and not summary.failed
    assert (tmp_path / "out" / os.fsdecode(b"caf\xe9_sobel.png")).is_file()
    json.loads((tmp_path / "out" / batch.MANIFEST_NAME).read_text(encoding="utf-8"))  # valid UTF-8 JSON
    again = batch.run_batch("sobel", [photos], tmp_path / "out", workers=1)
    assert len(again.skipped) == 2  # the manifest's escaped name reads back as the same file


def test_an_output_name_too_long_fails_that_file_only(tmp_path):
    photos = tmp_path / "photos"
    make_image(photos / "ok.png", 1)
    make_image(photos / ("y" * 250 + ".png"), 2)  # its output, y..._sobel.png, is over 255 bytes
    summary = batch.run_batch("sobel", [photos], tmp_path / "out", workers=1)
    assert [o.source.name for o in summary.done] == ["ok.png"]
    [failed] = summary.failed
    assert "\n" not in failed.reason and "name too long" in failed.reason.lower()


def test_a_symlink_below_the_output_folder_cannot_lead_into_an_input(tmp_path):
    photos = tmp_path / "photos"
    make_image(photos / "2024" / "cat.png", 1)
    (tmp_path / "edges").mkdir()
    (tmp_path / "edges" / "2024").symlink_to(photos / "2024")  # edges/2024 is photos/2024
    before = snapshot(photos)
    with pytest.raises(ParameterError, match=r"would be written inside the input folder"):
        batch.run_batch("sobel", [photos], tmp_path / "edges", workers=1)
    assert snapshot(photos) == before


def test_learned_filters_run_in_worker_processes(tmp_path):
    photos = tmp_path / "photos"
    for index in range(3):
        make_image(photos / f"p{index}.png", index)
    one = batch.run_batch("learned:digits#2", [photos], tmp_path / "one", workers=1)
    two = batch.run_batch("learned:digits#2", [photos], tmp_path / "two", workers=2)
    assert len(one.done) == len(two.done) == 3 and not two.failed, two.failed
    assert outputs(tmp_path / "one") == outputs(tmp_path / "two")


@pytest.mark.slow
@pytest.mark.parametrize(
    "address",
    ["nonsense", "tcp://127.0.0.1:notaport", "http://127.0.0.1:1", "inproc://", "ucx://h:1", "tcp://h:99999", "tcp://h:-1"],
)
def test_a_malformed_scheduler_address_is_refused_at_once(tmp_path, address):
    pytest.importorskip("dask.distributed")
    photos = tmp_path / "photos"
    make_image(photos / "a.png", 1)
    started = time.monotonic()
    with pytest.raises(batch.SchedulerError, match="not a Dask scheduler address"):
        batch.run_batch("sobel", [photos], tmp_path / "out", scheduler=address)
    assert time.monotonic() - started < 10
    assert not (tmp_path / "out").exists()  # refused before anything was created


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator")
def test_pool_workers_keep_the_memory_they_free():
    """A worker keeps freed blocks (process.keep_freed_memory), so the next file's arrays are not fresh memory."""
    script = (
        "import os, numpy as np\n"
        "from convfx import process\n"
        "def resident_after_freeing_64MB():\n"
        "    array = np.ones(8_000_000)\n"
        "    del array\n"
        "    with open('/proc/self/statm') as statm:\n"
        "        return int(statm.read().split()[1]) * os.sysconf('SC_PAGE_SIZE') >> 20\n"
        "default = resident_after_freeing_64MB()\n"
        "assert process.keep_freed_memory()\n"
        "print(default, resident_after_freeing_64MB())\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    default, kept = (int(word) for word in done.stdout.split())
    assert kept >= default + 60  # MiB: the block stayed with the process, ready for the next file
