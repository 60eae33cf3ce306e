"""``convfx studio``: a local web page to edit a kernel and watch it work on a photo.

The page shows a photo and the result of a kernel side by side, the kernel as it
touches the pixels, and the arithmetic behind any output pixel (the window, the
products, their sum), all computed by the library itself: :func:`convfx.apply`,
:func:`convfx.map_range` and :func:`convfx.imageio.encode_image`, so that the
PNG the page offers is the file ``convfx apply`` writes for the same settings.

The package is split by job:

* :mod:`~convfx.studio.photos` -- the photos on offer: the one named on the
  command line, scikit-image's sample photos, uploads (size and pixel limits);
* :mod:`~convfx.studio.settings` -- a request's JSON settings checked and turned
  into an effect, with the ``convfx apply`` command that does the same;
* :mod:`~convfx.studio.arithmetic` -- the numbers behind one output pixel;
* :mod:`~convfx.studio.learned` -- a model's first-layer kernels and their
  nearest classic kernels;
* :mod:`~convfx.studio.workbench` -- the state of one running studio (photos,
  models, cached results) and the operations the page asks for;
* :mod:`~convfx.studio.app` -- the HTTP routes (Starlette), the only web code;
* :mod:`~convfx.studio.server` -- binding the port, uvicorn, the browser, Ctrl-C.

The web libraries (Starlette, uvicorn) are the optional ``[studio]`` extra: only
``app`` and ``server`` import them, and :func:`require_extra` says in one line
what to install when they are missing.  This package must not filter, read or
write images itself (that is :mod:`convfx.effects` and :mod:`convfx.imageio`), and
no request may name a file: every path it reads comes from the command line or
from the installed packages.
"""

from __future__ import annotations

import importlib.util

from ..errors import ConvfxError

__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "EXTRA_MODULES", "MissingExtraError", "require_extra"]

#: Import names of what ``pip install 'convfx[studio]'`` brings.
EXTRA_MODULES = ("starlette", "uvicorn")
#: Where the studio listens unless told otherwise: this machine only.
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765


class MissingExtraError(ConvfxError):
    """The ``[studio]`` extra (Starlette, uvicorn) is not installed (a usage error, exit code 2)."""


def require_extra() -> None:
    """Raise :class:`MissingExtraError` unless the web libraries of the ``[studio]`` extra import.

    Raises
    ------
    MissingExtraError
        With the one line ``convfx studio needs the [studio] extra: pip install 'convfx[studio]'``.
    """
    for name in EXTRA_MODULES:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):  # a module set to None in sys.modules, a broken package
            found = False
        if not found:
            raise MissingExtraError("convfx studio needs the [studio] extra: pip install 'convfx[studio]'")
