"""The photos a studio offers: the one named on the command line, samples, uploads.

Every photo is read by :func:`convfx.imageio.read_image` with the pixel limit of
``convfx apply``, so the page filters exactly the pixels the command line would.
The samples are scikit-image's photos (``skimage/data/*.png``), which ship inside
the scikit-image package that convfx depends on: the repository's ``samples/``
folder is not part of the wheel.  An upload is written to a temporary folder
under a name the studio chooses (never one from the request), read from there,
and removed with the folder by :meth:`PhotoStore.close`.

A request names a photo by its id (``"image"``, ``"sample:chelsea"``,
``"upload:3"``), never by a path.  This module must not filter or encode images,
and must not know about HTTP.
"""

from __future__ import annotations

import importlib.resources
import os
import re
import tempfile
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from .. import imageio
from ..errors import FileError, ParameterError
from .errors import NotFoundError, TooLargeError, UnreadableUploadError

__all__ = [
    "SAMPLE_NAMES",
    "DEFAULT_MAX_UPLOAD_BYTES",
    "KEPT_UPLOADS",
    "Photo",
    "PhotoStore",
    "sample_files",
]

#: scikit-image's photos offered as samples, in the order the page lists them.
SAMPLE_NAMES = ("chelsea", "astronaut", "camera", "coffee")
#: Largest upload accepted, in bytes (32 MiB: a 24-megapixel JPEG is 10-15 MB).
DEFAULT_MAX_UPLOAD_BYTES = 32 * 1024 * 1024
#: Uploads kept at once; older ones are dropped (a 64-megapixel photo is 200 MB decoded).
KEPT_UPLOADS = 4

_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f/\\]+")


@dataclass(frozen=True, eq=False)
class Photo:
    """One photo on offer.

    Attributes
    ----------
    id : str
        How requests name it: ``"image"``, ``"sample:NAME"`` or ``"upload:N"``.
    label : str
        The file name shown in the page.
    picture : convfx.imageio.Picture
        The decoded pixels, alpha and colour profile, as ``convfx apply`` reads them.
    command_path : str
        How the equivalent ``convfx apply`` command names the file: the path given
        on the command line, the sample's installed path, or an upload's own name.
    """

    id: str
    label: str
    picture: imageio.Picture
    command_path: str

    @property
    def summary(self) -> dict[str, object]:
        """What the page needs to list it: id, label, size, channels, bit depth, alpha."""
        pixels = self.picture.pixels
        return {
            "id": self.id,
            "label": self.label,
            "width": int(pixels.shape[1]),
            "height": int(pixels.shape[0]),
            "channels": 1 if pixels.ndim == 2 else int(pixels.shape[2]),
            "bits": 8 * pixels.dtype.itemsize,
            "alpha": self.picture.alpha is not None,
        }


def sample_files() -> dict[str, Path]:
    """The sample photos that this scikit-image installation ships, by name.

    Returns
    -------
    dict of str to Path
        In :data:`SAMPLE_NAMES` order; a name whose file is missing is left out.
    """
    try:
        folder = importlib.resources.files("skimage.data")
    except ModuleNotFoundError:  # pragma: no cover - scikit-image is a dependency
        return {}
    found = {}
    for name in SAMPLE_NAMES:
        candidate = folder / f"{name}.png"
        if candidate.is_file():
            found[name] = Path(str(candidate))
    return found


def _display_name(name: str | None) -> str:
    """A client's file name made safe to show: its last part, no control characters, at most 100 characters."""
    text = _UNSAFE_NAME.sub("_", (name or "").replace("\\", "/").rsplit("/", 1)[-1]).strip()
    if not text or text in (".", ".."):
        return "upload.png"
    return text[-100:]


