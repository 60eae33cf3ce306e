"""Benchmark ``convfx batch`` against ImageMagick's ``mogrify`` and a bare OpenCV process pool.

Generates full-HD JPEGs from ``samples/`` (scaled, cropped and flipped so that
no two are alike) in a temporary folder, applies Sobel to all of them with each
tool, and prints a markdown table of wall-clock times and ratios::

    python benchmarks/bench_batch.py                      # 40 images, one worker per core, 3 rounds
    python benchmarks/bench_batch.py --images 80 --workers 4 --repeat 5

The tools run round after round, in alternating order, and the ratio convfx /
bare pool is taken within each round (a burst of other load on a shared machine
then hits one pair, not one tool): the summary line gives its min and median.

Every tool runs as a separate command, as a user would run it, so interpreter
start-up and imports count.  convfx runs byte-compiled, as ``pip install``
leaves it: the script compiles the package it imports first (in an editable
checkout with ``PYTHONDONTWRITEBYTECODE`` set, every run would otherwise
recompile convfx's modules, about 40 ms).  All of them get the same number of workers:
``convfx batch --workers N``; the bare pool is a ``ProcessPoolExecutor(N)``
doing ``cv2.imread`` + ``cv2.filter2D`` + ``cv2.imwrite``; ``mogrify`` runs with
``-limit thread N`` (it works through the files one at a time, with N threads
per operation).

Like for like:

* convfx's ``sobel`` is the gradient magnitude of ``sobel_x`` and ``sobel_y``
  on every colour channel.  The bare pool computes exactly that (two float32
  ``filter2D`` passes, reflect-101 border, magnitude, rounded to ``uint8``) and
  the benchmark checks that its pixels agree with convfx's.
* Both write PNG.  ``cv2.imwrite``'s PNG defaults are tuned for speed (zlib
  level 1, SUB filter, RLE strategy) and give larger files than convfx; the
  like-for-like row therefore writes zlib level 6 with the RLE strategy, whose
  files are the same size as convfx's (the table shows the MB written), and the
  row with OpenCV's defaults is shown too.
* ``mogrify -morphology Convolve Sobel`` convolves with one Sobel kernel (less
  work than a magnitude) and by default writes JPEG; the like-for-like row adds
  ``-format png``.  The command without ``-format`` is shown too.

Targets: convfx / mogrify <= 0.25 and convfx / bare pool <= 1.05 (median of the rounds).
A row whose tool is missing is skipped with a message (``apt-get install
imagemagick`` provides mogrify).
"""

from __future__ import annotations

import argparse
import compileall
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

REPOSITORY = Path(__file__).resolve().parent.parent
SAMPLES = REPOSITORY / "samples"
WIDTH, HEIGHT = 1920, 1080

BARE_POOL = textwrap.dedent(
    """
    import sys
    from concurrent.futures import ProcessPoolExecutor
    from pathlib import Path

    import cv2
    import numpy as np

    KX = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], np.float32)
    PARAMETERS = {parameters}


    def sobel(job):
        source, target = job
        image = cv2.imread(source).astype(np.float32)
        gx = cv2.filter2D(image, -1, KX, borderType=cv2.BORDER_REFLECT_101)
        gy = cv2.filter2D(image, -1, KX.T, borderType=cv2.BORDER_REFLECT_101)
        cv2.imwrite(target, cv2.convertScaleAbs(cv2.magnitude(gx, gy)), PARAMETERS)


    if __name__ == "__main__":
        source, target, workers = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
        cv2.setNumThreads(1)
        jobs = [(str(p), str(target / (p.stem + "_sobel.png"))) for p in sorted(source.glob("*.jpg"))]
        with ProcessPoolExecutor(workers) as pool:
            list(pool.map(sobel, jobs))
    """
)


def make_images(folder: Path, count: int) -> list[Path]:
    """``count`` different 1920x1080 JPEGs (quality 90) from the sample photos."""
    sources = sorted(p for p in SAMPLES.iterdir() if p.suffix.lower() in (".jpg", ".png"))
    paths = []
    for index in range(count):
        with Image.open(sources[index % len(sources)]) as opened:
            image = opened.convert("RGB")
        variant = index // len(sources)
        # A different crop of the upscaled photo (and a mirror image every other time).
        zoom = 1.0 + 0.15 * (variant % 4)
        image = image.resize((round(WIDTH * zoom), round(WIDTH * zoom * image.height / image.width)), Image.LANCZOS)
        image = ImageOps.fit(image, (WIDTH, HEIGHT), centering=((variant * 0.37) % 1, (variant * 0.61) % 1))
        if variant % 2:
            image = ImageOps.mirror(image)
        path = folder / f"photo{index:03d}.jpg"
        image.save(path, quality=90)
        paths.append(path)
    return paths


