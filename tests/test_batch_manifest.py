"""convfx.batch.manifest: a run manifest that is not what it should be is refused, untouched, in one line."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from convfx.batch.manifest import MANIFEST_FORMAT, Manifest
from convfx.errors import FileError

HEADER = {"convfx_manifest": MANIFEST_FORMAT}
AFRESH = "; move it away to start afresh$"


def _refused(path: Path, words: str) -> None:
    with pytest.raises(FileError, match=rf"^{path}: {words}.*{AFRESH}") as info:
        Manifest(path, HEADER)
    assert "\n" not in str(info.value)


def test_a_fifo_or_a_device_is_refused_without_reading_it(tmp_path):
    os.mkfifo(tmp_path / "fifo.json")  # reading it would wait for a writer forever
    _refused(tmp_path / "fifo.json", r"not a regular file \(a FIFO\), expected a run manifest")
    (tmp_path / "zero.json").symlink_to("/dev/zero")  # reading it would never end
    _refused(tmp_path / "zero.json", r"not a regular file \(a character device\)")


def test_a_manifest_over_the_size_limit_is_refused_from_its_size(tmp_path, monkeypatch):
    from convfx.batch import manifest

    path = tmp_path / "big.json"
    with open(path, "wb") as stream:
        stream.truncate(2_000)
    monkeypatch.setattr(manifest, "MAX_MANIFEST_BYTES", 1_999)
    _refused(path, r"2,000 bytes is over the limit of 1,999 bytes for a run manifest")
    assert path.stat().st_size == 2_000


def test_deep_nesting_is_refused(tmp_path):
    (tmp_path / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    _refused(tmp_path / "deep.json", r"cannot read the run manifest \(nested more than 32 deep\)")
    (tmp_path / "forty.json").write_text('{"convfx_manifest": 1, "files": {"a": ' + "[" * 40 + "]" * 40 + "}}")
    _refused(tmp_path / "forty.json", r"cannot read the run manifest \(nested more than 32 deep\)")


def test_a_good_manifest_still_reads(tmp_path):
    path = tmp_path / "ok.json"
    path.write_text('{"convfx_manifest": 1, "files": {"a_sobel.png": {"status": "done"}, "junk": 3}}')
    assert Manifest(path, HEADER).files == {"a_sobel.png": {"status": "done"}}
