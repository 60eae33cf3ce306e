"""The state of one running studio and the operations its page asks for.

A :class:`Workbench` holds the photos (:class:`~convfx.studio.photos.PhotoStore`),
the models on offer, and the last few results, and answers the page's questions
in plain Python values: which filters exist, what a kernel looks like before and
after the flip, the result of some settings as PNG bytes, the arithmetic behind
one output pixel, a model's learned kernels.  :mod:`convfx.studio.app` only turns
HTTP into these calls and their answers (or errors) back into HTTP.

A result is computed as ``convfx apply`` computes it -- :func:`convfx.apply`, then
:func:`convfx.map_range` with the photo's full scale, then
:func:`convfx.imageio.encode_image` with the photo's alpha and colour profile --
so the PNG is byte for byte the file the command writes (``tests/test_studio.py``
runs both).  This module must not slide kernels, decode files, or know about HTTP.
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import banks, compare, effects, imageio, ranges, steps
from ..conv import BOUNDARIES
from ..effects import Effect
from ..errors import ParameterError
from ..nn.weights import load_weights
from ..steps import Detector
from .arithmetic import MAX_DRAWN_SIDE, PixelArithmetic, explain_pixel
from .errors import NotFoundError
from .learned import describe_model, offered_models
from .photos import DEFAULT_MAX_UPLOAD_BYTES, Photo, PhotoStore
from .settings import GRID_SIDES, Settings, apply_command, download_name, parse_settings

__all__ = ["KEPT_RESULTS", "KEPT_RESULT_BYTES", "Result", "Workbench"]

#: Results kept for the arithmetic of the pixels under the mouse (a 1-megapixel
#: RGB response is 12 MB of float32) ...
KEPT_RESULTS = 3
#: ... while they hold less than this many bytes; the newest is always kept.
KEPT_RESULT_BYTES = 512 * 1024 * 1024


@dataclass(frozen=True, eq=False)
class Result:
    """One computed result.

    Attributes
    ----------
    settings : Settings
    photo : Photo
    response : ndarray
        What :func:`convfx.apply` returned: float32 (or a detector's bool map).
    pixels : ndarray, uint8 or uint16
        :func:`convfx.map_range` of the response.
    png : bytes
        The PNG file ``convfx apply`` writes for these settings.
    filter_seconds, encode_seconds : float
        Time spent in apply + map_range, and in the PNG encoder.
    """

    settings: Settings
    photo: Photo
    response: np.ndarray
    pixels: np.ndarray
    png: bytes
    filter_seconds: float
    encode_seconds: float

    @property
    def size(self) -> int:
        """Bytes held: the response, the pixels and the PNG."""
        return self.response.nbytes + self.pixels.nbytes + len(self.png)


def _matrix(array: np.ndarray) -> list[list[float]]:
    return np.asarray(array, dtype=np.float64).tolist()


def _kernel_view(name: str, written: np.ndarray, scale: str, operation: str, applied: np.ndarray) -> dict[str, Any]:
    """A kernel as written (numbers, scale, operation) and as it touches the pixels.

    The numbers are left out (None) beyond :data:`~convfx.studio.arithmetic.MAX_DRAWN_SIDE`
    a side: a wide Gaussian's thousands of cells cannot be read in a page.
    """
    drawn = max(written.shape) <= MAX_DRAWN_SIDE
    return {
        "name": name,
        "shape": list(written.shape),
        "written": _matrix(written) if drawn else None,
        "scale": scale,
        "operation": operation,
        "applied": _matrix(applied) if drawn else None,
    }


def _bank_kernel_view(kernel: banks.Kernel) -> dict[str, Any]:
    return _kernel_view(kernel.name, kernel.values, kernel.scale_text, kernel.operation, kernel.weights)


def _grid_start(step: banks.Filter) -> dict[str, Any] | None:
    """The filter's kernel as the grid's starting numbers, if it fits the grid (one square kernel, side 3, 5 or 7)."""
    if (
        len(step.kernels) != 1
        or step.kernels[0].shape[0] != step.kernels[0].shape[1]
        or step.kernels[0].shape[0] not in GRID_SIDES
    ):
        return None
    kernel = step.kernels[0]
    return {"rows": _matrix(kernel.values), "scale": kernel.scale_text, "operation": kernel.operation}


def _parameter_view(option: steps.DetectorParameter) -> dict[str, Any]:
    kind = "bool" if isinstance(option.default, bool) else "choice" if option.choices else "number"
    return {"name": option.name, "kind": kind, "default": option.default, "choices": list(option.choices), "help": option.help}


class Workbench:
    """One running studio: its photos, models and recent results.

    Parameters
    ----------
    image : path-like, optional
        The photo named on the command line (read now).
    model : str or path-like, optional
        ``--model``: a model file (checked now) offered beside the shipped models.
    max_pixels : int, optional
        The pixel limit of ``convfx apply``, for every photo.
    max_upload_bytes : int, optional
        Largest upload accepted.

    Raises
    ------
    FileError
        ``image`` or ``model`` missing or unreadable, ``image`` over the pixel limit.
    ParameterError
        A model whose first layer does not take 1 or 3 channels.

    Notes
    -----
    Safe to call from several threads (the web server runs requests in a pool).
    """

    def __init__(
        self,
        image: str | os.PathLike | None = None,
        *,
        model: str | os.PathLike | None = None,
        max_pixels: int = imageio.DEFAULT_MAX_PIXELS,
        max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES,
    ) -> None:
        self.photos = PhotoStore(image, max_pixels=max_pixels, max_upload_bytes=max_upload_bytes)
        self.models: Mapping[str, str] = offered_models(model)
        self._lock = threading.Lock()
        self._results: OrderedDict[tuple[object, ...], Result] = OrderedDict()
        self._learned_effects: dict[tuple[str, int], Effect] = {}
        self._weights: dict[str, compare.ConvWeights] = {}
        self._comparisons: dict[str, dict[str, Any]] = {}
        self._photo_png: dict[str, bytes] = {}
        if "model" in self.models:
            if any(mark in self.models["model"] for mark in ",#"):
                raise ParameterError(
                    f"model: {self.models['model']}: expected a path without ',' or '#', which an effect "
                    "(learned:MODEL#k) cannot hold; rename the file or copy it"
                )
            weights = self.weights("model")
            if weights.channels not in (1, 3):
                raise ParameterError(
                    f"model: {self.models['model']}: expected a first layer with 1 or 3 input channels, found {weights.channels}"
                )

    def __enter__(self) -> Workbench:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Remove the uploads' temporary folder and forget the results."""
        self.photos.close()
        with self._lock:
            self._results.clear()

    # ------------------------------------------------------------------ what is on offer

    def filters(self) -> list[dict[str, Any]]:
        """Every named filter and detector, with its parameters and (where it fits) its grid.

        Returns
        -------
        list of dict
            JSON-ready, one per filter or detector: name, family, kind, description,
            size, range, gray and parameters.
        """
        listed = []
        for step in banks.list_filters():
            listed.append(
                {
                    "name": step.name,
                    "family": step.family,
                    "kind": "filter",
                    "description": step.description,
                    "size": step.size_label,
                    "range": step.output_range,
                    "gray": step.gray,
                    "parameters": [
                        {"name": name, "kind": "number", "default": None, "choices": [], "help": ""}
                        for name in banks.factory_parameters(step)
                    ],
                    "grid": _grid_start(step),
                }
            )
        for detector in steps.list_detectors():
            if detector.family == "learned":
                continue
            listed.append(
                {
                    "name": detector.name,
                    "family": detector.family,
                    "kind": "detector",
                    "description": detector.description,
                    "size": "detector",
                    "range": detector.output_range,
                    "gray": detector.gray,
                    "parameters": [_parameter_view(option) for option in detector.options],
                    "grid": None,
                }
            )
        return sorted(listed, key=lambda item: (item["family"], item["name"]))

    def choices(self) -> dict[str, Any]:
        """What the page's selectors offer: photos, models, boundaries, output ranges, grid sides.

        Returns
        -------
        dict
            JSON-ready, with the defaults and the upload limits.
        """
        return {
            "photos": [{"id": photo_id, "label": label} for photo_id, label in self.photos.ids()],
            "default_photo": self.photos.default_id,
            "models": [
                {"key": key, "label": os.path.basename(spec) if key == "model" else key} for key, spec in self.models.items()
            ],
            "boundaries": list(BOUNDARIES),
            "default_boundary": "reflect",
            "ranges": list(ranges.OUTPUT_RANGES),
            "grid_sides": list(GRID_SIDES),
            "max_upload_bytes": self.photos.max_upload_bytes,
            "max_pixels": self.photos.max_pixels,
        }

    # ------------------------------------------------------------------ settings and kernels

    def settings(self, data: Any) -> Settings:
        """Check a request's settings (see :func:`convfx.studio.settings.parse_settings`) and its photo.

        Parameters
        ----------
        data : object
            The request's JSON, decoded.

        Returns
        -------
        Settings
        """
        settings = parse_settings(data, models=self.models, learned_effect=self._learned_effect)
        self.photos.get(settings.photo)
        return settings

    def weights(self, key: str) -> compare.ConvWeights:
        """The conv weights of the model ``key`` (loaded once).

        Parameters
        ----------
        key : str
            One of the models on offer.

        Returns
        -------
        ConvWeights
        """
        with self._lock:
            if key in self._weights:
                return self._weights[key]
        weights = load_weights(self.models[key])
        with self._lock:
            return self._weights.setdefault(key, weights)

    def _learned_effect(self, key: str, index: int) -> Effect:
        """``learned:MODEL#index`` as an effect, built once per kernel."""
        with self._lock:
            if (key, index) in self._learned_effects:
                return self._learned_effects[(key, index)]
        count = self.weights(key).weight.shape[0]
        if index >= count:
            raise ParameterError(f"settings.kernel.index: expected a kernel number in 0..{count - 1}, found {index}")
        effect = effects.parse_effect(f"learned:{self.models[key]}#{index}")
        with self._lock:
            return self._learned_effects.setdefault((key, index), effect)

    def kernel(self, settings: Settings) -> dict[str, Any]:
        """The kernel(s) as written and as applied, and the command that gives the same file.

        Parameters
        ----------
        settings : Settings

        Returns
        -------
        dict
            JSON-ready: ``kind`` (``"filter"``, ``"grid"``, ``"detector"``, ``"learned"``),
            ``kernels`` (each as written, its scale and operation, and as applied),
            ``combine``, ``range`` and ``gray`` as they will apply, the ``command``
            and the ``download`` file name.
        """
        photo = self.photos.get(settings.photo)
        step = settings.effect.steps[0]
        view: dict[str, Any] = {
            "effect": settings.effect_text,
            "description": step.description,
            "range": settings.policy,
            "default_range": settings.effect.output_range,
            "gray": settings.filters_gray,
            "command": apply_command(settings, photo.command_path, photo.label),
            "download": download_name(settings, photo.label),
            "combine": getattr(step, "combine", None),
            "bias": None,
        }
        if settings.grid is not None:
            grid = settings.grid
            view["kind"] = "grid"
            view["description"] = f"Your kernel, {grid.rows.shape[0]}x{grid.rows.shape[1]}."
            view["kernels"] = [_kernel_view("your kernel", grid.rows, grid.scale_text, grid.operation, grid.weights)]
        elif isinstance(step, banks.Filter):
            view["kind"] = "filter"
            view["kernels"] = [_bank_kernel_view(kernel) for kernel in step.kernels]
        elif settings.source == "learned" and settings.model is not None and settings.index is not None:
            weights = self.weights(settings.model)
            kernel = np.asarray(weights.weight[settings.index], dtype=np.float64)
            names = ["luminance"] if weights.channels == 1 else list("RGB")
            view["kind"] = "learned"
            view["description"] = (
                f"Kernel #{settings.index} of the first layer ({weights.key}) of the model "
                f"{os.path.basename(self.models[settings.model])}, applied as the network applies it."
            )
            view["bias"] = float(weights.bias[settings.index])
            view["kernels"] = [
                _kernel_view(f"#{settings.index}, {name} input", kernel[c], "1", "correlate", kernel[c])
                for c, name in enumerate(names)
            ]
        else:
            assert isinstance(step, Detector)
            view["kind"] = "detector"
            view["parameters"] = dict(step.settings)
            view["kernels"] = [_bank_kernel_view(kernel) for kernel in step.kernels]
        return view

    # ------------------------------------------------------------------ results

    def render(self, settings: Settings) -> Result:
        """The result of ``settings``: computed as ``convfx apply`` does, or taken from the recent ones.

        Parameters
        ----------
        settings : Settings

        Returns
        -------
        Result
        """
        with self._lock:
            if settings.key in self._results:
                self._results.move_to_end(settings.key)
                return self._results[settings.key]
        photo = self.photos.get(settings.photo)
        picture = photo.picture
        policy = settings.policy
        # As convfx.render.render_file chooses for a .png: 16 bits stay 16 bits, edge maps are 8-bit.
        dtype = np.dtype(np.uint8) if policy == "binary" else imageio.output_dtype("result.png", picture.pixels.dtype)
        start = time.perf_counter()
        response = effects.apply(picture.pixels, settings.effect, boundary=settings.boundary, gray=settings.gray)
        pixels = ranges.map_range(response, policy, dtype=dtype, source_max=picture.max_value)
        filtered = time.perf_counter()
        alpha = picture.alpha if picture.alpha is None or pixels.shape[:2] == picture.alpha.shape[:2] else None
        png = imageio.encode_image(pixels, "PNG", alpha=alpha, icc_profile=picture.icc_profile)
        result = Result(settings, photo, response, pixels, png, filtered - start, time.perf_counter() - filtered)
        with self._lock:
            self._results[settings.key] = result
            while len(self._results) > 1 and (
                len(self._results) > KEPT_RESULTS or sum(r.size for r in self._results.values()) > KEPT_RESULT_BYTES
            ):
                self._results.popitem(last=False)
        return result

    def pixel(self, settings: Settings, x: Any, y: Any) -> PixelArithmetic:
        """The arithmetic behind the result's pixel ``(x, y)`` (see :func:`convfx.studio.arithmetic.explain_pixel`).

        Parameters
        ----------
        settings : Settings
        x, y : object
            The pixel's column and row, checked there.

        Returns
        -------
        PixelArithmetic
        """
        result = self.render(settings)
        weights = self.weights(settings.model) if settings.model is not None else None
        return explain_pixel(settings, result.photo.picture, result.response, result.pixels, x, y, weights=weights)

    def photo_png(self, photo_id: object) -> bytes:
        """The photo itself as PNG, for the page to show (with its alpha and colour profile).

        Parameters
        ----------
        photo_id : object
            A photo id, as :meth:`convfx.studio.photos.PhotoStore.ids` lists them.

        Returns
        -------
        bytes
        """
        photo = self.photos.get(photo_id)
        with self._lock:
            if photo.id in self._photo_png:
                return self._photo_png[photo.id]
        picture = photo.picture
        data = imageio.encode_image(picture.pixels, "PNG", alpha=picture.alpha, icc_profile=picture.icc_profile)
        with self._lock:
            if len(self._photo_png) > 8:
                self._photo_png.clear()
            return self._photo_png.setdefault(photo.id, data)

    def upload(self, data: bytes, name: str | None) -> dict[str, object]:
        """Keep an uploaded photo (see :meth:`convfx.studio.photos.PhotoStore.add_upload`).

        Parameters
        ----------
        data : bytes
            The file's bytes.
        name : str or None
            The file's name on the user's machine.

        Returns
        -------
        dict
            The photo's summary, JSON-ready.
        """
        return self.photos.add_upload(data, name).summary

    def learned(self, key: object) -> dict[str, Any]:
        """A model's first-layer kernels and their nearest classic kernels (computed once per model).

        Parameters
        ----------
        key : object
            One of the models on offer.

        Returns
        -------
        dict
            JSON-ready (see :func:`convfx.studio.learned.describe_model`).
        """
        if not isinstance(key, str) or key not in self.models:
            raise NotFoundError(f"model: unknown model {str(key)[:60]!r}; expected one of {list(self.models)}")
        with self._lock:
            if key in self._comparisons:
                return self._comparisons[key]
        described = describe_model(key, self.models[key])
        with self._lock:
            return self._comparisons.setdefault(key, described)