def timed(command: list[str], *, env: dict[str, str] | None = None, refusal: str | None = None) -> float:
    """Seconds ``command`` takes; it must succeed, or, with ``refusal``, fail with exit code 2 saying that."""
    started = time.perf_counter()
    done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    seconds = time.perf_counter() - started
    expected = 0 if refusal is None else 2
    if done.returncode != expected or (refusal is not None and refusal not in done.stderr):
        raise subprocess.CalledProcessError(done.returncode, command, stderr=done.stderr)
    return seconds


@dataclass
class Run:
    """One tool's command, its output folder and its measured times."""

    label: str
    command: list[str]
    output: Path
    target: float | None = None
    note: str = ""
    env: dict[str, str] | None = None
    setup: Callable[[], None] | None = None
    times: list[float] = field(default_factory=list)

    def once(self) -> None:
        shutil.rmtree(self.output, ignore_errors=True)
        self.output.mkdir(parents=True)
        if self.setup is not None:
            self.setup()
        self.times.append(timed(self.command, env=self.env))

    @property
    def seconds(self) -> float:
        # The shortest run is the least disturbed by other load on the machine.
        return min(self.times)


def megabytes(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.iterdir() if p.is_file() and p.suffix in (".png", ".jpg")) / 1e6


def pixel_difference(convfx_folder: Path, bare_folder: Path) -> int:
    """Largest difference in grey levels between convfx's and the bare pool's outputs."""
    worst = 0
    for path in sorted(convfx_folder.glob("*.png")):
        ours = np.asarray(Image.open(path).convert("RGB"), dtype=np.int16)
        theirs = np.asarray(Image.open(bare_folder / path.name).convert("RGB"), dtype=np.int16)
        worst = max(worst, int(np.abs(ours - theirs).max()))
    return worst


