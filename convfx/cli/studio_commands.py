"""The ``studio`` command: a local web page to edit a kernel and watch it work.

The command parses its options, checks the photo and model it was given, and runs
:func:`convfx.studio.server.serve`; the page and its computations live in
:mod:`convfx.studio`.  The web libraries are the optional ``[studio]`` extra,
imported only when the command runs, so the rest of the command line never pays
for them and works without them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .. import imageio
from ..studio import DEFAULT_HOST, DEFAULT_PORT
from ..studio.photos import DEFAULT_MAX_UPLOAD_BYTES
from .app import Command, Input, app, err_console, reporting_errors, say
from .click_classes import printable
from .options import SHIPPED_MODELS_HELP


@app.command("studio", cls=Command)
def studio_command(
    image: Annotated[
        Path | None,
        typer.Argument(
            metavar="[IMAGE]",
            help="A photo to open (JPEG, PNG, TIFF, BMP, WebP). Default: scikit-image's sample photos; "
            "the page can upload others.",
            show_default=False,
            readable=False,
        ),
    ] = None,
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port to listen on (0..65535); 0 picks a free one.")] = DEFAULT_PORT,
    host: Annotated[
        str,
        typer.Option(
            metavar="ADDRESS",
            help=f"Address to listen on. Anything but {DEFAULT_HOST} lets other machines use the studio (a warning says so).",
        ),
    ] = DEFAULT_HOST,
    browser: Annotated[bool, typer.Option("--browser/--no-browser", help="Open the page in the default browser.")] = True,
    model: Annotated[
        str | None,
        typer.Option(
            metavar="MODEL",
            help="A LeNet .npz (or .npz/.safetensors with a conv1.weight) whose learned kernels the page offers "
            f"beside the shipped models ({SHIPPED_MODELS_HELP}).",
            show_default=False,
        ),
    ] = None,
    max_pixels: Annotated[
        int,
        typer.Option(min=1, help="Refuse photos and uploads of more pixels than this before decoding them (as `convfx apply`)."),
    ] = imageio.DEFAULT_MAX_PIXELS,
    max_upload_mb: Annotated[
        float, typer.Option(min=0.001, help="Refuse uploads larger than this many megabytes (MiB).")
    ] = DEFAULT_MAX_UPLOAD_BYTES / 2**20,
) -> None:
    """Open an interactive page: edit a kernel, watch it filter a photo, see the arithmetic of any pixel.

    The page runs on this machine only (by default) and needs no network.  It
    computes everything with convfx itself, and its download is the file that
    `convfx apply` writes for the same settings (the page shows that command).
    Ctrl-C stops it (exit code 130).  Needs the \\[studio] extra:
    pip install 'convfx\\[studio]'.

    Examples:

        convfx studio  # scikit-image's sample photos

        convfx studio photo.jpg --port 8000 --no-browser

        convfx studio --model my_lenet.npz
    """
    from .. import studio

    # The studio takes no --key: a model's conv1.weight, or its only 4-D array, is the one it shows.
    with reporting_errors(
        Input(image, "an image file"),
        max_upload_bytes="--max-upload-mb",
        key="a model with a conv1.weight (the studio takes no --key)",
    ):
        studio.require_extra()
        from ..studio.server import serve
        from ..studio.workbench import Workbench

        with Workbench(image, model=model, max_pixels=max_pixels, max_upload_bytes=int(max_upload_mb * 1024 * 1024)) as workbench:
            serve(
                workbench,
                host=host,
                port=port,
                open_browser=browser,
                announce=say,
                warn=lambda text: err_console.print(printable(text), markup=False),
            )
