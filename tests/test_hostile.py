"""Hostile inputs: files and arguments built to break convfx, and what it must do with them.

Every promise the README makes about bad input is held here, one row per input:
one ``convfx: error: ...`` line naming the file or parameter, never a traceback;
exit 2 for a usage error, 1 for a file that failed, 130 for an interruption;
nothing half-written; inputs never modified; bounded memory and time.

The tables drive the command line through ``python -m convfx`` in a subprocess of
its own session, with a timeout and an address-space limit, so that a regression
can neither hang the suite nor take the machine down; the process group is killed
afterwards, so no worker is left behind.  Python-API rows call the top-level
``convfx.*`` names (in a limited subprocess where the call could allocate).

Rows marked ``xfail(strict=True)`` are findings that today's code still gets
wrong: each fix flips its row to a pass, which strict mode reports, and the
fixer removes the mark.  Unmarked rows guard what already holds.

Adding a case is adding a row: a builder that makes the files in a temporary
folder and returns their names, the argv with those names in braces, the exit
code and a regex for the error line.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import hashlib
import json
import os
import re
import resource
import shutil
import signal
import struct
import subprocess
import sys
import textwrap
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import convfx

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
README = Path(__file__).resolve().parent.parent / "README.md"

MB = 1_000_000
GB = 1_000_000_000
#: Address space a subprocess may use unless its row says otherwise: enough for
#: every legitimate case below (python + numpy + OpenCV reserve about 0.6 GB),
#: too little for any of the bombs to succeed.
ADDRESS_SPACE = int(2.5 * GB)
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0

# Process groups, /proc, rlimits, FIFOs and glibc's malloc, as on Linux.
pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs Linux")


# --------------------------------------------------------------------------- names that may move
# The few library names below the top level that the corpus needs, one place each.


def output_ranges() -> tuple[str, ...]:
    """Every ``--range`` value convfx accepts."""
    from convfx.ranges import OUTPUT_RANGES

    return tuple(OUTPUT_RANGES)


def detector_names() -> list[str]:
    """The registered detectors (``canny``, ``marr_hildreth``)."""
    from convfx.steps import list_detectors

    return [detector.name for detector in list_detectors()]


def strip_halo(effect: str) -> int | None:
    """Rows of context a horizontal strip of ``effect`` needs, or None if it is never filtered in strips."""
    from convfx.render import tile_halo, tileable

    return tile_halo(effect) if tileable(effect) else None


# --------------------------------------------------------------------------- running the CLI


@dataclass
class Run:
    """What one ``python -m convfx`` run did."""

    code: int
    stdout: str
    stderr: str
    seconds: float
    max_rss_mb: float  # peak resident memory of the main process
    timed_out: bool

    @property
    def lines(self) -> list[str]:
        """The non-empty lines of stderr."""
        return [line for line in self.stderr.splitlines() if line.strip()]


_PR_CAPBSET_DROP = 24
_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH = 1, 2
_NO_CAPABILITY_EXIT = 97  # the child could not drop them: the row is skipped


def _limits(address_space: int, drop_dac: bool) -> Callable[[], None]:
    """The child's set-up between fork and exec: a memory limit, and for root no file-permission override."""

    def prepare() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))
        if drop_dac:
            # root reads every file whatever its mode: drop that power from the
            # capability bounding set, so the exec'd python has it no longer.
            libc = ctypes.CDLL(None, use_errno=True)
            for capability in (_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH):
                if libc.prctl(_PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
                    os._exit(_NO_CAPABILITY_EXIT)

    return prepare


def _environment() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("CONVFX_", "PYTEST_"))}
    env.update(COLUMNS="200", NO_COLOR="1", TERM="dumb", PYTHONDONTWRITEBYTECODE="1")
    return env


@contextlib.contextmanager
def fifo_writer(path: Path) -> Iterator[None]:
    """While the block runs, end at once any read of the FIFO ``path``.

    A writer that opens and closes the FIFO whenever a reader is waiting: the
    reader gets end-of-file instead of waiting forever, so a program that opens
    a FIFO fails at once with whatever it says about an empty stream, and one
    that refuses FIFOs never sees the writer.
    """
    stop = threading.Event()

    def feed() -> None:
        while not stop.is_set():
            try:
                descriptor = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
            except OSError as error:
                if error.errno != errno.ENXIO:  # ENXIO: no reader yet
                    return
                time.sleep(0.01)
                continue
            os.close(descriptor)
            time.sleep(0.01)

    thread = threading.Thread(target=feed, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def _kill_group(group: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, signal.SIGKILL)


def live_group_members(group: int) -> list[int]:
    """Processes of process group ``group`` that are still running (zombies excluded)."""
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[2]) == group and fields[0] != "Z":
            members.append(int(entry))
    return members


def _peak_memory_mb(pid: int) -> float | None:
    """The peak resident memory of ``python -m convfx`` running as ``pid`` (VmHWM), None before its exec.

    Not the ``rusage`` of ``wait4``: that counts the pages a forked child shares
    with this (large) test process before it executes python.  VmHWM belongs to
    the program's own memory map and only grows, so reading it now and then
    while the program runs catches the peak, however short, unless it comes in
    the last milliseconds before exit.
    """
    try:
        if Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[1:3] != [b"-m", b"convfx"]:
            return None
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        pass
    return None


class Started:
    """A ``python -m convfx`` process in a session (process group) of its own.

    Its output goes to files, not pipes: a leftover worker holding a pipe would
    keep a reader waiting forever.  ``finish`` waits with a timeout and watches
    the peak memory; ``kill`` ends the whole group.
    """

    def __init__(self, argv: Sequence[str], *, cwd: Path, address_space: int = ADDRESS_SPACE, drop_dac: bool = False):
        # Open for the child's whole life; close() shuts them.
        self._out = open(cwd / f".stdout.{id(self)}", "w+", encoding="utf-8", errors="replace")  # noqa: SIM115
        self._err = open(cwd / f".stderr.{id(self)}", "w+", encoding="utf-8", errors="replace")  # noqa: SIM115
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "convfx", *map(str, argv)],
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=self._out,
            stderr=self._err,
            env=_environment(),
            start_new_session=True,
            preexec_fn=_limits(address_space, drop_dac),
        )
        self.group = self.process.pid
        self.drop_dac = drop_dac

    def finish(self, timeout: float, *, kill_group: bool = True) -> Run:
        """Wait for the process (killing its group after ``timeout``); then, unless
        ``kill_group`` is false, kill whatever is left of its group."""
        timed_out = False
        peak = 0.0
        try:
            while True:
                pid, status = os.waitpid(self.process.pid, os.WNOHANG)
                if pid:
                    break
                peak = max(peak, _peak_memory_mb(self.process.pid) or 0.0)
                if time.monotonic() - self.started > timeout:
                    timed_out = True
                    _kill_group(self.group)
                    pid, status = os.waitpid(self.process.pid, 0)
                    break
                time.sleep(0.002)
        finally:
            if kill_group or timed_out:
                _kill_group(self.group)  # nothing of this run outlives the test
        seconds = time.monotonic() - self.started
        self.process.returncode = code = os.waitstatus_to_exitcode(status)
        outputs = []
        for stream in (self._out, self._err):
            stream.seek(0)
            outputs.append(stream.read())
            stream.close()
            os.unlink(stream.name)
        if self.drop_dac and code == _NO_CAPABILITY_EXIT:
            pytest.skip("cannot drop root's file-permission override here (no CAP_SETPCAP)")
        return Run(code, outputs[0], outputs[1], seconds, peak, timed_out)

    def kill(self) -> None:
        _kill_group(self.group)


def run_cli(argv: Sequence[str], *, cwd: Path, timeout: float = 60, **options) -> Run:
    """Run ``python -m convfx *argv`` to completion (or ``timeout``), limited and in its own group."""
    return Started(argv, cwd=cwd, **options).finish(timeout)