def breakdown(photo: Path, folder: Path) -> list[tuple[str, float, float]]:
    """Where one image's time goes, in one process (ms, best of 5): convfx's stages and the bare ones."""
    import cv2

    from convfx import effects, imageio, ranges, render

    cv2.setNumThreads(1)  # as in the workers

    def best(function) -> float:
        function()
        times = []
        for _ in range(5):
            started = time.perf_counter()
            function()
            times.append(time.perf_counter() - started)
        return min(times) * 1000

    kernel = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], np.float32)
    parameters = [cv2.IMWRITE_PNG_COMPRESSION, 6, cv2.IMWRITE_PNG_STRATEGY, cv2.IMWRITE_PNG_STRATEGY_RLE]
    picture = imageio.read_image(photo)
    response = effects.apply(picture.pixels, "sobel")
    pixels = ranges.map_range(response, "abs")
    bgr = cv2.imread(str(photo))

    def bare_filter() -> np.ndarray:
        image = bgr.astype(np.float32)
        gx = cv2.filter2D(image, -1, kernel, borderType=cv2.BORDER_REFLECT_101)
        gy = cv2.filter2D(image, -1, kernel.T, borderType=cv2.BORDER_REFLECT_101)
        return cv2.convertScaleAbs(cv2.magnitude(gx, gy))

    edges = bare_filter()
    empty = folder / "empty"
    empty.mkdir()
    startup = (
        [sys.executable, "-m", "convfx", "batch", "sobel", str(empty), "-o", str(folder / "empty-out"), "--quiet"],
        [sys.executable, "-c", "import cv2, numpy"],
    )
    return [
        (
            "start-up (convfx batch of an empty folder / import cv2, numpy)",
            best(lambda: timed(startup[0], refusal="found no images")),  # an empty folder is a usage error
            best(lambda: timed(startup[1])),
        ),
        ("decode", best(lambda: imageio.read_image(photo)), best(lambda: cv2.imread(str(photo)))),
        ("filter (apply / 2 x filter2D + magnitude)", best(lambda: effects.apply(picture.pixels, "sobel")), best(bare_filter)),
        ("map to uint8 (map_range / convertScaleAbs)", best(lambda: ranges.map_range(response, "abs")), 0.0),
        ("encode PNG", best(lambda: imageio.encode_image(pixels, "PNG")), best(lambda: cv2.imencode(".png", edges, parameters))),
        (
            "whole file (render_file / read+filter+write)",
            best(lambda: render.render_file(photo, folder / "one.png", "sobel", overwrite=True)),
            best(lambda: cv2.imwrite(str(folder / "two.png"), bare_filter(), parameters) and None),
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=40)
    parser.add_argument(
        "--workers", type=int, default=len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    )
    parser.add_argument("--repeat", type=int, default=3)
    arguments = parser.parse_args(argv)
    workers = arguments.workers
    import convfx

    # As after `pip install`, which byte-compiles what it installs.
    compileall.compile_dir(Path(convfx.__file__).parent, quiet=1)

    with tempfile.TemporaryDirectory(prefix="convfx-bench-") as temporary:
        root = Path(temporary)
        photos = root / "photos"
        photos.mkdir()
        make_images(photos, arguments.images)
        print(f"{arguments.images} JPEGs of {WIDTH}x{HEIGHT} in {photos}, {workers} workers, best of {arguments.repeat} rounds\n")

        convfx_out = root / "convfx"
        convfx = Run(
            "convfx batch sobel",
            [
                sys.executable,
                "-m",
                "convfx",
                "batch",
                "sobel",
                str(photos),
                "-o",
                str(convfx_out),
                "--workers",
                str(workers),
                "--quiet",
            ],
            convfx_out,
        )
        runs = [convfx]
        bare_script = root / "bare_pool.py"
        for label, parameters, target in [
            (
                "bare pool, PNG zlib 6 + RLE (like for like)",
                "[cv2.IMWRITE_PNG_COMPRESSION, 6, cv2.IMWRITE_PNG_STRATEGY, cv2.IMWRITE_PNG_STRATEGY_RLE]",
                1.05,
            ),
            ("bare pool, cv2.imwrite PNG defaults", "[]", None),
        ]:
            script = BARE_POOL.format(parameters=parameters)
            output = root / f"bare{len(runs)}"
            runs.append(
                Run(label, [sys.executable, str(bare_script), str(photos), str(output), str(workers)], output, target,
                    setup=lambda script=script: bare_script.write_text(script))
            )  # fmt: skip
        mogrify = shutil.which("mogrify")
        if mogrify is None:
            print("mogrify not found (apt-get install imagemagick): skipping the ImageMagick rows\n")
        else:
            environment = dict(os.environ, MAGICK_THREAD_LIMIT=str(workers))
            jpegs = [str(p) for p in sorted(photos.glob("*.jpg"))]
            for label, extra, target in [
                ("mogrify -format png (like for like)", ["-format", "png"], 0.25),
                ("mogrify without -format (writes JPEG)", [], None),
            ]:
                output = root / f"mogrify{len(runs)}"
                command = [
                    mogrify,
                    "-limit",
                    "thread",
                    str(workers),
                    "-path",
                    str(output),
                    *extra,
                    "-morphology",
                    "Convolve",
                    "Sobel",
                    *jpegs,
                ]
                runs.append(Run(label, command, output, target, "one Sobel kernel, not the magnitude", env=environment))
        # Round after round of every tool, in alternating order, so that a burst of
        # other load hits them alike.
        for round_index in range(arguments.repeat):
            for run in runs if round_index % 2 == 0 else runs[::-1]:
                run.once()
        for run in runs[1:3]:
            run.note = f"pixels differ by <= {pixel_difference(convfx_out, run.output)}"
        rows = [(run.label, run.seconds, megabytes(run.output), run.target, run.note) for run in runs]
        convfx_time = convfx.seconds
        stages = breakdown(photos / "photo000.jpg", root)

    paired = [ours / theirs for ours, theirs in zip(convfx.times, runs[1].times)]
    print(
        f"command: python benchmarks/bench_batch.py --images {arguments.images} --workers {workers} --repeat {arguments.repeat}\n"
    )
    print("| run | seconds | MB written | convfx / this | target | note |")
    print("| --- | ---: | ---: | ---: | --- | --- |")
    missed = False
    for label, seconds, written, target, note in rows:
        ratio = convfx_time / seconds
        if target is None:
            verdict = "" if label.startswith("convfx") else "(for reference)"
        else:
            verdict = f"<= {target}: {'met' if ratio <= target else 'MISSED'}"
            missed |= ratio > target
        shown = "" if label.startswith("convfx") else f"{ratio:.2f}"
        print(f"| {label} | {seconds:.2f} | {written:.1f} | {shown} | {verdict} | {note} |")
    print(f"\n({arguments.images / convfx_time:.1f} images/s with convfx; times are the best of {arguments.repeat} rounds)")
    print(
        f"convfx / bare pool (like for like) within each round: min {min(paired):.3f}, "
        f"median {statistics.median(paired):.3f}, max {max(paired):.3f} "
        f"(rounds: {', '.join(f'{ratio:.3f}' for ratio in paired)}; target <= {runs[1].target}: "
        f"{'met' if statistics.median(paired) <= runs[1].target else 'MISSED'})"
    )
    print("\nWhere the time goes (one image, one process, best of 5):\n")
    print("| stage | convfx ms | bare OpenCV ms |")
    print("| --- | ---: | ---: |")
    for stage, ours, theirs in stages:
        print(f"| {stage} | {ours:.1f} | {f'{theirs:.1f}' if theirs else '(in the line above)'} |")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
