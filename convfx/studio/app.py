"""The studio's HTTP routes: a small Starlette application over a :class:`~convfx.studio.workbench.Workbench`.

========  ================  ====================================================
method    path              answer
========  ================  ====================================================
GET       ``/``             the page (``static/index.html``)
GET       ``/static/...``   the page's script and style sheet (package data)
GET       ``/api/choices``  photos, models, boundaries, output ranges on offer
GET       ``/api/filters``  every named filter and detector with its parameters
GET       ``/api/photo``    ``?id=PHOTO``: the photo itself as PNG
POST      ``/api/photos``   an upload: the image file as the raw request body
POST      ``/api/kernel``   settings -> the kernel as written and as applied, the command
POST      ``/api/render``   settings -> the result as PNG (the bytes ``convfx apply`` writes)
POST      ``/api/pixel``    ``{settings, x, y}`` -> the arithmetic behind that output pixel
GET       ``/api/learned``  ``?model=KEY``: a model's kernels and nearest classic kernels
========  ================  ====================================================

Uploads are the raw body (``Content-Type: application/octet-stream`` or
``image/*``), not a multipart form: one file is all the page sends, the size limit
is enforced while the body streams in, and no multipart parser (another
dependency, which spools to disk) is needed.  JSON bodies must say
``application/json``; with the host check below this keeps other web sites from
driving the studio through the user's browser.

Every error a request can cause is a 4xx with ``{"error": "one line"}``; nothing
is logged for it.  No route takes a file path: photos and models are named by
the ids the workbench hands out.  This module does no image work itself.
"""

from __future__ import annotations

import logging
import urllib.parse
from collections.abc import Awaitable, Callable, Collection
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..errors import ConvfxError
from .errors import RequestError, TooLargeError, http_status
from .settings import MAX_JSON_BYTES, parse_json
from .workbench import Workbench

__all__ = ["LOOPBACK_HOSTS", "STATIC", "create_app"]

#: Host header names accepted when the studio listens on the loopback address.
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")
#: The page's files, shipped in the package.
STATIC = Path(__file__).resolve().parent / "static"

_LOG = logging.getLogger("convfx.studio")

# The page loads nothing from elsewhere and runs no inline script.
_SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' blob: data:; script-src 'self'; style-src 'self'; "
        b"connect-src 'self' blob:; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
]