@pytest.fixture(scope="module")
def startup(tmp_path_factory) -> float:
    """Seconds ``python -m convfx`` takes to refuse a missing file: the floor under every timed row."""
    folder = tmp_path_factory.mktemp("startup")
    runs = [run_cli(["apply", "sobel", "missing.png"], cwd=folder).seconds for _ in range(2)]
    return min(runs)


# --------------------------------------------------------------------------- building hostile files


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_photo(path: Path, *, shape: tuple[int, ...] = (48, 64, 3), seed: int = 0, dtype=np.uint8) -> Path:
    """A small seeded image with smooth structure plus noise, in any format by suffix."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0 : shape[0], 0 : shape[1]]
    top = np.iinfo(dtype).max
    base = (rows / shape[0] + cols / shape[1]) / 2 * top
    if len(shape) == 3:
        base = np.stack([base, base[::-1], base[:, ::-1]][: shape[2]], axis=-1)
    pixels = np.clip(base + rng.normal(0, top / 20, base.shape), 0, top).astype(dtype)
    path.parent.mkdir(parents=True, exist_ok=True)
    convfx.write_image(path, pixels, overwrite=True)
    return path


def raw_deflate(prefix: bytes, fill: bytes, count: int, suffix: bytes = b"") -> tuple[bytes, int, int]:
    """Raw deflate data of ``prefix + fill * count + suffix``, its CRC-32 and its length.

    A full flush restarts the compressor, so every copy of ``fill`` compresses to
    the same bytes: gigabytes of it cost one compression and a repeat.
    """
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = compressor.compress(prefix) + compressor.flush(zlib.Z_FULL_FLUSH)
    block = compressor.compress(fill) + compressor.flush(zlib.Z_FULL_FLUSH)
    tail = compressor.compress(suffix) + compressor.flush()
    crc = zlib.crc32(prefix)
    for _ in range(count):
        crc = zlib.crc32(fill, crc)
    crc = zlib.crc32(suffix, crc)
    return head + block * count + tail, crc & 0xFFFFFFFF, len(prefix) + len(fill) * count + len(suffix)


def write_zip(path: Path, members: dict[str, tuple[bytes, int, int]]) -> Path:
    """A zip archive (an ``.npz``) of already deflated members ``name -> raw_deflate(...)``."""
    body, central = bytearray(), bytearray()
    for name, (data, crc, size) in members.items():
        encoded, offset = name.encode(), len(body)
        body += struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 8, 0, 0x21, crc, len(data), size, len(encoded), 0)
        body += encoded + data
        central += struct.pack(
            "<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, 8, 0, 0x21, crc, len(data), size, len(encoded), 0, 0, 0, 0, 0, offset
        )
        central += encoded
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(members), len(members), len(central), len(body), 0)
    path.write_bytes(bytes(body + central + end))
    return path


def npy_header(descr: str, shape: tuple[int, ...]) -> bytes:
    """A format 1.0 ``.npy`` header (magic included)."""
    text = repr({"descr": descr, "fortran_order": False, "shape": shape})
    padding = 64 - (10 + len(text) + 1) % 64
    text = text + " " * padding + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text.encode()


def save_model(path: Path, **changes: np.ndarray) -> Path:
    """A freshly initialised LeNet saved to ``path``, with some arrays replaced or added."""
    buffer = path.with_suffix(".base.npz")
    convfx.LeNet(1, 10, seed=0).save(buffer, overwrite=True)
    with np.load(buffer) as loaded:
        arrays = {key: loaded[key] for key in loaded.files}
    buffer.unlink()
    arrays.update(changes)
    np.savez(path, **arrays)
    return path


def png_with_chunk(path: Path, tag: bytes, data: bytes) -> Path:
    """A small valid PNG with an extra chunk right after its header."""
    write_photo(path, shape=(16, 16, 3))
    png = path.read_bytes()
    chunk = struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)
    path.write_bytes(png[:33] + chunk + png[33:])  # signature (8) + IHDR (25)
    return path


def png_header_only(width: int, height: int) -> bytes:
    """A valid PNG header claiming ``width`` x ``height`` RGB pixels, with almost no data."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def idx_labels(path: Path, count: int) -> None:
    path.write_bytes(bytes([0, 0, 8, 1]) + struct.pack(">I", count) + bytes(i % 2 for i in range(count)))


# --------------------------------------------------------------------------- builders
# Each makes its files under the test's folder and returns the names the argv uses.


def b_photo(tmp: Path) -> dict[str, Path]:
    return {"img": write_photo(tmp / "photo.png"), "out": tmp / "out.png"}


def b_batch_input_file_is_an_output(tmp: Path) -> dict[str, Path]:
    source = write_photo(tmp / "in" / "a.jpg")
    victim = tmp / "out" / "a_sobel.png"
    victim.parent.mkdir()
    shutil.copy(SAMPLES / "camera.png", victim)
    return {"a": source, "victim": victim, "out": tmp / "out"}


def b_batch_input_file_is_an_output_after_a_run(tmp: Path) -> dict[str, Path]:
    names = b_batch_input_file_is_an_output(tmp)
    names["victim"].unlink()
    first = run_cli(["batch", "sobel", names["a"], "-o", names["out"], "--quiet", "--workers", "1"], cwd=tmp)
    assert first.code == 0, first.stderr
    shutil.copy(SAMPLES / "camera.png", names["victim"])  # the user edits the output and uses it as a source
    later = time.time() + 10
    os.utime(names["a"], (later, later))  # ... and touches the first source, so it is redone
    return names


def b_fifo(name: str) -> Callable[[Path], dict[str, Path]]:
    def build(tmp: Path) -> dict[str, Path]:
        os.mkfifo(tmp / name)
        return {"fifo": tmp / name, "img": write_photo(tmp / "photo.png"), "out": tmp / "out.png"}

    return build


def b_manifest(kind: str) -> Callable[[Path], dict[str, Path]]:
    """A folder of one image and an OUTDIR whose manifest is ``kind``."""

    def build(tmp: Path) -> dict[str, Path]:
        write_photo(tmp / "in" / "a.png")
        manifest = tmp / "out" / "convfx-manifest.json"
        manifest.parent.mkdir()
        if kind == "fifo":
            os.mkfifo(manifest)
        elif kind == "dev_zero":
            manifest.symlink_to("/dev/zero")
        elif kind == "sparse":
            with open(manifest, "wb") as stream:
                stream.truncate(150 * MB)  # a hole: no disk used, 150 MB when read
        elif kind == "nested":
            manifest.write_text("[" * 100_000 + "]" * 100_000)
        elif kind == "garbage":
            manifest.write_text('{"convfx_manifest": 1, "files": [1, 2')
        return {"in": tmp / "in", "out": tmp / "out", "manifest": manifest, "fifo": manifest}

    return build


def b_npz_v3_header(tmp: Path) -> dict[str, Path]:
    """A 0.1 MB ``.npz`` whose member has a format-3.0 header 100 MiB long (its length field allows 4 GiB)."""
    text = b"{'descr': '<f8', 'fortran_order': False, 'shape': (3, 3), }"
    pad, count = b" " * 2**20, 100
    prefix = b"\x93NUMPY\x03\x00" + struct.pack("<I", len(text) + len(pad) * count + 1) + text
    member = raw_deflate(prefix, pad, count, b"\n" + np.ones((3, 3)).tobytes())
    return {"kernel": write_zip(tmp / "k.npz", {"k.npy": member}), "img": write_photo(tmp / "photo.png"), "out": tmp / "out.png"}


