"""``convfx apply sobel`` on one large photo, whole process, against a bare OpenCV script.

    python benchmarks/bench_apply.py [--rounds 9] [--size 4000x3000]

Makes a JPEG (quality 90) of the given size from ``samples/astronaut.jpg`` in a
temporary folder, then runs, in alternating order round after round:

* ``python -m convfx apply sobel PHOTO -o OUT.png --force``, as a user would run it
  (interpreter start-up, imports, argument parsing, decode, filter, encode,
  atomic write);
* a bare script doing the same work with OpenCV and nothing else:
  ``cv2.imread``, ``cv2.Sobel`` in x and y (float32, reflect-101 border),
  ``cv2.magnitude``, ``cv2.convertScaleAbs`` and ``cv2.imwrite`` with convfx's PNG
  settings (zlib level 6, run-length strategy).

Both write PNG with the same settings and the same pixels (checked).  Each
round times both processes back to back (wall clock from spawn to exit); the
ratio convfx / bare is taken per round, so that a burst of other load on the
machine hits one pair, not one tool.  convfx runs byte-compiled, as ``pip
install`` leaves it.  Peak RSS is measured in separate runs, each process
reporting its own high-water mark (see ``processes.py``).

Target: convfx / bare <= 1.10 in wall time.
"""

from __future__ import annotations

import argparse
import compileall
import statistics
import sys
import tempfile
import textwrap
from pathlib import Path

import cv2
import numpy as np
from PIL import Image
from processes import paired, peak_memory

REPOSITORY = Path(__file__).resolve().parent.parent
TARGET = 1.10

BARE_SCRIPT = textwrap.dedent(
    """
    import sys

    import cv2

    source, target = sys.argv[1], sys.argv[2]
    image = cv2.imread(source)
    gx = cv2.Sobel(image, cv2.CV_32F, 1, 0, ksize=3, borderType=cv2.BORDER_REFLECT_101)
    gy = cv2.Sobel(image, cv2.CV_32F, 0, 1, ksize=3, borderType=cv2.BORDER_REFLECT_101)
    edges = cv2.convertScaleAbs(cv2.magnitude(gx, gy))
    cv2.imwrite(target, edges, [cv2.IMWRITE_PNG_COMPRESSION, 6, cv2.IMWRITE_PNG_STRATEGY, cv2.IMWRITE_PNG_STRATEGY_RLE])
    """
)


def make_photo(path: Path, width: int, height: int) -> None:
    """A ``width`` x ``height`` JPEG (quality 90): a sample photo, scaled up."""
    with Image.open(REPOSITORY / "samples" / "astronaut.jpg") as opened:
        image = opened.convert("RGB")
    image.resize((width, height), Image.LANCZOS).save(path, quality=90)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--size", default="4000x3000", help="WIDTHxHEIGHT of the test photo")
    arguments = parser.parse_args(argv)
    width, height = (int(side) for side in arguments.size.lower().split("x"))
    import convfx

    compileall.compile_dir(Path(convfx.__file__).parent, quiet=1)  # as after `pip install`
    with tempfile.TemporaryDirectory(prefix="convfx-bench-apply-") as temporary:
        root = Path(temporary)
        photo = root / "photo.jpg"
        make_photo(photo, width, height)
        bare = root / "bare.py"
        bare.write_text(BARE_SCRIPT)
        ours, theirs = root / "convfx.png", root / "bare.png"
        commands = {
            "convfx": [sys.executable, "-m", "convfx", "apply", "sobel", str(photo), "-o", str(ours), "--force"],
            "bare": [sys.executable, str(bare), str(photo), str(theirs)],
        }
        results = paired(commands, arguments.rounds)
        peaks = {name: max(peak_memory(command) for _ in range(2)) for name, command in commands.items()}
        same = np.array_equal(cv2.imread(str(ours)), cv2.imread(str(theirs)))
        sizes = {name: path.stat().st_size / 1e6 for name, path in (("convfx", ours), ("bare", theirs))}

    ratios = [a / b for a, b in zip(results["convfx"], results["bare"])]
    print(f"convfx apply sobel on a {width}x{height} JPEG vs a bare OpenCV script, {arguments.rounds} paired rounds")
    print(f"command: python benchmarks/bench_apply.py --rounds {arguments.rounds} --size {width}x{height}\n")
    print("| process | wall s min | wall s median | peak RSS MiB | PNG MB |")
    print("|---|---:|---:|---:|---:|")
    for name, seconds in results.items():
        print(
            f"| {name} | {min(seconds):.3f} | {statistics.median(seconds):.3f} | {peaks[name] / 2**20:.0f} | {sizes[name]:.2f} |"
        )
    verdict = "met" if statistics.median(ratios) <= TARGET else "MISSED"
    print(
        f"\nconvfx / bare, per round: min {min(ratios):.3f}, median {statistics.median(ratios):.3f}, "
        f"max {max(ratios):.3f} (target <= {TARGET}: {verdict}); same pixels: {same}"
    )
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