class PhotoStore:
    """The photos of one running studio, loaded on first use and kept in memory.

    Parameters
    ----------
    image : path-like, optional
        The photo named on the command line; read now, so that a bad file fails
        before the server starts.
    max_pixels : int, optional
        The pixel limit of ``convfx apply`` (``--max-pixels``), for every photo.
    max_upload_bytes : int, optional
        Largest upload accepted.

    Raises
    ------
    FileError
        ``image`` is missing, unreadable or over ``max_pixels``.
    ParameterError
        A limit that is not a positive int.
    """

    def __init__(
        self,
        image: str | os.PathLike | None = None,
        *,
        max_pixels: int = imageio.DEFAULT_MAX_PIXELS,
        max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES,
    ) -> None:
        for name, value in (("max_pixels", max_pixels), ("max_upload_bytes", max_upload_bytes)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ParameterError(f"{name}: expected an int >= 1, found {value!r}")
        self.max_pixels = max_pixels
        self.max_upload_bytes = max_upload_bytes
        self._lock = threading.Lock()
        self._samples = sample_files()
        self._loaded: dict[str, Photo] = {}
        self._uploads: OrderedDict[str, Photo] = OrderedDict()
        self._upload_count = 0
        self._folder: tempfile.TemporaryDirectory[str] | None = None
        self.image: Photo | None = None
        if image is not None:
            path = imageio.check_source(image)
            picture = imageio.read_image(path, max_pixels=max_pixels)
            self.image = Photo(id="image", label=path.name, picture=picture, command_path=os.fspath(image))

    # ------------------------------------------------------------------ listing and lookup

    @property
    def default_id(self) -> str | None:
        """The photo the page opens with: the command line's, else the first sample."""
        if self.image is not None:
            return self.image.id
        return f"sample:{next(iter(self._samples))}" if self._samples else None

    def ids(self) -> list[tuple[str, str]]:
        """Every photo on offer, without decoding the samples.

        Returns
        -------
        list of tuple of str
            ``(id, label)``: the photo given on the command line, the samples, the uploads.
        """
        listed = [(self.image.id, self.image.label)] if self.image is not None else []
        listed += [(f"sample:{name}", f"{path.name} (sample)") for name, path in self._samples.items()]
        with self._lock:
            listed += [(photo.id, f"{photo.label} (upload)") for photo in self._uploads.values()]
        return listed

    def get(self, photo_id: object) -> Photo:
        """The photo called ``photo_id``, decoding a sample on first use.

        Parameters
        ----------
        photo_id : object
            An id as :meth:`ids` lists them.

        Returns
        -------
        Photo

        Raises
        ------
        RequestError
            ``photo_id`` is not a string.
        NotFoundError
            No photo has this id (an upload that was dropped, a sample not shipped).
        """
        if not isinstance(photo_id, str):
            raise NotFoundError(f"photo: expected a photo id such as 'sample:chelsea', found {photo_id!r}")
        if self.image is not None and photo_id == self.image.id:
            return self.image
        with self._lock:
            if photo_id in self._uploads:
                return self._uploads[photo_id]
            if photo_id in self._loaded:
                return self._loaded[photo_id]
        kind, _, name = photo_id.partition(":")
        if kind == "sample" and name in self._samples:
            path = self._samples[name]
            photo = Photo(photo_id, path.name, imageio.read_image(path, max_pixels=self.max_pixels), os.fspath(path))
            with self._lock:
                return self._loaded.setdefault(photo_id, photo)
        if kind == "upload":
            raise NotFoundError(
                f"photo: {photo_id!r} is no longer kept (the studio keeps the last {KEPT_UPLOADS} uploads); upload it again"
            )
        offered = ", ".join(photo for photo, _ in self.ids())
        raise NotFoundError(f"photo: unknown photo {photo_id[:80]!r}; expected one of {offered}")

    # ------------------------------------------------------------------ uploads

    def add_upload(self, data: bytes, name: str | None = None) -> Photo:
        """Keep an uploaded image file: write it to the temporary folder, then read it.

        Parameters
        ----------
        data : bytes
            The file's bytes, at most ``max_upload_bytes``.
        name : str, optional
            The file's name on the user's machine: shown, and used in the
            equivalent command and the download's name, never as a path here.

        Returns
        -------
        Photo
            With id ``"upload:N"``; the oldest upload is dropped beyond :data:`KEPT_UPLOADS`.

        Raises
        ------
        TooLargeError
            ``data`` is over ``max_upload_bytes``.
        UnreadableUploadError
            Empty, not an image convfx reads, damaged, or over ``max_pixels``;
            the message names the file by ``name``.
        """
        label = _display_name(name)
        if len(data) > self.max_upload_bytes:
            raise TooLargeError(f"upload: expected at most {self.max_upload_bytes:,} bytes, found {len(data):,} in {label}")
        with self._lock:
            self._upload_count += 1
            number = self._upload_count
            if self._folder is None:
                self._folder = tempfile.TemporaryDirectory(prefix="convfx-studio-")
            path = Path(self._folder.name) / f"upload-{number}"
        try:
            path.write_bytes(data)
            picture = imageio.read_image(path, max_pixels=self.max_pixels)
        except FileError as error:
            # The message names the temporary file; the user knows the file by its own name.
            raise UnreadableUploadError(str(error).replace(str(path), label)) from None
        except OSError as error:
            raise UnreadableUploadError(f"{label}: cannot keep the upload: {error.strerror or error}") from None
        finally:
            path.unlink(missing_ok=True)  # decoded into memory: the file is no longer needed
        photo = Photo(id=f"upload:{number}", label=label, picture=picture, command_path=label)
        with self._lock:
            self._uploads[photo.id] = photo
            while len(self._uploads) > KEPT_UPLOADS:
                self._uploads.popitem(last=False)
        return photo

    @property
    def upload_folder(self) -> Path | None:
        """The temporary folder uploads pass through (None before the first upload or after :meth:`close`)."""
        return Path(self._folder.name) if self._folder is not None else None

    def close(self) -> None:
        """Forget the uploads and remove their temporary folder."""
        with self._lock:
            self._uploads.clear()
            folder, self._folder = self._folder, None
        if folder is not None:
            folder.cleanup()