def b_npz_void_items(tmp: Path) -> dict[str, Path]:
    """A small ``.npz`` of 255 x 255 items of 2 kB each: within the value count, 130 MB decoded."""
    row = bytes(2000 * 255)
    member = raw_deflate(npy_header("|V2000", (255, 255)), row, 255)
    return {"kernel": write_zip(tmp / "k.npz", {"k.npy": member}), "img": write_photo(tmp / "photo.png"), "out": tmp / "out.png"}


def b_idx_gzip_bomb(tmp: Path) -> dict[str, Path]:
    """A gzipped IDX data set whose 150 MB of images inflate from a few hundred kB."""
    folder = tmp / "mnist"
    folder.mkdir()
    count = 192 * 1000
    header = bytes([0, 0, 8, 3]) + struct.pack(">3I", count, 28, 28)
    data, crc, size = raw_deflate(header, bytes(28 * 28 * 1000), 192)
    (folder / "train-images-idx3-ubyte.gz").write_bytes(
        b"\x1f\x8b\x08\x00\0\0\0\0\x00\xff" + data + struct.pack("<2L", crc, size & 0xFFFFFFFF)
    )
    idx_labels(folder / "train-labels-idx1-ubyte", count)
    (folder / "t10k-images-idx3-ubyte").write_bytes(bytes([0, 0, 8, 3]) + struct.pack(">3I", 2, 28, 28) + bytes(2 * 784))
    idx_labels(folder / "t10k-labels-idx1-ubyte", 2)
    return {"data": folder, "model": tmp / "model.npz"}


def b_idx_wrapping_dimensions(tmp: Path) -> dict[str, Path]:
    """An IDX header of four 65536 sides: their product, 2**64, wraps to 0 in int64."""
    folder = tmp / "mnist"
    folder.mkdir()
    (folder / "train-images-idx3-ubyte").write_bytes(bytes([0, 0, 8, 4]) + struct.pack(">4I", *[65536] * 4))
    idx_labels(folder / "train-labels-idx1-ubyte", 2)
    (folder / "t10k-images-idx3-ubyte").write_bytes(bytes([0, 0, 8, 3]) + struct.pack(">3I", 2, 28, 28) + bytes(2 * 784))
    idx_labels(folder / "t10k-labels-idx1-ubyte", 2)
    return {"data": folder, "model": tmp / "model.npz"}


def b_many_kernels(count: int, side: int) -> Callable[[Path], dict[str, Path]]:
    """A tiny compressed model file whose conv1 has ``count`` kernels of ``side`` x ``side``."""

    def build(tmp: Path) -> dict[str, Path]:
        model = tmp / "m.npz"
        np.savez_compressed(model, **{"conv1.weight": np.ones((count, 1, side, side), np.float32)})
        return {"model": model, "img": write_photo(tmp / "photo.png"), "out": tmp / "out.png"}

    return build


def b_large_png(side: int) -> Callable[[Path], dict[str, Path]]:
    """A legal, highly compressible ``side`` x ``side`` RGB PNG (a few tens of kB)."""

    def build(tmp: Path) -> dict[str, Path]:
        pixels = np.zeros((side, side, 3), np.uint8)
        pixels[::50] = 255
        Image.fromarray(pixels).save(tmp / "large.png", optimize=True)
        return {"img": tmp / "large.png", "out": tmp / "out.png"}

    return build


def b_jpeg_with_sparse_tail(tmp: Path) -> dict[str, Path]:
    """An 8x8 JPEG followed by a 3 GB hole (no disk used)."""
    path = tmp / "tiny.jpg"
    Image.fromarray(np.full((8, 8, 3), 100, np.uint8)).save(path)
    with open(path, "r+b") as stream:
        stream.truncate(3 * GB)
    return {"img": path, "out": tmp / "out.png"}


def b_kernel_text(name: str, text: str) -> Callable[[Path], dict[str, Path]]:
    def build(tmp: Path) -> dict[str, Path]:
        (tmp / name).write_text(text)
        return {"kernel": tmp / name, "img": write_photo(tmp / "photo.png"), "out": tmp / "out.png"}

    return build


def b_many_tables(tmp: Path) -> dict[str, Path]:
    """A 0.2 MB TOML bank of 10,000 one-tap filters."""
    (tmp / "many.toml").write_text("".join(f"[k{i}]\nmatrix = [[1]]\n" for i in range(10_000)))
    return {"kernel": tmp / "many.toml", "img": write_photo(tmp / "photo.png"), "out": tmp / "out.png"}


def b_exif_png(tmp: Path) -> dict[str, Path]:
    return {"img": png_with_chunk(tmp / "exif.png", b"eXIf", b"MM\0*"), "out": tmp / "out.png"}


def b_exif_webp(tmp: Path) -> dict[str, Path]:
    path = tmp / "exif.webp"
    Image.fromarray(np.full((16, 16, 3), 90, np.uint8)).save(path, exif=b"MM\0*")
    return {"img": path, "out": tmp / "out.png"}


def b_dataset(kind: str) -> Callable[[Path], dict[str, Path]]:
    """An image-folder data set of two classes, two images each, plus one hostile member."""

    def build(tmp: Path) -> dict[str, Path]:
        root = tmp / "data"
        for label in ("a", "b"):
            for i in range(2):
                write_photo(root / label / f"{i}.png", shape=(16, 16, 3), seed=i + (label == "b") * 10)
        if kind == "exif":
            png_with_chunk(root / "a" / "x.png", b"eXIf", b"MM\0*")
        elif kind == "locked_class":
            locked = root / "c"
            write_photo(locked / "0.png", shape=(16, 16, 3))
            write_photo(locked / "1.png", shape=(16, 16, 3), seed=1)
            locked.chmod(0)
        return {"data": root, "model": tmp / "model.npz"}

    return build


def b_model(**changes) -> Callable[[Path], dict[str, Path]]:
    """A LeNet file with some arrays replaced, and a tiny 10-class image folder to evaluate it on."""

    def build(tmp: Path) -> dict[str, Path]:
        for label in range(10):
            for i in range(2):
                write_photo(tmp / "data" / str(label) / f"{i}.png", shape=(16, 16), seed=10 * label + i)
        return {"model": save_model(tmp / "m.npz", **changes), "out": tmp / "out.png", "data": tmp / "data"}

    return build