class _HostCheck:
    """Refuse requests whose Host header is not one of ``allowed`` (a guard against DNS rebinding)."""

    def __init__(self, app: ASGIApp, allowed: Collection[str] | None) -> None:
        self.app = app
        self.allowed = None if allowed is None else {name.lower() for name in allowed}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.allowed is not None:
            host = dict(scope["headers"]).get(b"host", b"").decode("latin-1").lower()
            name = host[: host.find("]") + 1] if host.startswith("[") else host.partition(":")[0]
            if name not in self.allowed:
                await JSONResponse({"error": f"host: expected one of {sorted(self.allowed)}, found {host[:60]!r}"}, 400)(
                    scope, receive, send
                )
                return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", [])) + _SECURITY_HEADERS
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def _read_body(request: Request, limit: int, what: str) -> bytes:
    """The request body, refused (413) as soon as it passes ``limit`` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise TooLargeError(f"{what}: expected at most {limit:,} bytes, found {int(declared):,}")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLargeError(f"{what}: expected at most {limit:,} bytes, found more")
        chunks.append(chunk)
    return b"".join(chunks)


def _content_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


class _UnsupportedType(RequestError):
    """A body of the wrong Content-Type (HTTP 415)."""

    http_status = 415


async def _json_body(request: Request) -> Any:
    if _content_type(request) != "application/json":
        raise _UnsupportedType(f"request: expected Content-Type application/json, found {_content_type(request) or 'none'!r}")
    return parse_json(await _read_body(request, MAX_JSON_BYTES, "request"))


Handler = Callable[[Request], Awaitable[Response]]


def _answering_errors(handler: Handler) -> Handler:
    """Turn convfx errors into ``{"error": message}`` with their status; a bug into a 500 and one log record."""

    async def answer(request: Request) -> Response:
        try:
            return await handler(request)
        except ConvfxError as error:
            return JSONResponse({"error": str(error)}, status_code=http_status(error))
        except ClientDisconnect:  # the page went away mid-upload: nobody to answer, nothing to report
            return Response(status_code=400)
        except Exception as error:  # a bug: the page gets one line, the terminal the traceback
            _LOG.exception("convfx studio: internal error in %s %s", request.method, request.url.path)
            return JSONResponse({"error": f"internal error ({type(error).__name__}); see the terminal"}, status_code=500)

    return answer


def create_app(workbench: Workbench, *, allowed_hosts: Collection[str] | None = LOOPBACK_HOSTS) -> ASGIApp:
    """The studio's ASGI application over ``workbench``.

    Parameters
    ----------
    workbench : Workbench
        Its photos, models and results; the caller closes it.
    allowed_hosts : collection of str or None, optional
        Host header names accepted (default: the loopback names); None accepts
        any, for a studio served on another address with ``--host``.

    Returns
    -------
    ASGI application
    """

    async def page(request: Request) -> Response:
        return FileResponse(STATIC / "index.html", media_type="text/html")

    async def choices(request: Request) -> Response:
        return JSONResponse(workbench.choices())

    async def filters(request: Request) -> Response:
        return JSONResponse(workbench.filters())

    async def photo(request: Request) -> Response:
        data = await run_in_threadpool(workbench.photo_png, request.query_params.get("id"))
        return Response(data, media_type="image/png")

    async def upload(request: Request) -> Response:
        kind = _content_type(request)
        if kind != "application/octet-stream" and not kind.startswith("image/"):
            raise _UnsupportedType(
                f"upload: expected the image file as the body (Content-Type image/* or application/octet-stream), found {kind or 'none'!r}"
            )
        data = await _read_body(request, workbench.photos.max_upload_bytes, "upload")
        name = urllib.parse.unquote(request.headers.get("x-file-name", ""))
        summary = await run_in_threadpool(workbench.upload, data, name)
        return JSONResponse(summary, status_code=201)

    async def kernel(request: Request) -> Response:
        settings = await run_in_threadpool(workbench.settings, await _json_body(request))
        return JSONResponse(await run_in_threadpool(workbench.kernel, settings))

    async def render(request: Request) -> Response:
        settings = await run_in_threadpool(workbench.settings, await _json_body(request))
        result = await run_in_threadpool(workbench.render, settings)
        timing = f"filter;dur={result.filter_seconds * 1000:.1f}, encode;dur={result.encode_seconds * 1000:.1f}"
        return Response(result.png, media_type="image/png", headers={"server-timing": timing})

    async def pixel(request: Request) -> Response:
        body = await _json_body(request)
        if not isinstance(body, dict) or set(body) != {"settings", "x", "y"}:
            raise RequestError("request: expected a JSON object with the fields settings, x and y")
        settings = await run_in_threadpool(workbench.settings, body["settings"])
        arithmetic = await run_in_threadpool(workbench.pixel, settings, body["x"], body["y"])
        return JSONResponse(arithmetic.as_json())

    async def learned(request: Request) -> Response:
        return JSONResponse(await run_in_threadpool(workbench.learned, request.query_params.get("model")))

    routes = [
        Route("/", _answering_errors(page), methods=["GET"]),
        Route("/api/choices", _answering_errors(choices), methods=["GET"]),
        Route("/api/filters", _answering_errors(filters), methods=["GET"]),
        Route("/api/photo", _answering_errors(photo), methods=["GET"]),
        Route("/api/photos", _answering_errors(upload), methods=["POST"]),
        Route("/api/kernel", _answering_errors(kernel), methods=["POST"]),
        Route("/api/render", _answering_errors(render), methods=["POST"]),
        Route("/api/pixel", _answering_errors(pixel), methods=["POST"]),
        Route("/api/learned", _answering_errors(learned), methods=["GET"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    return _HostCheck(Starlette(routes=routes), allowed_hosts)
