"""Round trip of ``convfx studio`` for a 1-megapixel photo: from a changed setting to the PNG.

Starts the real command (``python -m convfx studio PHOTO --no-browser --port 0``)
on 127.0.0.1 and, over HTTP as the page does, asks for the kernel view and the
result of each setting (both requests at once, as the page sends them), then for
the arithmetic of one pixel.  Every round changes the settings (a boundary, a
cell of the grid) so that no result comes from the studio's cache.  The photo is
``samples/chelsea.jpg`` resized to about 1 megapixel with ``cv2.INTER_CUBIC``.

It prints a markdown table of medians: the whole round trip, the server's own
filter and PNG-encoding times (its Server-Timing header) and the PNG size.  The
studio promises a result within a second for such a photo on 2 cores.

    python benchmarks/bench_studio.py [--rounds 9] [--megapixels 1]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import httpx
import numpy as np

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
BOUNDARIES = ("reflect", "symmetric", "edge", "wrap", "constant")


def photo(folder: Path, megapixels: float) -> Path:
    image = cv2.imread(str(SAMPLES / "chelsea.jpg"))
    scale = (megapixels * 1e6 / (image.shape[0] * image.shape[1])) ** 0.5
    resized = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    path = folder / "photo.png"
    cv2.imwrite(str(path), resized)
    return path


def timing(header: str) -> dict[str, float]:
    return {name: float(value) for name, value in re.findall(r"(\w+);dur=([\d.]+)", header)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--megapixels", type=float, default=1.0)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = photo(Path(folder), arguments.megapixels)
        height, width = cv2.imread(str(path)).shape[:2]
        server = subprocess.Popen(
            [sys.executable, "-m", "convfx", "studio", str(path), "--no-browser", "--port", "0"],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            url = re.search(r"http://\S+/", server.stdout.readline()).group(0)
            rows = measure(url, arguments.rounds)
        finally:
            server.terminate()
            server.wait(30)
    print(f"photo: {width}x{height} = {width * height / 1e6:.2f} megapixels, RGB; medians of {arguments.rounds} rounds\n")
    print("| setting | round trip (ms) | filter (ms) | PNG encode (ms) | PNG (kB) | one pixel's arithmetic (ms) |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


def measure(url: str, rounds: int) -> list[list[str]]:
    rng = np.random.default_rng(0)
    seven = rng.integers(-3, 4, size=(7, 7)).astype(float)
    cases = {
        "sobel (named filter)": lambda k: {"source": "filter", "name": "sobel"},
        "7x7 grid, convolution": lambda k: {
            "source": "grid",
            "rows": (seven + np.eye(7) * k).tolist(),
            "scale": "1/7",
            "operation": "convolve",
        },
    }
    rows = []
    with httpx.Client(base_url=url, timeout=60) as client, concurrent.futures.ThreadPoolExecutor(2) as pool:
        client.get("api/choices")
        for name, kernel in cases.items():
            trips, filters, encodes, sizes, pixels = [], [], [], [], []
            for k in range(rounds + 1):  # the first round warms the server up and is not counted
                settings = {"photo": "image", "kernel": kernel(k), "boundary": BOUNDARIES[k % len(BOUNDARIES)]}
                start = time.perf_counter()
                view, result = pool.map(lambda path, body=settings: client.post(path, json=body), ["api/kernel", "api/render"])
                trip = time.perf_counter() - start
                assert view.status_code == 200 and result.status_code == 200, (view.text, result.text[:200])
                start = time.perf_counter()
                assert client.post("api/pixel", json={"settings": settings, "x": 400, "y": 300}).status_code == 200
                pixel = time.perf_counter() - start
                if k:
                    spent = timing(result.headers["server-timing"])
                    trips.append(trip * 1000)
                    filters.append(spent["filter"])
                    encodes.append(spent["encode"])
                    sizes.append(len(result.content) / 1024)
                    pixels.append(pixel * 1000)
            rows.append([name] + [f"{statistics.median(values):.0f}" for values in (trips, filters, encodes, sizes, pixels)])
    return rows


if __name__ == "__main__":
    main()
