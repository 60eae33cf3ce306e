"""Peak memory and time of rendering one large photo in strips (``--memory-budget``) against in one piece.

    python benchmarks/bench_memory.py [--rounds 5] [--size 6000x4000] [--budget 64MB]

Makes a 24-megapixel JPEG (quality 90) from ``samples/astronaut.jpg`` in a
temporary folder and renders it with :func:`convfx.render.render_file` (what
``convfx apply`` calls), each run in a fresh process:

* ``whole``: the whole-image response, ``render=convfx.render.filter_and_map``;
* ``budget``: ``memory_budget=BUDGET``, as ``convfx apply --memory-budget BUDGET``
  (strips with a halo, byte-identical output: checked);
* ``default``: the default budget, ``DEFAULT_MEMORY_BUDGET`` (512 MB).

The runs alternate round after round and the time ratio strips / whole is taken
within each round.  Peak RSS is the child's own high-water mark, from separate
runs (see ``processes.py``); "beyond start-up" is that minus the peak of the same
script on a 16x16 image, to be compared with the bound the budget promises:
decoded image + output + budget.

Targets: strips cost at most 10 % more time than the whole image (median ratio
<= 1.10), and the budget run's peak beyond start-up stays within that bound.
"""

from __future__ import annotations

import argparse
import compileall
import statistics
import sys
import tempfile
from pathlib import Path

from PIL import Image
from processes import paired, peak_memory

REPOSITORY = Path(__file__).resolve().parent.parent
TIME_TARGET = 1.10

SCRIPT = """
import sys
from convfx import render
source, target, effect, budget = sys.argv[1:5]
options = dict(render=render.filter_and_map) if budget == "whole" else dict(memory_budget=int(budget))
render.render_file(source, target, effect, overwrite=True, **options)
"""


def parse_size(text: str) -> int:
    from convfx.batch import parse_byte_size

    return parse_byte_size(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--size", default="6000x4000", help="WIDTHxHEIGHT of the test photo")
    parser.add_argument("--budget", default="64MB")
    parser.add_argument("--effects", default="sobel,kirsch")
    arguments = parser.parse_args(argv)
    width, height = (int(side) for side in arguments.size.lower().split("x"))
    budget = parse_size(arguments.budget)
    import convfx
    from convfx.render import DEFAULT_MEMORY_BUDGET

    compileall.compile_dir(Path(convfx.__file__).parent, quiet=1)  # as after `pip install`
    decoded = output = width * height * 3
    print(
        f"{width}x{height} RGB JPEG ({width * height / 1e6:.0f} MP): decoded {decoded / 2**20:.0f} MiB, output {output / 2**20:.0f} MiB; "
        f"budget {arguments.budget}; {arguments.rounds} rounds, each run a fresh process"
    )
    print(
        f"command: python benchmarks/bench_memory.py --rounds {arguments.rounds} --size {width}x{height} "
        f"--budget {arguments.budget} --effects {arguments.effects}\n"
    )
    print(
        "| effect | run | wall s min | wall s median | / whole, per round (median) | peak RSS MiB | beyond start-up MiB | bound MiB |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    verdicts = []
    with tempfile.TemporaryDirectory(prefix="convfx-bench-memory-") as temporary:
        root = Path(temporary)
        photo, tiny = root / "photo.jpg", root / "tiny.jpg"
        with Image.open(REPOSITORY / "samples" / "astronaut.jpg") as opened:
            image = opened.convert("RGB")
        image.resize((width, height), Image.LANCZOS).save(photo, quality=90)
        image.resize((16, 16)).save(tiny, quality=90)
        script = root / "render_one.py"
        script.write_text(SCRIPT)
        for effect in arguments.effects.split(","):
            variants = {"whole": "whole", "budget": str(budget), "default": str(DEFAULT_MEMORY_BUDGET)}
            commands = {name: [sys.executable, str(script), str(photo), str(root / f"{name}.png"), effect, value]
                        for name, value in variants.items()}  # fmt: skip
            baseline = peak_memory([sys.executable, str(script), str(tiny), str(root / "tiny.png"), effect, "whole"])
            results = paired(commands, arguments.rounds)
            peaks = {name: peak_memory(command) for name, command in commands.items()}
            same = all((root / f"{name}.png").read_bytes() == (root / "whole.png").read_bytes() for name in commands)
            for name, seconds in results.items():
                ratios = [ours / whole for ours, whole in zip(seconds, results["whole"])]
                bound = decoded + output + (int(variants[name]) if name != "whole" else 0)
                beyond = peaks[name] - baseline
                shown_bound = f"{bound / 2**20:.0f}" if name != "whole" else ""
                ratio = f"{statistics.median(ratios):.3f} ({min(ratios):.3f}..{max(ratios):.3f})" if name != "whole" else ""
                print(f"| {effect} | {name} | {min(seconds):.2f} | {statistics.median(seconds):.2f} | {ratio} | "
                      f"{peaks[name] / 2**20:.0f} | {beyond / 2**20:.0f} | {shown_bound} |")  # fmt: skip
                if name == "budget":
                    verdicts.append((effect, statistics.median(ratios) <= TIME_TARGET, beyond <= bound, same))
    print()
    for effect, fast, bounded, same in verdicts:
        print(
            f"{effect}: strips/whole <= {TIME_TARGET}: {'met' if fast else 'MISSED'}; "
            f"peak within image + output + budget: {'met' if bounded else 'MISSED'}; same bytes as whole: {same}"
        )
    return 0 if all(all(v[1:]) for v in verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