def b_truncated_jpeg_with_end_marker(tmp: Path) -> dict[str, Path]:
    """A JPEG with the second half of its scan data cut and an end-of-image marker appended."""
    full = write_photo(tmp / "full.jpg", shape=(192, 256, 3))
    data = full.read_bytes()
    full.unlink()
    (tmp / "cut.jpg").write_bytes(data[: len(data) // 2] + b"\xff\xd9")
    return {"img": tmp / "cut.jpg", "out": tmp / "out.png"}


def b_locked_image(tmp: Path) -> dict[str, Path]:
    path = write_photo(tmp / "locked.png")
    path.chmod(0)
    return {"img": path, "out": tmp / "out.png", "outdir": tmp / "outdir"}


def b_folder_of_photos(count: int, shape: tuple[int, ...] = (48, 64, 3)) -> Callable[[Path], dict[str, Path]]:
    def build(tmp: Path) -> dict[str, Path]:
        for i in range(count):
            write_photo(tmp / "in" / f"p{i:02d}.png", shape=shape, seed=i)
        return {"in": tmp / "in", "out": tmp / "out"}

    return build


def b_empty_folder(tmp: Path) -> dict[str, Path]:
    (tmp / "in").mkdir()
    (tmp / "in" / "notes.txt").write_text("no images here\n")
    return {"in": tmp / "in", "out": tmp / "out"}


def b_rgba(tmp: Path) -> dict[str, Path]:
    pixels = np.zeros((32, 32, 4), np.uint8)
    pixels[..., 0] = np.arange(32) * 8
    pixels[..., 3] = 128
    Image.fromarray(pixels, "RGBA").save(tmp / "rgba.png")
    return {"img": tmp / "rgba.png", "out": tmp / "out.jpg"}


def b_dev_zero_image(tmp: Path) -> dict[str, Path]:
    (tmp / "zero.png").symlink_to("/dev/zero")
    return {"img": tmp / "zero.png", "out": tmp / "out.png"}


def b_pickled_kernel(tmp: Path) -> dict[str, Path]:
    np.save(tmp / "k.npy", np.array([[1, 2], [3, {"x": 1}]], dtype=object), allow_pickle=True)
    return {"kernel": tmp / "k.npy", "img": write_photo(tmp / "photo.png"), "out": tmp / "out.png"}


def b_malformed_safetensors(tmp: Path) -> dict[str, Path]:
    header = b'{"conv1.weight": {"dtype": "F32", "shape": [6, 1, 5, 5], "data_offsets": [0, 99999]}}'
    (tmp / "m.safetensors").write_bytes(struct.pack("<Q", len(header)) + header + b"\0" * 16)
    return {"model": tmp / "m.safetensors", "out": tmp / "out.png"}


def b_png_bomb(tmp: Path) -> dict[str, Path]:
    (tmp / "bomb.png").write_bytes(png_header_only(100_000, 100_000))
    return {"img": tmp / "bomb.png", "out": tmp / "out.png"}


def b_outdir_inside_input(tmp: Path) -> dict[str, Path]:
    write_photo(tmp / "in" / "a.png")
    return {"in": tmp / "in", "out": tmp / "in" / "edges"}


# --------------------------------------------------------------------------- the CLI table


@dataclass(frozen=True)
class Case:
    """One hostile command line and what convfx must do with it.

    ``argv`` items may name the builder's files in braces (``{img}``).  ``code`` is
    the exit code, or the codes a fix may choose between.  ``message`` is a regex
    (case-insensitive) the one error line must match, after ``convfx: error: `` (or
    ``convfx: failed: `` for a file a batch reports); for a run that succeeds it is
    a warning that stderr must hold.  ``strict``: stderr holds that one line and
    nothing else.  ``unchanged``: files that must be byte-identical afterwards;
    ``absent``: files that must not exist.  ``max_rss_mb``: peak resident memory;
    ``max_extra_seconds``: time beyond twice the start-up of ``python -m convfx``
    (a run that takes longer is killed and fails as a hang).  ``fifo`` names a
    FIFO that a writer keeps ending reads of (:func:`fifo_writer`): the run must
    refuse it by its type, not wait on it.
    """

    id: str
    build: Callable[[Path], dict[str, Path]]
    argv: tuple[str, ...]
    code: int | tuple[int, ...]
    message: str | None = None
    strict: bool = True
    unchanged: tuple[str, ...] = ()
    absent: tuple[str, ...] = ()
    address_space: int = ADDRESS_SPACE
    max_rss_mb: float | None = None
    max_extra_seconds: float | None = None
    max_line: int | None = None
    drop_dac: bool = False
    fifo: str | None = None
    xfail: str | None = None
    slow: bool = False


SPACES = " " * 12_000
#: What a refusal of a FIFO says about it (images say "empty file (0 bytes)", which also holds).
FIFO_WORDS = r"(fifo|pipe|not a (regular )?file|special|empty)"  # quadratic backtracking: seconds today, nothing once lengths are checked first

CASES = [
    # ---- 1. an input overwritten
    Case(
        "batch-input-file-that-is-also-an-output--force",
        b_batch_input_file_is_an_output,
        ("batch", "sobel", "{a}", "{victim}", "-o", "{out}", "--force", "--workers", "1", "--quiet"),
        2,
        r"a_sobel\.png.*input|input.*a_sobel\.png",
        unchanged=("victim",),
    ),
    Case(
        "batch-input-file-that-is-also-an-output-after-a-first-run",
        b_batch_input_file_is_an_output_after_a_run,
        ("batch", "sobel", "{a}", "{victim}", "-o", "{out}", "--workers", "1", "--quiet"),
        2,
        r"a_sobel\.png.*input|input.*a_sobel\.png",
        unchanged=("victim",),
        slow=True,
    ),
    # ---- 4. hangs on FIFOs (images and kernel files already refuse them: held rows below)
    *[
        Case(
            f"{label}-is-a-fifo",
            build,
            argv,
            code,
            rf"{name}: .*{FIFO_WORDS}",
            absent=() if label.startswith("batch") else ("out",),  # a batch's {out} is its OUTDIR
            max_extra_seconds=3,
            fifo="fifo",
        )
        for label, build, argv, code, name in (
            # A MODEL named on the command line that is not a regular file: a usage error, as for an image.
            ("compare-model", b_fifo("m.npz"), ("compare", "{fifo}", "-o", "{out}"), 2, r"m\.npz"),
            ("compare-safetensors", b_fifo("m.safetensors"), ("compare", "{fifo}", "-o", "{out}"), 2, r"m\.safetensors"),
            ("apply-learned-model", b_fifo("m.npz"), ("apply", "learned:{fifo}", "{img}", "-o", "{out}"), 2, r"m\.npz"),
            (
                "batch-manifest",
                b_manifest("fifo"),
                ("batch", "sobel", "{in}", "-o", "{out}", "--workers", "1", "--quiet"),
                1,
                r"convfx-manifest\.json",
            ),
        )
    ],
    # ---- 5. memory bombs past the guards
    Case(
        "kernel-npz-with-a-100MiB-format-3-header",
        b_npz_v3_header,
        ("apply", "{kernel}", "{img}", "-o", "{out}"),
        2,
        r"k\.npz",
        absent=("out",),
        max_rss_mb=150,
        slow=True,
    ),
    Case(
        "kernel-npz-of-255x255-void-items-of-2kB",
        b_npz_void_items,
        ("apply", "{kernel}", "{img}", "-o", "{out}"),
        2,
        r"k\.npz",
        absent=("out",),
        max_rss_mb=150,
        slow=True,
    ),
    Case(
        "train-on-a-gzipped-idx-that-inflates-to-150MB",
        b_idx_gzip_bomb,
        ("train", "--dataset", "{data}", "--epochs", "1", "-o", "{model}"),
        1,
        r"train-images",
        absent=("model",),
        address_space=int(1.5 * GB),
        max_rss_mb=200,
        slow=True,
    ),
    Case(
        "apply-learned-model-with-100000-1x1-kernels",
        b_many_kernels(100_000, 1),
        ("apply", "learned:{model}", "{img}", "-o", "{out}"),
        2,
        r"m\.npz",
        absent=("out",),
    ),
    Case(
        "compare-model-with-20000-5x5-kernels",
        b_many_kernels(20_000, 5),
        ("compare", "{model}", "-o", "{out}"),
        1,
        r"m\.npz",
        absent=("out",),
    ),
    Case(
        "apply-kirsch-on-a-legal-2400x2400-png-within-1.6GB",
        b_large_png(2400),
        ("apply", "kirsch", "{img}", "-o", "{out}"),
        0,
        address_space=int(1.6 * GB),
        slow=True,
    ),
    Case(
        # Decoded: Pillow reads only as far as the image's end marker (the whole-file
        # fast path takes files no larger than about twice their pixels).
        "apply-an-8x8-jpeg-followed-by-a-3GB-hole",
        b_jpeg_with_sparse_tail,
        ("apply", "sobel", "{img}", "-o", "{out}"),
        0,
        address_space=2 * GB,
        max_rss_mb=200,
    ),
    Case(
        "batch-manifest-of-150MB",
        b_manifest("sparse"),
        ("batch", "sobel", "{in}", "-o", "{out}", "--workers", "1", "--quiet"),
        1,
        r"convfx-manifest\.json",
        max_rss_mb=200,
        slow=True,
    ),
    Case(
        "batch-manifest-symlinked-to-dev-zero",
        b_manifest("dev_zero"),
        ("batch", "sobel", "{in}", "-o", "{out}", "--workers", "1", "--quiet"),
        1,
        r"convfx-manifest\.json",
        address_space=1 * GB,
        max_rss_mb=200,
        slow=True,
    ),
    # ---- 6. tracebacks instead of one line
    Case(
        "json-kernel-with-an-integer-beyond-float-range",
        b_kernel_text("k.json", '{"k": {"matrix": [[1' + "0" * 400 + ", 1], [1, 1]]}}"),
        ("apply", "{kernel}", "{img}", "-o", "{out}"),
        2,
        r"k\.json",
        absent=("out",),
    ),
    Case(
        "toml-kernel-with-an-integer-beyond-float-range",
        b_kernel_text("k.toml", "[k]\nmatrix = [[1" + "0" * 400 + ", 1], [1, 1]]\n"),
        ("apply", "{kernel}", "{img}", "-o", "{out}"),
        2,
        r"k\.toml",
        absent=("out",),
    ),
    Case(
        "json-kernel-with-a-4400-digit-integer",
        b_kernel_text("k.json", '{"k": {"matrix": [[1' + "0" * 4400 + ", 1], [1, 1]]}}"),
        ("apply", "{kernel}", "{img}", "-o", "{out}"),
        2,
        r"k\.json",
        absent=("out",),
    ),
    Case(
        "json-kernel-nested-50000-deep",
        b_kernel_text("k.json", '{"k": {"matrix": ' + "[" * 50_000 + "]" * 50_000 + "}}"),
        ("apply", "{kernel}", "{img}", "-o", "{out}"),
        2,
        r"k\.json",
        absent=("out",),
    ),
    *[
        Case(
            f"apply-{effect.replace(':', '-').replace('=', '-')}",
            b_photo,
            ("apply", effect, "{img}", "-o", "{out}"),
            2,
            rf"(^|\W){parameter}\W",
            absent=("out",),
        )
        for effect, parameter in (
            ("gaussian_blur:sigma=1e308", "sigma"),
            ("log:sigma=1e308", "sigma"),
            ("dog:k=1e308", "k"),
            ("unsharp:sigma=1e308", "sigma"),
        )
    ],
    Case(
        "apply-a-30-step-chain-whose-default-output-name-is-too-long",
        b_photo,
        ("apply", ",".join(["gaussian_blur_3"] * 30), "{img}"),
        0,  # the effect's part of the name is cut to 100 characters and a hash
    ),
    Case(
        "apply-to-an-output-name-too-long-for-the-file-system",
        b_photo,
        ("apply", "sobel", "{img}", "-o", "x" * 300 + ".png"),
        1,
        r"x{50}.*name.*too long",
    ),
    # A damaged EXIF block says nothing about the pixels: they are read as stored
    # (orientation 1), exit 0, as viewers show such files.
    Case(
        "apply-png-with-an-exif-chunk-of-only-MM-0-star",
        b_exif_png,
        ("apply", "sobel", "{img}", "-o", "{out}"),
        0,
    ),
    Case(
        "apply-webp-with-an-exif-of-only-MM-0-star",
        b_exif_webp,
        ("apply", "sobel", "{img}", "-o", "{out}"),
        0,
    ),
    Case(
        "train-on-a-folder-holding-a-png-with-a-broken-exif",
        b_dataset("exif"),
        ("train", "--dataset", "{data}", "--epochs", "1", "-o", "{model}"),
        0,
    ),
    *[
        Case(
            f"{command}-model-with-a-0-d-class-names",
            b_model(**{"convfx.meta.class_names": np.array("zero")}),
            (command, "{model}", *extra),
            1,
            r"class_names",
        )
        for command, extra in (("compare", ("-o", "{out}")), ("evaluate", ("--dataset", "{data}")), ("summary", ()))
    ],
    Case(
        "train-on-idx-whose-dimensions-wrap-to-0",
        b_idx_wrapping_dimensions,
        ("train", "--dataset", "{data}", "--epochs", "1", "-o", "{model}"),
        1,
        r"train-images",
        absent=("model",),
    ),
    Case(
        "train-on-a-data-set-with-an-unreadable-class-folder",
        b_dataset("locked_class"),
        ("train", "--dataset", "{data}", "--epochs", "1", "-o", "{model}"),
        1,
        r"(permission|cannot read).*\bc\b|\bc\b.*(permission|cannot read)",
        absent=("model",),
        drop_dac=True,
    ),
    Case(
        "batch-manifest-nested-100000-deep",
        b_manifest("nested"),
        ("batch", "sobel", "{in}", "-o", "{out}", "--workers", "1", "--quiet"),
        1,
        r"convfx-manifest\.json",
    ),
    # ---- 7. quadratic regex backtracking
    Case(
        "apply-effect-parameter-with-12000-spaces",
        b_photo,
        ("apply", f"sobel:x=a{SPACES}b", "{img}", "-o", "{out}"),
        2,
        r"sobel",
        absent=("out",),
        max_extra_seconds=1.0,
        max_line=500,
        slow=True,
    ),
    Case(
        "batch-memory-budget-with-12000-spaces",
        b_folder_of_photos(1),
        ("batch", "sobel", "{in}", "-o", "{out}", "--memory-budget", f"1{SPACES}x", "--quiet"),
        2,
        r"memory.budget",
        max_extra_seconds=1.0,
        max_line=500,
        slow=True,
    ),
    # ---- 8. silent wrong results
    Case(
        "apply-jpeg-with-half-its-scan-cut-and-an-end-marker",
        b_truncated_jpeg_with_end_marker,
        ("apply", "sobel", "{img}", "-o", "{out}"),
        1,
        r"cut\.jpg.*(truncated|corrupt)",  # libjpeg's own warning is caught, not printed
        absent=("out",),
    ),
    Case(
        "evaluate-model-with-all-nan-fc1-weight",
        b_model(**{"fc1.weight": np.full((120, 400), np.nan, np.float32)}),
        ("evaluate", "{model}", "--dataset", "{data}"),
        1,
        r"fc1\.weight.*(nan|finite)|(nan|finite).*fc1\.weight",
        slow=True,
    ),
    # ---- 10. exit codes and noise
    Case(
        "apply-learned-missing-model",
        b_photo,
        ("apply", "learned:missing.npz", "{img}", "-o", "{out}"),
        2,
        r"missing\.npz",
        absent=("out",),
    ),
    Case(
        "apply-learned-image-as-model",
        b_photo,
        ("apply", "learned:{img}", "{img}", "-o", "{out}"),
        2,
        r"photo\.png",
        absent=("out",),
    ),
    Case(
        "apply-unreadable-input",
        b_locked_image,
        ("apply", "sobel", "{img}", "-o", "{out}"),
        1,
        r"locked\.png.*(permission|cannot read)",
        absent=("out",),
        drop_dac=True,
    ),
    Case(
        "batch-unreadable-input",
        b_locked_image,
        ("batch", "sobel", "{img}", "-o", "{outdir}", "--quiet"),
        1,
        r"locked\.png.*(permission|cannot read)",
        drop_dac=True,
    ),
    Case(
        "apply-log-sigma-1e-300-warns-nothing",
        b_photo,
        ("apply", "log:sigma=1e-300", "{img}", "-o", "{out}"),
        2,
        r"sigma",
        absent=("out",),
    ),
    # ---- 11. slow
    Case(
        "apply-toml-bank-of-10000-one-tap-tables",
        b_many_tables,
        ("apply", "{kernel}", "{img}", "-o", "{out}"),
        2,
        r"many\.toml",
        absent=("out",),
        max_extra_seconds=1.5,
        max_line=500,
        slow=True,
    ),
    # ---- silent outcomes (the "Why")
    Case(
        "batch-of-a-folder-without-images-says-so",
        b_empty_folder,
        ("batch", "sobel", "{in}", "-o", "{out}"),
        2,  # a usage error: the inputs hold nothing to render
        r"found no images in .*nothing to do",
        absent=("out",),
    ),
    Case(
        "apply-rgba-to-jpeg-warns-that-alpha-is-dropped",
        b_rgba,
        ("apply", "sobel", "{img}", "-o", "{out}"),
        0,
        r"alpha",
    ),
    # ---- what held: keep it that way
    Case(
        "held-fifo-as-image",
        b_fifo("fifo.png"),
        ("apply", "sobel", "{fifo}", "-o", "{out}"),
        2,  # an INPUT that is not a regular file is a usage error
        rf"fifo\.png: .*{FIFO_WORDS}",
        absent=("out",),
        max_extra_seconds=3,
        fifo="fifo",
    ),
    Case(
        "held-dev-zero-as-image",
        b_dev_zero_image,
        ("apply", "sobel", "{img}", "-o", "{out}"),
        2,  # a device named as INPUT: a usage error
        r"zero\.png",
        absent=("out",),
        max_rss_mb=200,
    ),
    Case(
        "held-fifo-as-kernel-file",
        b_fifo("k.npz"),
        ("apply", "{fifo}", "{img}", "-o", "{out}"),
        2,
        rf"k\.npz: .*{FIFO_WORDS}",
        absent=("out",),
        max_extra_seconds=3,
        fifo="fifo",
    ),
    Case(
        "held-pickled-npy-kernel",
        b_pickled_kernel,
        ("apply", "{kernel}", "{img}", "-o", "{out}"),
        2,
        r"k\.npy.*pickle",
        absent=("out",),
    ),
    Case(
        "held-malformed-safetensors",
        b_malformed_safetensors,
        ("compare", "{model}", "-o", "{out}"),
        1,
        r"m\.safetensors",
        absent=("out",),
    ),
    Case(
        "held-png-bomb-header",
        b_png_bomb,
        ("apply", "sobel", "{img}", "-o", "{out}"),
        1,
        r"bomb\.png.*limit",
        absent=("out",),
        max_rss_mb=200,
    ),
    Case(
        "held-damaged-manifest",
        b_manifest("garbage"),
        ("batch", "sobel", "{in}", "-o", "{out}", "--quiet"),
        1,
        r"convfx-manifest\.json",
        unchanged=("manifest",),
    ),
    Case(
        "held-outdir-inside-an-input-folder",
        b_outdir_inside_input,
        ("batch", "sobel", "{in}", "-o", "{out}", "--quiet"),
        2,
        r"edges",
        absent=("out",),
    ),
]


def _params(cases, *, slow=False):
    """The rows as pytest params; ``slow``: every row is (each starts a Python process of its own)."""
    for case in cases:
        marks = []
        if case.xfail:
            marks.append(pytest.mark.xfail(strict=True, reason=case.xfail))
        if case.slow or slow:
            marks.append(pytest.mark.slow)
        yield pytest.param(case, id=case.id, marks=marks)


def _format(argv: tuple[str, ...], names: dict[str, Path]) -> list[str]:
    return [item.format(**{key: str(value) for key, value in names.items()}) for item in argv]


#: Names a row's builder gives to what the run may write; everything else is input.
OUTPUT_NAMES = ("out", "outdir", "model")


def inputs_snapshot(names: dict[str, Path]) -> dict[Path, tuple]:
    """Every regular file a row's run may read (named, or inside a named folder) and its content.

    Large (sparse) files are compared by size and modification time, the rest by digest.
    """
    snapshot: dict[Path, tuple] = {}
    for key, path in names.items():
        if key in OUTPUT_NAMES:
            continue
        files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else []
        for file in files:
            info = file.stat()
            readable = info.st_size <= 64 * MB and os.access(file, os.R_OK)
            snapshot[file] = (info.st_size, info.st_mtime_ns, sha256(file) if readable else None)
    return snapshot


def check_one_line(run: Run, message: str | None, *, strict: bool = True, max_line: int | None = None) -> None:
    """The run failed with one ``convfx:`` line matching ``message``, and no traceback."""
    assert "Traceback" not in run.stderr, run.stderr[-2000:]
    reported = [line for line in run.lines if re.match(r"convfx: (error|failed): ", line)]
    assert reported, f"no 'convfx: error:' line; stderr: {run.stderr[-2000:]!r}"
    if strict:
        assert len(run.lines) == 1, f"expected one line on stderr, found {len(run.lines)}: {run.stderr[-2000:]!r}"
    line = reported[-1]
    if max_line is not None:
        assert len(line) <= max_line, f"the error line is {len(line)} characters long: {line[:300]!r}..."
    if message is not None:
        assert re.search(message, line, re.IGNORECASE), f"{line[:2000]!r} does not match {message!r}"


# Each row starts `python -m convfx` (about 0.7 s): the table runs in CI and in `pytest -q`,
# not in the quick loop, where tests/test_cli_*.py hold the same messages in-process.
@pytest.mark.parametrize("case", list(_params(CASES, slow=True)))
def test_hostile_command_line(case: Case, tmp_path: Path, startup: float) -> None:
    names = case.build(tmp_path)
    before = {key: sha256(names[key]) for key in case.unchanged}
    inputs = inputs_snapshot(names)
    # Twice the start-up: on a loaded machine one start-up varies by about that much.
    budget = None if case.max_extra_seconds is None else 2 * startup + case.max_extra_seconds
    with fifo_writer(names[case.fifo]) if case.fifo else contextlib.nullcontext():
        run = run_cli(
            _format(case.argv, names),
            cwd=tmp_path,
            timeout=60 if budget is None else budget,
            address_space=case.address_space,
            drop_dac=case.drop_dac and IS_ROOT,
        )
    assert not run.timed_out, f"still running after {run.seconds:.1f} s (a hang); stderr: {run.stderr[-1000:]!r}"
    codes = case.code if isinstance(case.code, tuple) else (case.code,)
    assert run.code in codes, f"exit {run.code}, expected {case.code}; stderr: {run.stderr[-2000:]!r}"
    if run.code == 0:
        assert "Traceback" not in run.stderr, run.stderr[-2000:]
        if case.message is not None and isinstance(case.code, int):
            warned = [line for line in run.lines if re.search(case.message, line, re.IGNORECASE)]
            assert warned, f"no line matching {case.message!r} on stderr: {run.stderr!r}"
            if case.strict:
                assert len(run.lines) == 1, run.stderr
    else:
        check_one_line(run, case.message, strict=case.strict, max_line=case.max_line)
    for key in case.unchanged:
        assert sha256(names[key]) == before[key], f"{names[key]} was modified"
    assert inputs_snapshot(names) == inputs, "an input file was modified"
    for key in case.absent if run.code != 0 else ():
        assert not names[key].exists(), f"{names[key]} was written by a run that failed"
    if case.max_rss_mb is not None:
        assert run.max_rss_mb <= case.max_rss_mb, f"peak memory {run.max_rss_mb:.0f} MB > {case.max_rss_mb} MB"
    if budget is not None:
        assert run.seconds <= budget, (
            f"{run.seconds:.2f} s > {budget:.2f} s (2 x start-up {startup:.2f} s + {case.max_extra_seconds})"
        )


# --------------------------------------------------------------------------- the Python-API table


@dataclass(frozen=True)
class ApiCase:
    """One hostile call of a top-level ``convfx`` function.

    ``call`` is an expression over ``np`` and ``convfx``.  Either it must raise a
    :class:`convfx.ConvfxError` whose message matches ``raises``, or its result
    must satisfy the expression ``returns`` (over ``result``).  ``isolated`` runs
    it in a memory-limited subprocess (it could allocate gigabytes); ``max_seconds``
    bounds the call itself.
    """

    id: str
    call: str
    raises: str | None = None
    returns: str | None = None
    isolated: bool = False
    max_seconds: float | None = None
    xfail: str | None = None
    slow: bool = False


API_CASES = [
    ApiCase(
        "correlate-big-endian-float64-stays-float64",
        "convfx.correlate(np.arange(64.0).reshape(8, 8).astype('>f8'), np.ones((3, 3)))",
        returns="result.dtype == np.float64",
    ),
    ApiCase(
        "convolve-big-endian-float64-stays-float64",
        "convfx.convolve(np.arange(64.0).reshape(8, 8).astype('>f8'), np.ones((3, 3)))",
        returns="result.dtype == np.float64",
    ),
    ApiCase(
        "correlate-padding-20000-on-16x16",
        "convfx.correlate(np.zeros((16, 16)), np.ones((3, 3)), padding=20000)",
        raises=r"padding",
        isolated=True,
    ),
    ApiCase(
        "correlate-padding-1e9",
        "convfx.correlate(np.zeros((16, 16)), np.ones((3, 3)), padding=10**9)",
        raises=r"padding",
        isolated=True,
    ),
    ApiCase(
        "correlate-dilation-1e6",
        "convfx.correlate(np.zeros((16, 16)), np.ones((3, 3)), dilation=10**6)",
        raises=r"dilation",
        isolated=True,
    ),
    ApiCase(
        "apply-gaussian-blur-sigma-1e308",
        "convfx.apply(np.zeros((8, 8)), 'gaussian_blur', sigma=1e308)",
        raises=r"sigma",
    ),
    ApiCase(
        "apply-effect-parameter-with-15000-spaces",
        "convfx.apply(np.zeros((8, 8)), 'sobel:x=a' + ' ' * 15000 + 'b')",
        raises=r"sobel",
        max_seconds=0.2,
        slow=True,
    ),
    ApiCase(
        "apply-unknown-filter-lists-the-closest",
        "convfx.apply(np.zeros((8, 8)), 'sobelx')",
        raises=r"sobel",
    ),
]

_ISOLATED_RUNNER = textwrap.dedent(
    """
    import json, sys, time
    import numpy as np
    import convfx
    started = time.monotonic()
    try:
        result = eval(sys.argv[1])
    except BaseException as error:
        outcome = {"raised": [cls.__name__ for cls in type(error).__mro__], "message": str(error)[:2000]}
    else:
        outcome = {"returned": True, "check": bool(eval(sys.argv[2], {"np": np, "result": result})) if sys.argv[2] else None}
    outcome["seconds"] = time.monotonic() - started
    print(json.dumps(outcome))
    """
)


def _call_isolated(case: ApiCase, tmp_path: Path) -> dict:
    process = subprocess.run(
        [sys.executable, "-c", _ISOLATED_RUNNER, case.call, case.returns or ""],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env=_environment(),
        preexec_fn=_limits(ADDRESS_SPACE, False),
    )
    assert process.returncode == 0 and process.stdout.strip(), process.stderr[-2000:]
    return json.loads(process.stdout.strip().splitlines()[-1])


def _call_here(case: ApiCase) -> dict:
    started = time.monotonic()
    try:
        result = eval(case.call, {"np": np, "convfx": convfx})
    except BaseException as error:  # noqa: BLE001 - the row says what was expected
        outcome = {"raised": [cls.__name__ for cls in type(error).__mro__], "message": str(error)}
    else:
        outcome = {"returned": True, "check": bool(eval(case.returns, {"np": np, "result": result})) if case.returns else None}
    outcome["seconds"] = time.monotonic() - started
    return outcome


@pytest.mark.parametrize("case", list(_params(API_CASES)))
def test_hostile_python_call(case: ApiCase, tmp_path: Path) -> None:
    outcome = _call_isolated(case, tmp_path) if case.isolated else _call_here(case)
    if case.raises is not None:
        assert "raised" in outcome, f"{case.call} returned instead of raising"
        assert "ConvfxError" in outcome["raised"], f"raised {outcome['raised'][0]}: {outcome['message'][:500]}"
        assert re.search(case.raises, outcome["message"], re.IGNORECASE), outcome["message"][:500]
        assert "\n" not in outcome["message"].strip()
    if case.returns is not None:
        assert "returned" in outcome, f"raised {outcome.get('raised', ['?'])[0]}: {outcome.get('message', '')[:500]}"
        assert outcome["check"], f"{case.returns} is false"
    if case.max_seconds is not None:
        assert outcome["seconds"] <= case.max_seconds, f"{outcome['seconds']:.2f} s > {case.max_seconds} s"


# --------------------------------------------------------------------------- scenarios: several runs each


def _wait_for(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


def _outputs(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.glob("*.png"))}


@pytest.mark.slow
def test_a_batch_killed_outright_leaves_no_workers_and_the_next_run_finishes(tmp_path: Path) -> None:
    names = b_folder_of_photos(6, (200, 300, 3))(tmp_path)
    argv = ["batch", "kirsch", names["in"], "-o", names["out"], "--workers", "2", "--quiet"]
    started = Started(argv, cwd=tmp_path)
    group = started.group
    try:
        assert _wait_for(lambda: len(live_group_members(group)) >= 3, 30), "the workers never started"
        os.kill(started.process.pid, signal.SIGKILL)
        started.finish(10, kill_group=False)  # reaps the parent only: the workers are what is checked
        orphans_gone = _wait_for(lambda: not live_group_members(group), 3)
        orphans = live_group_members(group)
        rerun = run_cli(argv, cwd=tmp_path, timeout=60)
    finally:
        _kill_group(group)
    assert orphans_gone, f"{len(orphans)} worker(s) outlived their killed parent: {orphans}"
    assert rerun.code == 0, rerun.stderr
    assert not list(names["out"].glob(".*.part"))
    assert len(_outputs(names["out"])) == 6


@pytest.mark.slow
def test_ctrl_c_mid_batch_exits_130_and_the_rerun_finishes_byte_identical(tmp_path: Path) -> None:
    names = b_folder_of_photos(6, (200, 300, 3))(tmp_path)
    argv = ["batch", "kirsch", names["in"], "-o", names["out"], "--workers", "2"]
    started = Started(argv, cwd=tmp_path)
    try:
        assert _wait_for(lambda: len(live_group_members(started.group)) >= 3, 30), "the workers never started"
        os.killpg(started.group, signal.SIGINT)  # Ctrl-C reaches the whole foreground group
        interrupted = started.finish(30)
    finally:
        started.kill()
    assert interrupted.code == 130, interrupted.stderr
    assert "Traceback" not in interrupted.stderr
    assert not list(names["out"].glob(".*.part"))
    resumed = run_cli(argv + ["--quiet"], cwd=tmp_path)
    clean = run_cli(["batch", "kirsch", names["in"], "-o", tmp_path / "clean", "--workers", "2", "--quiet"], cwd=tmp_path)
    assert resumed.code == 0 and clean.code == 0, resumed.stderr + clean.stderr
    assert _outputs(names["out"]) == _outputs(tmp_path / "clean")
    assert len(_outputs(tmp_path / "clean")) == 6


def _read_or_empty(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:  # the process has already ended
        return ""


@pytest.mark.parametrize(
    "command, sig, delay",
    [
        pytest.param("apply", signal.SIGINT, 0.15, id="ctrl-c-0.15s-after-apply-starts"),
        pytest.param("batch", signal.SIGINT, 0.15, id="ctrl-c-0.15s-after-batch-starts"),
        pytest.param("batch", signal.SIGTERM, 0.1, id="sigterm-0.1s-after-batch-starts"),
        pytest.param("batch", signal.SIGTERM, 0.25, id="sigterm-0.25s-after-batch-starts"),
    ],
)
def test_an_interruption_during_start_up_exits_130_in_one_line(command: str, sig: int, delay: float, tmp_path: Path) -> None:
    names = b_folder_of_photos(4)(tmp_path)
    argv = (
        ["apply", "sobel", names["in"] / "p00.png", "-o", tmp_path / "out.png"]
        if command == "apply"
        else ["batch", "sobel", names["in"], "-o", names["out"], "--workers", "1"]
    )
    started = Started(argv, cwd=tmp_path)
    # Python's own start-up (before any convfx code runs) cannot be protected; on a
    # loaded machine it can outlast a fixed delay.  So the delay counts from the moment
    # the child is importing numpy, which convfx's entry point does after installing
    # its signal handling: the signal lands in the middle of convfx's imports.
    maps = Path(f"/proc/{started.process.pid}/maps")
    assert _wait_for(lambda: "numpy" in _read_or_empty(maps), 30), "the child never started importing numpy"
    time.sleep(delay / 3)
    os.kill(started.process.pid, sig)
    run = started.finish(30)
    assert run.code == 130, f"exit {run.code}; stderr: {run.stderr[-1500:]!r}"
    assert "Traceback" not in run.stderr
    assert [line for line in run.lines if "interrupted" in line]


@pytest.mark.slow
def test_resume_redoes_a_learned_effect_after_its_model_is_retrained(tmp_path: Path) -> None:
    names = b_folder_of_photos(3)(tmp_path)
    model = tmp_path / "m.npz"
    convfx.LeNet(1, 10, seed=0).save(model)
    argv = ["batch", "learned:m.npz#0", names["in"], "-o", names["out"], "--workers", "1", "--quiet"]
    assert run_cli(argv, cwd=tmp_path).code == 0
    convfx.LeNet(1, 10, seed=1).save(model, overwrite=True)  # retrained
    rerun = run_cli(argv, cwd=tmp_path)
    fresh = run_cli(
        ["batch", "learned:m.npz#0", names["in"], "-o", tmp_path / "fresh", "--workers", "1", "--quiet"], cwd=tmp_path
    )
    assert rerun.code == 0 and fresh.code == 0, rerun.stderr + fresh.stderr
    assert _outputs(names["out"]) == _outputs(tmp_path / "fresh")


# --------------------------------------------------------------------------- bit-repeatability

# glibc's malloc returns large blocks from mmap (page + 16 bytes) or from the heap
# (16-byte steps) depending on its threshold, and a result kept alive moves the next
# one along: between them, every buffer alignment a library primitive can see.  The
# same input must give the same bytes whatever the alignment, and a strip (with a
# halo) must give exactly the rows of the whole image, as the batch tiler assumes.
_REPEATABILITY_SCRIPT = textwrap.dedent(
    """
    import ctypes, json, sys
    import numpy as np
    import convfx
    halos = json.loads(sys.argv[1])  # name -> rows of context, or None: never filtered in strips
    libc = ctypes.CDLL("libc.so.6")
    M_MMAP_THRESHOLD = -3
    rng = np.random.default_rng(20261125)
    failures = {}
    for bits in (8, 16):
        dtype = np.uint8 if bits == 8 else np.uint16
        image = rng.integers(0, 2**bits, (160, 200, 3), dtype=dtype)  # 384,000 B of float32: steps of 16 B mod 32
        for name, halo in halos.items():
            kept = []
            for threshold in (4096, 1 << 30):
                libc.mallopt(M_MMAP_THRESHOLD, threshold)
                kept += [convfx.apply(image, name) for _ in range(4)]
            if len({response.tobytes() for response in kept}) > 1:
                failures.setdefault(name, []).append(f"{bits}-bit: repeated calls differ")
                continue
            whole = kept[0]
            for top in range(0, 160, 23) if halo is not None else ():
                bottom = min(top + 23, 160)
                low, high = max(0, top - halo), min(160, bottom + halo)
                strip = convfx.apply(image[low:high], name)
                if not np.array_equal(strip[top - low : bottom - low], whole[top:bottom]):
                    failures.setdefault(name, []).append(f"{bits}-bit: strip {top}:{bottom} differs")
                    break
    print(json.dumps(failures))
    """
)


def _repeatability_names() -> list[str]:
    return [item.name for item in convfx.list_filters()] + detector_names()


@pytest.fixture(scope="module")
def repeatability_failures() -> dict[str, list[str]]:
    """Every shipped filter and detector at 8 and 16 bits, in one fresh process (a few seconds)."""
    process = subprocess.run(
        [sys.executable, "-c", _REPEATABILITY_SCRIPT, json.dumps({name: strip_halo(name) for name in _repeatability_names()})],
        capture_output=True,
        text=True,
        timeout=300,
        env=_environment(),
        preexec_fn=_limits(ADDRESS_SPACE, False),
    )
    assert process.returncode == 0, process.stderr[-2000:]
    return json.loads(process.stdout.strip().splitlines()[-1])


def _glibc() -> bool:
    try:
        return os.confstr("CS_GNU_LIBC_VERSION").startswith("glibc")
    except (AttributeError, ValueError, OSError):
        return False


@pytest.mark.skipif(not _glibc(), reason="the alignments are made with glibc's mallopt")
@pytest.mark.parametrize("name", _repeatability_names())
def test_same_input_same_bytes_at_any_alignment_and_in_strips(name: str, repeatability_failures) -> None:
    assert name not in repeatability_failures, "; ".join(repeatability_failures[name])


# --------------------------------------------------------------------------- output ranges


def _moon(tmp: Path) -> Path:
    import skimage.data

    Image.fromarray(skimage.data.moon()).save(tmp / "moon.png")
    return tmp / "moon.png"


@pytest.mark.parametrize("sample", ["chelsea", "moon"])
def test_normalize_makes_a_weak_laplacian_visible(sample: str, tmp_path: Path) -> None:
    source = _moon(tmp_path) if sample == "moon" else shutil.copy(SAMPLES / "chelsea.jpg", tmp_path / "chelsea.jpg")
    out = tmp_path / "out.png"
    run = run_cli(["apply", "laplacian", source, "--range", "normalize", "-o", out], cwd=tmp_path)
    assert run.code == 0, run.stderr
    pixels = np.asarray(Image.open(out), dtype=np.float64)
    # A percentile stretch (0.5-99.5 %, as ImageMagick's -normalize) gives 26-37 grey levels of spread.
    assert pixels.std() >= 20, f"standard deviation {pixels.std():.1f} grey levels: a flat picture"


def test_binary_range_on_a_blur_is_refused(tmp_path: Path) -> None:
    """``binary`` writes a detector's edge map; on a blur it would paint every positive pixel white."""
    source = write_photo(tmp_path / "photo.png")
    out = tmp_path / "out.png"
    run = run_cli(["apply", "gaussian_blur", source, "--range", "binary", "-o", out], cwd=tmp_path)
    assert run.code == 2, run.stderr
    check_one_line(run, r"'binary' is for edge maps")
    assert not out.exists()


def test_the_guide_documents_every_output_range() -> None:
    text = (README.parent / "docs" / "guide" / "photos.md").read_text(encoding="utf-8")
    section = text.split("## Output ranges", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `(\w+)` \|", section, re.MULTILINE))
    assert documented >= {"abs", "clip"}, "the table was not found"
    assert set(output_ranges()) <= documented, f"missing from the table: {sorted(set(output_ranges()) - documented)}"


def test_held_a_second_run_on_a_locked_outdir_is_refused(tmp_path: Path) -> None:
    import fcntl

    names = b_folder_of_photos(1)(tmp_path)
    names["out"].mkdir()
    descriptor = os.open(names["out"], os.O_RDONLY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)  # what a running batch holds
        run = run_cli(["batch", "sobel", names["in"], "-o", names["out"], "--quiet"], cwd=tmp_path)
    finally:
        os.close(descriptor)
    assert run.code == 1
    check_one_line(run, r"another convfx batch run")
    assert not _outputs(names["out"])
