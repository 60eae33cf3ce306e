"""Timing and peak memory of child processes, for the benchmarks that run whole programs.

``ru_maxrss`` of a child also counts the parent's memory at the fork (Linux keeps
the larger of the two), so a child's own peak is read from ``/proc/self/status``
(``VmHWM``) as it exits, by a small wrapper that runs the real program.  The
wrapper runs in separate, untimed runs.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from pathlib import Path

# Runs ``python ARGS...`` (a script, or -m module), then writes its peak resident
# memory (VmHWM, kB) to the file named by CONVFX_PEAK_FILE.
PEAK_WRAPPER = """
import atexit, os, runpy, sys


def report():
    with open("/proc/self/status") as status:
        peak = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    with open(os.environ["CONVFX_PEAK_FILE"], "w") as out:
        out.write(peak)


atexit.register(report)
sys.argv = sys.argv[1:]
if sys.argv[0] == "-m":
    sys.argv = sys.argv[1:]
    runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)
else:
    runpy.run_path(sys.argv[0], run_name="__main__")
"""


def run(command: list[str], env: dict[str, str] | None = None) -> float:
    """Wall seconds of one child process, from spawn to exit; a failure stops the benchmark."""
    started = time.perf_counter()
    done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr.decode()}")
    return seconds


def peak_memory(command: list[str]) -> int:
    """Peak RSS in bytes of ``command`` (``[python, script or -m module, args...]``), as the process saw it."""
    with tempfile.NamedTemporaryFile(prefix="convfx-peak-") as peak_file:
        run([command[0], "-c", PEAK_WRAPPER, *command[1:]], env=dict(os.environ, CONVFX_PEAK_FILE=peak_file.name))
        return int(Path(peak_file.name).read_text()) * 1024


def paired(commands: dict[str, list[str]], rounds: int) -> dict[str, list[float]]:
    """Every command once per round, the order alternating; ``{name: [seconds, ...]}``.

    One untimed run of each first warms the page cache and the bytecode.  Ratios
    between the commands are meant to be taken within a round, where a burst of
    other load on a shared machine hits both.
    """
    results: dict[str, list[float]] = {name: [] for name in commands}
    names = list(commands)
    for name in names:
        run(commands[name])
    for index in range(rounds):
        for name in names if index % 2 == 0 else names[::-1]:
            results[name].append(run(commands[name]))
    return results
